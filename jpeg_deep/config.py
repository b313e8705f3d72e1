"""Experiment configs: one plain Python file per experiment, ``config/<name>/config.py``.

A config is *data*: module-level names say what to train; the trainer decides how. It is
loaded without touching ``sys.path`` and checked before anything is built, so a wrong config
fails at once with a message naming the problem. See the README for a full example.

Required: ``network`` (a registry name) and the data of the task: ``train_dir``, ``val_dir``
(ImageNet-style folders) for classification, ``data`` (a VOC devkit or COCO root) for detection.
Everything else has a default (``DEFAULTS``). An optional ``prepare()`` function runs before the
checks (the demo configs use it to write the demo data when it is missing).
"""
from __future__ import annotations

import copy
import importlib.util
import inspect
import os
import types
from dataclasses import dataclass, field, fields
from pathlib import Path

from jpeg_deep.data.readers import DEFAULT_BACKEND

REQUIRED = ("network",)

DEFAULTS = dict(
    task="classification",        # or "detection" (jpeg_deep.tasks)
    train_dir=None,               # classification: ImageNet-style split folders
    val_dir=None,
    test_dir=None,
    data=None,                    # detection: dict(format="voc" | "coco", root=..., ...)
    detection=None,               # detection: thresholds and options (DETECTION_DEFAULTS)
    description="",
    network_args={},              # extra keyword arguments of the network builder
    input_size=224,               # training input size in pixels (crop)
    inference_network=None,       # e.g. the fully convolutional twin; default: ``network``
    class_index=None,             # imagenet_class_index.json-format file, or None
    transforms=None,              # the task's transform settings; None: its defaults
    augmentation="rgb",           # DCT networks (classification, detection): "rgb" (decode,
                                  # augment, re-encode, read) or "dct" (on the coefficients)
    reader_backend=DEFAULT_BACKEND,  # "libjpeg" (ours, where built), "jpeg2dct", "jpeglib"
    batch_size=64,
    epochs=1,
    steps_per_epoch=None,
    validation_steps=None,
    optimizer=dict(name="sgd", learning_rate=0.0025, momentum=0.9),
    loss="categorical_crossentropy",
    reduce_lr_on_plateau=None,    # e.g. dict(patience=5); None disables
    early_stopping=None,          # e.g. dict(patience=11); None disables
    scale_learning_rate=True,     # learning rate x replicas under tf.distribute
    warmup_epochs=0,              # linear warm-up from lr to lr x replicas (Horovod's)
    lr_schedule=None,             # {epoch: factor}: step schedule (instead of RLRoP)
    weights=None,                 # weights file loaded by layer name before training, or
                                  # "imagenet" (keras.applications' ResNet50 / VGG16 weights)
    backbone_weights=None,        # detection: a classifier's weights for the backbone (all
                                  # load), or "imagenet" (the layers sharing names load)
    workers=2,                    # data-loading processes
    seed=0,
    keep_checkpoints=5,           # newest epoch-NNN.keras files kept (None: all); best, final kept
    mixed_precision=None,         # None, "mixed_float16" or "mixed_bfloat16" (Keras policies)
    jit_compile=False,            # XLA-compile the train / predict steps
    prefetch=2,                   # batches the input pipeline prepares ahead of the model
    allow_cpu=False,              # train on the CPU even where the job was given GPUs
    robustness=None,              # training against coding artifacts: dict(method="fine_tune" |
                                  # "expert" | "stability", quality=10, alpha=1.0, ...)
)

MIXED_PRECISION = (None, "mixed_float16", "mixed_bfloat16")


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the problem."""


def _default(name):
    return field(default_factory=lambda: copy.deepcopy(DEFAULTS[name]))


@dataclass
class Config:
    """A loaded config; every default comes from :data:`DEFAULTS` (the one source)."""

    path: Path
    network: str
    task: str = _default("task")
    train_dir: str | None = _default("train_dir")
    val_dir: str | None = _default("val_dir")
    test_dir: str | None = _default("test_dir")
    data: dict | None = _default("data")
    detection: dict | None = _default("detection")
    description: str = _default("description")
    network_args: dict = _default("network_args")
    input_size: int = _default("input_size")
    inference_network: str | None = _default("inference_network")
    class_index: str | None = _default("class_index")
    transforms: dict | None = _default("transforms")
    augmentation: str = _default("augmentation")
    reader_backend: str = _default("reader_backend")
    batch_size: int = _default("batch_size")
    epochs: int = _default("epochs")
    steps_per_epoch: int | None = _default("steps_per_epoch")
    validation_steps: int | None = _default("validation_steps")
    optimizer: dict = _default("optimizer")
    loss: str = _default("loss")
    reduce_lr_on_plateau: dict | None = _default("reduce_lr_on_plateau")
    early_stopping: dict | None = _default("early_stopping")
    scale_learning_rate: bool = _default("scale_learning_rate")
    warmup_epochs: int = _default("warmup_epochs")
    lr_schedule: dict | None = _default("lr_schedule")
    weights: str | None = _default("weights")
    backbone_weights: str | None = _default("backbone_weights")
    workers: int = _default("workers")
    seed: int = _default("seed")
    keep_checkpoints: int | None = _default("keep_checkpoints")
    mixed_precision: str | None = _default("mixed_precision")
    jit_compile: bool = _default("jit_compile")
    prefetch: int = _default("prefetch")
    allow_cpu: bool = _default("allow_cpu")
    robustness: dict | None = _default("robustness")

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
    """Every check that needs no data and no TensorFlow state: settings, names, signatures of
    the builder / optimizer / callbacks, sizes, the reader backend and (``check_paths``) paths.
    The model itself is built by the trainer before it makes any folder."""
    from jpeg_deep.networks import names
    from jpeg_deep.tasks import task_for

    where = config.path
    task = task_for(config)  # an unknown task name is refused here
    for attr in ("network", "inference_network"):
        value = getattr(config, attr)
        if value is not None and value not in names(None):
            raise ConfigError(f"{where}: {attr} {value!r} is not a known network; known "
                              f"{config.task} networks: {', '.join(names(config.task))}")
    for attr in ("batch_size", "epochs", "workers", "input_size", "prefetch"):
        value = getattr(config, attr)
        if not _is_int(value) or value < (0 if attr in ("workers", "prefetch") else 1):
            raise ConfigError(f"{where}: {attr} must be a positive integer, not {value!r}")
    for attr in ("scale_learning_rate", "jit_compile", "allow_cpu"):
        if not isinstance(getattr(config, attr), bool):
            raise ConfigError(f"{where}: {attr} must be True or False, "
                              f"not {getattr(config, attr)!r}")
    if config.mixed_precision not in MIXED_PRECISION:
        raise ConfigError(f"{where}: mixed_precision must be one of "
                          f"{', '.join(map(repr, MIXED_PRECISION))}, not {config.mixed_precision!r}")
    if config.keep_checkpoints is not None and (not _is_int(config.keep_checkpoints)
                                                or config.keep_checkpoints < 0):
        raise ConfigError(f"{where}: keep_checkpoints must be None (keep all) or an integer "
                          f">= 0, not {config.keep_checkpoints!r}")
    _check_reader_backend(config)
    _check_network_args(config)
    if config.transforms is not None and not isinstance(config.transforms, dict):
        raise ConfigError(f"{where}: transforms must be a dict or None, not {config.transforms!r}")
    task.check(check_paths=check_paths)
    from jpeg_deep import robustness

    robustness.check(config, check_paths=check_paths)
    _check_optimizer(config)
    for attr in ("reduce_lr_on_plateau", "early_stopping"):
        _check_arguments(where, attr, getattr(config, attr), _callback_class(attr), strict=True)
    for attr in ("steps_per_epoch", "validation_steps"):
        value = getattr(config, attr)
        if value is not None and (not _is_int(value) or value < 1):
            raise ConfigError(f"{where}: {attr} must be None or a positive integer, "
                              f"not {value!r}")
    if not _is_int(config.warmup_epochs) or config.warmup_epochs < 0:
        raise ConfigError(f"{where}: warmup_epochs must be an integer >= 0, "
                          f"not {config.warmup_epochs!r}")
    if config.lr_schedule is not None:
        if not isinstance(config.lr_schedule, dict) or not all(
                _is_int(k) and k >= 0 and isinstance(v, (int, float))
                for k, v in config.lr_schedule.items()):
            raise ConfigError(f"{where}: lr_schedule must map epochs to learning-rate factors, "
                              f"e.g. {{30: 0.1, 60: 0.01}}, not {config.lr_schedule!r}")
        if config.reduce_lr_on_plateau:
            raise ConfigError(f"{where}: lr_schedule and reduce_lr_on_plateau both control the "
                              "learning rate; set reduce_lr_on_plateau = None")
    if check_paths:
        for attr in ("train_dir", "val_dir", "test_dir", "class_index", "weights",
                     "backbone_weights"):
            value = getattr(config, attr)
            if attr.endswith("weights") and value == "imagenet":
                continue  # keras.applications' weights, fetched when the model is built
            if value is not None and not Path(value).exists():
                raise ConfigError(f"{where}: {attr} {value} does not exist")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_reader_backend(config: Config):
    from jpeg_deep.data.readers import backend_problem, backends

    if config.reader_backend not in backends():
        raise ConfigError(f"{config.path}: reader_backend {config.reader_backend!r} unknown; "
                          f"known: {', '.join(backends())}")
    problem = backend_problem(config.reader_backend)
    if problem:
        raise ConfigError(f"{config.path}: reader_backend {config.reader_backend!r}: {problem}")


def _check_network_args(config: Config):
    """``network_args`` must be keywords the builders take (``classes`` and ``input_size`` are
    the trainer's); a typo is named with the accepted ones."""
    from jpeg_deep.networks import spec

    if not isinstance(config.network_args, dict):
        raise ConfigError(f"{config.path}: network_args must be a dict of builder keywords, "
                          f"not {config.network_args!r}")
    reserved = sorted({"classes", "input_size"} & set(config.network_args))
    if reserved:
        raise ConfigError(f"{config.path}: network_args must not set {', '.join(reserved)} "
                          "(the trainer sets them: use input_size, and the dataset's classes)")
    for attr in ("network", "inference_network"):
        name = getattr(config, attr)
        if name is not None:
            _check_arguments(config.path, "network_args", config.network_args,
                             spec(name).builder, what=f"{attr} {name!r}")


def _accepted(target) -> list[str]:
    return [p.name for p in inspect.signature(target).parameters.values()
            if not p.name.startswith("_") and p.name != "self"
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _check_arguments(where, attr, arguments, target, what=None, strict=False):
    """Keyword ``arguments`` (a dict or None) must be named parameters of ``target`` (or any
    keyword where it takes ``**kwargs``, unless ``strict``: Keras optimizers refuse theirs, and
    ``ReduceLROnPlateau`` would silently ignore them)."""
    if arguments is None:
        return
    if not isinstance(arguments, dict):
        raise ConfigError(f"{where}: {attr} must be a dict of keyword arguments or None, "
                          f"not {arguments!r}")
    parameters = inspect.signature(target).parameters
    if not strict and any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        return
    unknown = sorted(set(arguments) - set(_accepted(target)))
    if unknown:
        name = what or getattr(target, "__name__", str(target))
        raise ConfigError(f"{where}: {attr} {', '.join(map(repr, unknown))} not accepted by "
                          f"{name}; accepted: {', '.join(_accepted(target))}")


def _callback_class(attr):
    import keras

    return {"reduce_lr_on_plateau": keras.callbacks.ReduceLROnPlateau,
            "early_stopping": keras.callbacks.EarlyStopping}[attr]


def optimizer_classes() -> dict:
    """Keras optimizers by the names ``keras.optimizers.get`` accepts (lower-case class names)."""
    import keras

    return {obj.__name__.lower(): obj for obj in vars(keras.optimizers).values()
            if isinstance(obj, type) and issubclass(obj, keras.optimizers.Optimizer)
            and obj is not keras.optimizers.Optimizer
            and obj.__name__ != "LossScaleOptimizer"}


def _check_optimizer(config: Config):
    settings = config.optimizer
    if not isinstance(settings, dict) or "name" not in settings:
        raise ConfigError(f"{config.path}: optimizer must be a dict with a 'name' "
                          f"(e.g. dict(name='sgd', learning_rate=0.01)), not {settings!r}")
    classes = optimizer_classes()
    cls = classes.get(str(settings["name"]).lower())
    if cls is None:
        raise ConfigError(f"{config.path}: optimizer name {settings['name']!r} unknown; "
                          f"known: {', '.join(sorted(classes))}")
    arguments = {k: v for k, v in settings.items() if k != "name"}
    _check_arguments(config.path, "optimizer", arguments, cls, what=cls.__name__, strict=True)


def latest_weights(config_name: str, weights: str = "best.keras") -> str | None:
    """``checkpoints/<weights>`` of the newest finished experiment of the config named
    ``config_name`` (e.g. ``demo_vgg16_dct``) under ``$EXPERIMENTS_OUTPUT_DIRECTORY`` (default
    ``./experiments``), or None: how a config starts from another experiment's result."""
    import json
    import re

    root = Path(os.environ.get("EXPERIMENTS_OUTPUT_DIRECTORY", "experiments"))
    stamp = re.compile(re.escape(config_name) + r"_(\d{8}-\d{6})_[0-9a-f]+")
    found = []
    for folder in root.glob(f"{config_name}_*"):
        match = stamp.fullmatch(folder.name)
        summary, path = folder / "summary.json", folder / "checkpoints" / weights
        if not (match and summary.is_file() and path.is_file()):
            continue
        try:
            if "finished" in json.loads(summary.read_text()):
                found.append((match.group(1), str(path)))
        except ValueError:
            continue
    return max(found)[1] if found else None


def env_path(variable: str, *parts: str, default=None):
    """``$variable/parts...`` when the variable is set, else ``default`` (for config files)."""
    root = os.environ.get(variable)
    if root:
        return str(Path(root, *parts))
    return default
