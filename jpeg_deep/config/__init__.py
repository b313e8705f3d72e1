"""Experiment configs: one plain Python file per experiment, ``config/<name>/config.py``.

A config is *data*: module-level names say what to train; the trainer decides how. It is
loaded without touching ``sys.path`` and without writing anything, and checked before anything
is built, so a wrong config fails at once with a message naming the problem. ``docs/configs.md``
explains them; ``docs/settings.md`` lists every setting and its default.

Required: ``network`` (a registry name) and the data of the task: ``train_dir``, ``val_dir``
(ImageNet-style folders) for classification, ``data`` (a VOC devkit or COCO root) for detection.
Everything else has a default (:data:`~jpeg_deep.config.schema.SETTINGS`). A config may start
from shared base files and state only what differs (:mod:`jpeg_deep.config.loading`).

``schema`` (settings, defaults, :class:`Config`) and ``loading`` (files, bases, overrides) know
nothing of tasks or networks; ``validation`` asks the tasks and the training procedures.
"""
import os
from pathlib import Path

from jpeg_deep.config.loading import (config_file, has_bases, load_module, merge, read_config,
                                      resolved_source)
from jpeg_deep.config.schema import DEFAULTS, MIXED_PRECISION, REQUIRED, SETTINGS, Config
from jpeg_deep.config.validation import load_config, optimizer_classes, validate
from jpeg_deep.errors import ConfigError

__all__ = ["Config", "ConfigError", "DEFAULTS", "MIXED_PRECISION", "REQUIRED", "SETTINGS",
           "config_file", "env_path", "has_bases", "load_config", "load_module", "merge",
           "optimizer_classes", "read_config", "resolved_source", "validate"]


def env_path(variable: str, *parts: str, default=None):
    """``$variable/parts...`` when the variable is set, else ``default`` (for config files)."""
    root = os.environ.get(variable)
    if root:
        return str(Path(root, *parts))
    return default
