"""A training procedure: how a task's network is trained. It is given the task and returns what
the trainer needs (the training model, its loaders, its loss and metrics, the work done in the
experiment folder before the first step); the task knows nothing of it.

:class:`Procedure` itself is plain training: the task's model, loaders and loss. A new procedure
subclasses it, overrides what differs, and is registered in :mod:`jpeg_deep.procedures`.
"""
from __future__ import annotations

from jpeg_deep.errors import ConfigError


class Procedure:
    """Plain training of ``task``'s network."""

    #: The registry name; the config setting that holds the procedure's settings (None: none)
    #: and the key of that block that names the procedure.
    name = "standard"
    block = None

    def __init__(self, task, settings: dict | None = None):
        self.task = task
        self.settings = dict(settings or {})

    @classmethod
    def selects(cls, block) -> bool:
        """Whether the config block ``block`` (the value of :attr:`block`) asks for this
        procedure: by default when its ``method`` is :attr:`name`."""
        return isinstance(block, dict) and block.get("method") == cls.name

    @classmethod
    def check(cls, config, check_paths: bool = True) -> None:
        """Refuse settings of this procedure that cannot run (a ConfigError naming the file);
        called after the task's own checks."""

    # -- what the trainer asks ------------------------------------------------------------------
    def model(self, dataset):
        """The training model for ``dataset``'s classes, its starting weights loaded."""
        model = self.task.build(dataset)
        self.task.initialise(model)
        return model

    def loader(self, split: str, model):
        """The loader training and validation read for ``model`` (with its target encoder)."""
        return self.task.loader(split, model=model)

    def compile_arguments(self, dataset) -> dict:
        """``loss`` and ``metrics`` for ``model.compile``."""
        return self.task.compile_arguments(dataset)

    def callbacks(self, model, val_dataset) -> list:
        """Callbacks that add to the epoch logs (the task's: a detector's validation mAP)."""
        return self.task.callbacks(model, val_dataset)

    def inference(self):
        """How a network trained by this procedure predicts: a
        :class:`~jpeg_deep.tasks.base.Inference` (the task's inference network)."""
        from jpeg_deep.tasks.base import Inference

        return Inference(self.task)

    def prepare(self, exp, runtime, datasets: dict) -> dict:
        """Work done in the experiment folder before the first step; returns the datasets
        training reads, ``{split: dataset}``."""
        return datasets


def input_name(tensor) -> str:
    """The name of a model input (what a wrapping model names its own inputs after)."""
    name = getattr(tensor, "name", "") or "input"
    return name.split(":")[0]


def block_settings(config, name: str, defaults: dict, example: str) -> dict | None:
    """The config's procedure block ``name`` completed with ``defaults`` (None when the config
    has none); a ConfigError naming the file when it is not a dict or has unknown keys
    (``example``: a block to show)."""
    block = getattr(config, name)
    if block is None:
        return None
    if not isinstance(block, dict):
        raise ConfigError(f"{config.path}: {name} must be a dict, e.g. {example}, or None, not "
                          f"{block!r}")
    unknown = sorted(set(block) - set(defaults))
    if unknown:
        raise ConfigError(f"{config.path}: {name} {', '.join(map(repr, unknown))} unknown; "
                          f"known: {', '.join(defaults)}")
    return dict(defaults, **block)
