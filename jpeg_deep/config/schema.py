"""Every setting of an experiment config, its default and what it means: the one source of the
:class:`Config` fields, the defaults, and the settings table of ``docs/settings.md`` (generated
from :data:`SETTINGS`; a test fails when it drifts)."""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from jpeg_deep.codec.readers import DEFAULT_BACKEND
from jpeg_deep.errors import ConfigError

REQUIRED = ("network",)

class Setting(NamedTuple):
    default: object
    type: object   # what the Config field is annotated with
    meaning: str


#: Every setting, in the order the docs list them.
SETTINGS = dict(
    task=Setting("classification", str, 'the task: "classification" or "detection"'),
    train_dir=Setting(None, str | None, "classification: the training split, an ImageNet-style "
                                        "folder of class folders"),
    val_dir=Setting(None, str | None, "classification: the validation split (same layout)"),
    test_dir=Setting(None, str | None, "classification: the test split read by inference and "
                                       "evaluation"),
    data=Setting(None, dict | None, 'detection: the dataset, dict(format="voc" | "coco", '
                                    "root=..., ...); both tasks: on_error and verify, the dataset "
                                    "scans' settings"),
    detection=Setting(None, dict | None, "detection: thresholds and options (the detection "
                                         "task's defaults)"),
    description=Setting("", str, "one line saying what the experiment is (plots' legends use "
                                 "it)"),
    network_args=Setting({}, dict, "extra keyword arguments of the network builder"),
    input_size=Setting(224, int, "training input size in pixels (the crop)"),
    inference_network=Setting(None, str | None, "the network inference builds, e.g. the fully "
                                                "convolutional twin; None: network"),
    class_index=Setting(None, str | None, "an imagenet_class_index.json-format file naming the "
                                          "classes, or None"),
    transforms=Setting(None, dict | None, "the task's transform settings; None: its defaults"),
    augmentation=Setting(None, str | None, 'DCT networks: "rgb" (decode, augment, re-encode, '
                                           'read) or "dct" (augment the coefficients, no '
                                           'decode or re-encode); None: "dct" for DCT '
                                           'networks, "rgb" for RGB ones'),
    reader_backend=Setting(DEFAULT_BACKEND, str, 'the coefficient reader: "libjpeg" (ours, '
                                                 'where built), "jpeg2dct" or "jpeglib"'),
    batch_size=Setting(64, int, "images per step (per replica under tf.distribute)"),
    epochs=Setting(1, int, "epochs to train"),
    steps_per_epoch=Setting(None, int | None, "steps per epoch; None: the whole training "
                                              "split"),
    validation_steps=Setting(None, int | None, "validation steps per epoch; None: the whole "
                                               "validation split"),
    optimizer=Setting(dict(name="sgd", learning_rate=0.0025, momentum=0.9), dict,
                      "a Keras optimizer by name, with its keyword arguments"),
    loss=Setting("categorical_crossentropy", str, "classification: the Keras loss"),
    reduce_lr_on_plateau=Setting(None, dict | None, "ReduceLROnPlateau's arguments, e.g. "
                                                    "dict(patience=5); None disables"),
    early_stopping=Setting(None, dict | None, "EarlyStopping's arguments, e.g. "
                                              "dict(patience=11); None disables"),
    scale_learning_rate=Setting(True, bool, "learning rate x replicas under tf.distribute"),
    warmup_epochs=Setting(0, int, "linear warm-up from lr to lr x replicas (Horovod's)"),
    lr_schedule=Setting(None, dict | None, "{epoch: factor}: a step schedule (instead of "
                                           "reduce_lr_on_plateau)"),
    weights=Setting(None, str | None, 'a weights file loaded by layer name before training, or '
                                      '"imagenet" (keras.applications\' ResNet50 / VGG16 '
                                      "weights)"),
    backbone_weights=Setting(None, str | None, "detection: a classifier's weights for the "
                                               'backbone (all load), or "imagenet" (the layers '
                                               "sharing names load)"),
    workers=Setting(2, int, "data-loading processes"),
    seed=Setting(0, int, "the seed of the weights' initialisation, the shuffles and the "
                         "augmentation"),
    keep_checkpoints=Setting(5, int | None, "newest epoch-NNN.keras files kept (None: all); "
                                            "best and final are always kept"),
    mixed_precision=Setting(None, str | None, 'None, "mixed_float16" or "mixed_bfloat16" '
                                              "(Keras policies)"),
    jit_compile=Setting(False, bool, "XLA-compile the train / predict steps"),
    prefetch=Setting(2, int, "batches the input pipeline prepares ahead of the model"),
    allow_cpu=Setting(False, bool, "train on the CPU even where the job was given GPUs"),
    robustness=Setting(None, dict | None, 'training against coding artifacts: '
                                          'dict(method="fine_tune" | "expert" | "stability", '
                                          "quality=10, alpha=1.0, ...)"),
    split=Setting(None, dict | None, "split computing: the network cut after a layer, a "
                                     'learned bottleneck between the halves: dict(at="<layer>", '
                                     "channels=C, stride=S, rate_weight=10, ...)"),
)

#: The default of every setting.
DEFAULTS = {name: s.default for name, s in SETTINGS.items()}

MIXED_PRECISION = (None, "mixed_float16", "mixed_bfloat16")


def _settings_as_fields(cls):
    """Add a field per setting of :data:`SETTINGS` (its type, a fresh copy of its default) to
    ``cls`` before ``@dataclass`` reads them: the settings are declared once."""
    for name, s in SETTINGS.items():
        cls.__annotations__[name] = s.type
        setattr(cls, name, field(default_factory=functools.partial(copy.deepcopy, s.default)))
    return cls


@dataclass
@_settings_as_fields
class Config:
    """A loaded config: its file, its network, and a field per setting of :data:`SETTINGS`
    (the one source of their types and defaults)."""

    path: Path
    network: str

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

    def settings(self) -> dict:
        """Every setting's value, ``{name: value}`` (what ``summary.json`` records)."""
        return {name: getattr(self, name) for name in ("network", *SETTINGS)}


def settings_markdown() -> str:
    """``docs/settings.md``: every setting, its default and what it means (generated from
    :data:`SETTINGS` by ``python docs/generate.py``; a test fails when the page drifts)."""
    lines = ["# Config settings", "",
             "Generated from `jpeg_deep/config/schema.py` by `python docs/generate.py`; "
             "do not edit.",
             "How configs are written and inherit: [configs.md](configs.md).", "",
             "| setting | default | meaning |", "|---|---|---|",
             "| `network` | required | the network's registry name ([networks.md](networks.md)) |"]
    for name, s in SETTINGS.items():
        shown = "the best built reader" if name == "reader_backend" else f"`{s.default!r}`"
        lines.append(f"| `{name}` | {shown} | {s.meaning.replace('|', chr(92) + '|')} |")
    return "\n".join(lines) + "\n"
