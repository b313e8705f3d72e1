"""Experiment configs: one plain Python file per experiment, ``config/<name>/config.py``.

A config is *data*: module-level names say what to train; the trainer decides how. It is
loaded without touching ``sys.path`` and checked before anything is built, so a wrong config
fails at once with a message naming the problem. See the README for a full example.

Required names: ``network`` (a registry name), ``train_dir``, ``val_dir`` (ImageNet-style
folders). Everything else has a default (``DEFAULTS``). An optional ``prepare()`` function runs
before the checks (the demo configs use it to write the demo data when it is missing).
"""
from __future__ import annotations

import importlib.util
import os
import types
from dataclasses import dataclass, field, fields
from pathlib import Path

REQUIRED = ("network", "train_dir", "val_dir")
TASKS = ("classification", "detection")  # detection (VOC / COCO, SSD) is the next step

DEFAULTS = dict(
    task="classification",
    description="",
    network_args={},              # extra keyword arguments of the network builder
    input_size=224,               # training input size in pixels (crop)
    inference_network=None,       # e.g. the fully convolutional twin; default: ``network``
    test_dir=None,
    class_index=None,             # imagenet_class_index.json-format file, or None
    transforms=dict(resize=256, crop=224, quality=95),
    reader_backend="jpeg2dct",
    batch_size=64,
    epochs=1,
    steps_per_epoch=None,
    validation_steps=None,
    optimizer=dict(name="sgd", learning_rate=0.0025, momentum=0.9),
    loss="categorical_crossentropy",
    reduce_lr_on_plateau=dict(patience=5),   # None to disable
    early_stopping=dict(patience=11),        # None to disable
    scale_learning_rate=True,     # learning rate x replicas under tf.distribute
    warmup_epochs=0,              # linear warm-up from lr to lr x replicas (Horovod's)
    lr_schedule=None,             # {epoch: factor}: step schedule (instead of RLRoP)
    weights=None,                 # weights file loaded by layer name before training
    workers=2,                    # data-loading processes
    seed=0,
)


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the problem."""


@dataclass
class Config:
    path: Path
    network: str
    train_dir: str
    val_dir: str
    task: str = DEFAULTS["task"]
    description: str = ""
    network_args: dict = field(default_factory=dict)
    input_size: int = 224
    inference_network: str | None = None
    test_dir: str | None = None
    class_index: str | None = None
    transforms: dict = field(default_factory=lambda: dict(DEFAULTS["transforms"]))
    reader_backend: str = "jpeg2dct"
    batch_size: int = 64
    epochs: int = 1
    steps_per_epoch: int | None = None
    validation_steps: int | None = None
    optimizer: dict = field(default_factory=lambda: dict(DEFAULTS["optimizer"]))
    loss: str = "categorical_crossentropy"
    reduce_lr_on_plateau: dict | None = None
    early_stopping: dict | None = None
    scale_learning_rate: bool = True
    warmup_epochs: int = 0
    lr_schedule: dict | None = None
    weights: str | None = None
    workers: int = 2
    seed: int = 0

    @property
    def name(self) -> str:
        """``config/demo/vgg16_dct/config.py`` -> ``demo_vgg16_dct``."""
        parts = self.path.resolve().parent.parts
        if "config" in parts:
            parts = parts[len(parts) - parts[::-1].index("config"):]
        else:
            parts = parts[-1:]
        return "_".join(parts) or "experiment"

    def split_dir(self, split: str) -> str:
        value = {"train": self.train_dir, "val": self.val_dir, "test": self.test_dir}[split]
        if value is None:
            raise ConfigError(f"{self.path}: no directory configured for split {split!r}")
        return value


def config_file(path) -> Path:
    """Accept a config folder or the ``config.py`` inside it."""
    path = Path(path)
    if path.is_dir():
        path = path / "config.py"
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file (expected a folder holding config.py)")
    return path


def load_module(path) -> types.ModuleType:
    path = config_file(path)
    spec = importlib.util.spec_from_file_location(f"jpeg_deep_config_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        raise ConfigError(f"{path}: the config raised {type(err).__name__}: {err}") from err
    return module


def load_config(path, *, check_paths=True, overrides=None) -> Config:
    """Load, complete with defaults, and validate a config. ``overrides`` replaces attributes
    (command-line options) before the checks."""
    path = config_file(path)
    module = load_module(path)
    missing = [name for name in REQUIRED if not hasattr(module, name)]
    if missing:
        raise ConfigError(f"{path}: missing required setting(s): {', '.join(missing)}")
    known = {f.name for f in fields(Config)} - {"path"}
    values = {name: getattr(module, name) for name in known if hasattr(module, name)}
    bad = sorted(set(overrides or {}) - known)
    if bad:
        raise ConfigError(f"{path}: cannot override unknown setting(s) {', '.join(bad)}; "
                          f"known: {', '.join(sorted(known))}")
    values.update(overrides or {})
    unknown = [n for n in vars(module) if n.islower() and not n.startswith("_")
               and n not in known and not isinstance(vars(module)[n], types.ModuleType)
               and not callable(vars(module)[n])]
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(known))}")
    config = Config(path=path, **values)
    prepare = getattr(module, "prepare", None)
    if callable(prepare) and check_paths:
        prepare()
    validate(config, check_paths=check_paths)
    return config


def validate(config: Config, *, check_paths=True) -> None:
    from jpeg_deep.data.readers import backends
    from jpeg_deep.networks import names

    where = config.path
    if config.task not in TASKS:
        raise ConfigError(f"{where}: task {config.task!r} unknown; known: {', '.join(TASKS)}")
    if config.task != "classification":
        raise ConfigError(f"{where}: task {config.task!r} is not implemented yet "
                          "(implemented: 'classification')")
    for attr, variable in (("train_dir", "DATASET_PATH_TRAIN"), ("val_dir", "DATASET_PATH_VAL")):
        if not getattr(config, attr):
            raise ConfigError(f"{where}: {attr} is not set; this config reads it from "
                              f"${variable} (export it, or pass --{attr.replace('_', '-')})")
    for attr in ("network", "inference_network"):
        value = getattr(config, attr)
        if value is not None and value not in names():
            raise ConfigError(f"{where}: {attr} {value!r} is not a known network; "
                              f"known: {', '.join(names())}")
    if config.reader_backend not in backends():
        raise ConfigError(f"{where}: reader_backend {config.reader_backend!r} unknown; "
                          f"known: {', '.join(backends())}")
    for attr in ("batch_size", "epochs", "workers", "input_size"):
        value = getattr(config, attr)
        if not isinstance(value, int) or value < (0 if attr == "workers" else 1):
            raise ConfigError(f"{where}: {attr} must be a positive integer, not {value!r}")
    try:
        from jpeg_deep.data.augmentation import TransformConfig

        TransformConfig(**config.transforms)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: transforms {config.transforms!r}: {err}") from None
    if "name" not in config.optimizer:
        raise ConfigError(f"{where}: optimizer needs a 'name' (e.g. 'sgd')")
    for attr in ("steps_per_epoch", "validation_steps"):
        value = getattr(config, attr)
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ConfigError(f"{where}: {attr} must be None or a positive integer, "
                              f"not {value!r}")
    if not isinstance(config.warmup_epochs, int) or config.warmup_epochs < 0:
        raise ConfigError(f"{where}: warmup_epochs must be an integer >= 0, "
                          f"not {config.warmup_epochs!r}")
    if config.lr_schedule is not None:
        if not isinstance(config.lr_schedule, dict) or not all(
                isinstance(k, int) and k >= 0 and isinstance(v, (int, float))
                for k, v in config.lr_schedule.items()):
            raise ConfigError(f"{where}: lr_schedule must map epochs to learning-rate factors, "
                              f"e.g. {{30: 0.1, 60: 0.01}}, not {config.lr_schedule!r}")
        if config.reduce_lr_on_plateau:
            raise ConfigError(f"{where}: lr_schedule and reduce_lr_on_plateau both control the "
                              "learning rate; set reduce_lr_on_plateau = None")
    if check_paths:
        for attr in ("train_dir", "val_dir", "test_dir", "class_index", "weights"):
            value = getattr(config, attr)
            if value is not None and not Path(value).exists():
                raise ConfigError(f"{where}: {attr} {value} does not exist")


def env_path(variable: str, *parts: str, default=None):
    """``$variable/parts...`` when the variable is set, else ``default`` (for config files)."""
    root = os.environ.get(variable)
    if root:
        return str(Path(root, *parts))
    return default
