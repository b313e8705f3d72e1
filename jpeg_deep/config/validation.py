"""Checking a loaded config before anything is built: every setting, the network names and
builder arguments, the optimizer and callbacks, the reader backend, the task's and the training
procedure's own blocks (asked of :mod:`jpeg_deep.tasks` and :mod:`jpeg_deep.procedures`) and,
with ``check_paths``, that the files and folders it names exist. A wrong config fails here, at
once, with a message naming the file and the problem."""
from __future__ import annotations

import inspect
from pathlib import Path

from jpeg_deep import procedures
from jpeg_deep.config.loading import read_config
from jpeg_deep.config.schema import MIXED_PRECISION, Config
from jpeg_deep.codec.readers import backend_problem, backends
from jpeg_deep.demo import DEMO_ROOT
from jpeg_deep.errors import ConfigError
from jpeg_deep.networks import names, spec
from jpeg_deep.tasks import task_for


def load_config(path, *, check_paths=True, overrides=None) -> Config:
    """Load (:func:`~jpeg_deep.config.loading.read_config`: bases, ``overrides``, defaults)
    and validate a config. ``check_paths``: also that the files and folders it names exist."""
    config = read_config(path, overrides=overrides)
    validate(config, check_paths=check_paths)
    return config


def validate(config: Config, *, check_paths=True) -> None:
    """Every check that needs no data and no TensorFlow state: settings, names, signatures of
    the builder / optimizer / callbacks, sizes, the reader backend and (``check_paths``) paths.
    The model itself is built by the trainer before it makes any folder."""
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
    procedures.check(config, check_paths=check_paths)
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
                raise ConfigError(f"{where}: {attr} {value} does not exist" + _demo_hint(value))


def _demo_hint(path) -> str:
    if Path(path).parts[:1] == (DEMO_ROOT,):
        return " (write the demo data first: jpeg-deep demo, which make demo runs)"
    return ""


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_reader_backend(config: Config):
    if config.reader_backend not in backends():
        raise ConfigError(f"{config.path}: reader_backend {config.reader_backend!r} unknown; "
                          f"known: {', '.join(backends())}")
    problem = backend_problem(config.reader_backend)
    if problem:
        raise ConfigError(f"{config.path}: reader_backend {config.reader_backend!r}: {problem}")


def _check_network_args(config: Config):
    """``network_args`` must be keywords the builders take (``classes`` and ``input_size`` are
    the trainer's); a typo is named with the accepted ones."""
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
