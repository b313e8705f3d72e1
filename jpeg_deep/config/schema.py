"""Every setting of an experiment config, its default and what it means: the one source of the
:class:`Config` fields, the defaults, and the settings table of ``docs/settings.md`` (generated
from :data:`SETTINGS`; a test fails when it drifts)."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from jpeg_deep.codec.readers import DEFAULT_BACKEND
from jpeg_deep.errors import ConfigError

REQUIRED = ("network",)

#: ``name: (default, what it means)``, in the order the docs list them.
SETTINGS = dict(
    task=("classification", 'the task: "classification" or "detection"'),
    train_dir=(None, "classification: the training split, an ImageNet-style folder of class "
                     "folders"),
    val_dir=(None, "classification: the validation split (same layout)"),
    test_dir=(None, "classification: the test split read by inference and evaluation"),
    data=(None, 'detection: the dataset, dict(format="voc" | "coco", root=..., ...); both '
                "tasks: on_error and verify, the dataset scans' settings"),
    detection=(None, "detection: thresholds and options (the detection task's defaults)"),
    description=("", "one line saying what the experiment is (plots' legends use it)"),
    network_args=({}, "extra keyword arguments of the network builder"),
    input_size=(224, "training input size in pixels (the crop)"),
    inference_network=(None, "the network inference builds, e.g. the fully convolutional twin; "
                             "None: network"),
    class_index=(None, "an imagenet_class_index.json-format file naming the classes, or None"),
    transforms=(None, "the task's transform settings; None: its defaults"),
    augmentation=("rgb", 'DCT networks: "rgb" (decode, augment, re-encode, read) or "dct" '
                         "(augment the coefficients)"),
    reader_backend=(DEFAULT_BACKEND, 'the coefficient reader: "libjpeg" (ours, where built), '
                                     '"jpeg2dct" or "jpeglib"'),
    batch_size=(64, "images per step (per replica under tf.distribute)"),
    epochs=(1, "epochs to train"),
    steps_per_epoch=(None, "steps per epoch; None: the whole training split"),
    validation_steps=(None, "validation steps per epoch; None: the whole validation split"),
    optimizer=(dict(name="sgd", learning_rate=0.0025, momentum=0.9),
               "a Keras optimizer by name, with its keyword arguments"),
    loss=("categorical_crossentropy", "classification: the Keras loss"),
    reduce_lr_on_plateau=(None, "ReduceLROnPlateau's arguments, e.g. dict(patience=5); "
                                "None disables"),
    early_stopping=(None, "EarlyStopping's arguments, e.g. dict(patience=11); None disables"),
    scale_learning_rate=(True, "learning rate x replicas under tf.distribute"),
    warmup_epochs=(0, "linear warm-up from lr to lr x replicas (Horovod's)"),
    lr_schedule=(None, "{epoch: factor}: a step schedule (instead of reduce_lr_on_plateau)"),
    weights=(None, 'a weights file loaded by layer name before training, or "imagenet" '
                   "(keras.applications' ResNet50 / VGG16 weights)"),
    backbone_weights=(None, "detection: a classifier's weights for the backbone (all load), or "
                            '"imagenet" (the layers sharing names load)'),
    workers=(2, "data-loading processes"),
    seed=(0, "the seed of the weights' initialisation, the shuffles and the augmentation"),
    keep_checkpoints=(5, "newest epoch-NNN.keras files kept (None: all); best and final are "
                         "always kept"),
    mixed_precision=(None, 'None, "mixed_float16" or "mixed_bfloat16" (Keras policies)'),
    jit_compile=(False, "XLA-compile the train / predict steps"),
    prefetch=(2, "batches the input pipeline prepares ahead of the model"),
    allow_cpu=(False, "train on the CPU even where the job was given GPUs"),
    robustness=(None, 'training against coding artifacts: dict(method="fine_tune" | "expert" | '
                      '"stability", quality=10, alpha=1.0, ...)'),
)

#: The default of every setting.
DEFAULTS = {name: default for name, (default, _) in SETTINGS.items()}

MIXED_PRECISION = (None, "mixed_float16", "mixed_bfloat16")


def _default(name):
    return field(default_factory=lambda: copy.deepcopy(DEFAULTS[name]))


@dataclass
class Config:
    """A loaded config; every default comes from :data:`SETTINGS` (the one source)."""

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

    def settings(self) -> dict:
        """Every setting's value, ``{name: value}`` (what ``summary.json`` records)."""
        return {name: getattr(self, name) for name in ("network", *SETTINGS)}


def settings_markdown() -> str:
    """``docs/settings.md``: every setting, its default and what it means (generated from
    :data:`SETTINGS` by ``python docs/generate.py``; a test fails when the page drifts)."""
    lines = ["# Config settings", "",
             "Generated from `jpeg_deep/config/schema.py` by `python docs/generate.py`; do not edit.",
             "How configs are written and inherit: [configs.md](configs.md).", "",
             "| setting | default | meaning |", "|---|---|---|",
             "| `network` | required | the network's registry name ([networks.md](networks.md)) |"]
    for name, (default, meaning) in SETTINGS.items():
        shown = "the best built reader" if name == "reader_backend" else f"`{default!r}`"
        lines.append(f"| `{name}` | {shown} | {meaning.replace('|', chr(92) + '|')} |")
    return "\n".join(lines) + "\n"
