"""Training: experiment folders, the model, the input pipeline and ``model.fit``.

An experiment folder (``$EXPERIMENTS_OUTPUT_DIRECTORY``, default ``./experiments``) is never
overwritten: each run gets ``<config name>_<YYYYmmdd-HHMMSS>_<random>/`` holding

``config/config.py``        copy of the config used (what inference / evaluation rebuild from)
``checkpoints/``            ``epoch-NNN.keras`` every epoch, ``best.keras`` (lowest val_loss),
                            ``final.keras``, and ``backup/`` (state for ``--restart``)
``logs/``                   TensorBoard events, ``training.csv``, ``skipped_files.tsv``
``summary.json``            network, parameters, dataset sizes, versions, command line, results
"""
from __future__ import annotations

import json
import logging
import os
import platform
import secrets
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from jpeg_deep.config import Config, load_config
from jpeg_deep.data.augmentation import TransformConfig
from jpeg_deep.data.datasets import ImageFolder
from jpeg_deep.data.pipeline import ClassificationBatches, EventLog, SampleLoader
from jpeg_deep.networks import build, spec

logger = logging.getLogger(__name__)


def experiments_root(override=None) -> Path:
    return Path(override or os.environ.get("EXPERIMENTS_OUTPUT_DIRECTORY", "experiments"))


@dataclass(frozen=True)
class Experiment:
    root: Path

    @property
    def config_file(self) -> Path:
        return self.root / "config" / "config.py"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def summary_file(self) -> Path:
        return self.root / "summary.json"

    @classmethod
    def create(cls, config: Config, parent=None) -> "Experiment":
        parent = experiments_root(parent)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        while True:
            root = parent / f"{config.name}_{stamp}_{secrets.token_hex(3)}"
            try:
                root.mkdir(parents=True, exist_ok=False)
                break
            except FileExistsError:
                continue
        exp = cls(root)
        for folder in (exp.config_file.parent, exp.checkpoints, exp.logs):
            folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(config.path, exp.config_file)
        return exp

    @classmethod
    def open(cls, root) -> "Experiment":
        exp = cls(Path(root))
        if not exp.config_file.is_file():
            raise FileNotFoundError(f"{root} is not an experiment folder (no config/config.py)")
        return exp

    def load_config(self, **kw) -> Config:
        return load_config(self.config_file, **kw)

    def update_summary(self, **values):
        data = json.loads(self.summary_file.read_text()) if self.summary_file.exists() else {}
        data.update(values)
        self.summary_file.write_text(json.dumps(data, indent=2, default=str))


def make_optimizer(settings: dict):
    settings = dict(settings)
    name = settings.pop("name")
    return keras.optimizers.get({"class_name": name, "config": settings})


def make_batches(config: Config, split: str, *, event_log=None, input_kind=None, workers=None,
                 batch_size=None, dataset=None):
    dataset = dataset or ImageFolder.scan(config.split_dir(split), config.class_index)
    kind = input_kind or spec(config.network).inputs
    loader = SampleLoader(kind, split, TransformConfig(**config.transforms),
                          config.reader_backend)
    n_workers = config.workers if workers is None else workers
    return ClassificationBatches(
        dataset, batch_size=batch_size or config.batch_size, loader=loader, seed=config.seed,
        event_log=event_log, workers=max(1, n_workers), use_multiprocessing=n_workers > 1,
    )


def build_model(config: Config, num_classes: int, *, inference=False):
    name = (config.inference_network or config.network) if inference else config.network
    kwargs = dict(config.network_args)
    kwargs["classes"] = num_classes
    if inference and spec(name).fully_convolutional:
        kwargs.update(input_size=None, train_input_size=config.input_size)
    elif inference and name != config.network:
        kwargs["input_size"] = None
    else:
        kwargs["input_size"] = config.input_size
    return build(name, **kwargs)


def classification_metrics(num_classes: int):
    return [keras.metrics.CategoricalAccuracy(name="top1"),
            keras.metrics.TopKCategoricalAccuracy(k=min(5, num_classes), name="top5")]


def _callbacks(config: Config, exp: Experiment):
    cbs = [
        keras.callbacks.ModelCheckpoint(str(exp.checkpoints / "epoch-{epoch:03d}.keras")),
        keras.callbacks.ModelCheckpoint(str(exp.checkpoints / "best.keras"),
                                        monitor="val_loss", save_best_only=True),
        keras.callbacks.BackupAndRestore(str(exp.checkpoints / "backup")),
        keras.callbacks.CSVLogger(str(exp.logs / "training.csv"), append=True),
        keras.callbacks.TensorBoard(str(exp.logs / "tensorboard")),
        keras.callbacks.TerminateOnNaN(),
    ]
    if config.reduce_lr_on_plateau:
        cbs.append(keras.callbacks.ReduceLROnPlateau(**config.reduce_lr_on_plateau))
    if config.early_stopping:
        cbs.append(keras.callbacks.EarlyStopping(**config.early_stopping))
    return cbs


def _versions():
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__}


def train(config_path=None, *, restart=None, output_dir=None, epochs=None, verbose="auto"):
    """Train from a config (new experiment) or resume an experiment folder (``restart``)."""
    if restart is not None:
        exp = Experiment.open(restart)
        config = exp.load_config(overrides={"epochs": epochs})
    else:
        config = load_config(config_path, overrides={"epochs": epochs})
        exp = Experiment.create(config, output_dir)
    keras.utils.set_random_seed(config.seed)
    events = EventLog(exp.logs / "skipped_files.tsv")
    train_batches = make_batches(config, "train", event_log=events)
    val_batches = make_batches(config, "val", event_log=events)
    n_classes = train_batches.dataset.num_classes
    model = build_model(config, n_classes)
    if config.weights:
        from jpeg_deep.networks.weights import load_weights

        load_weights(model, config.weights)
    model.compile(optimizer=make_optimizer(config.optimizer), loss=config.loss,
                  metrics=classification_metrics(n_classes))
    exp.update_summary(
        config=config.name, network=config.network, parameters=model.count_params(),
        classes=list(train_batches.dataset.class_names),
        dataset_sizes={"train": len(train_batches.dataset), "val": len(val_batches.dataset)},
        versions=_versions(), command_line=sys.argv, experiment=str(exp.root),
    )
    print(f"experiment folder: {exp.root}", flush=True)
    history = model.fit(
        train_batches, validation_data=val_batches, epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch, validation_steps=config.validation_steps,
        callbacks=_callbacks(config, exp), shuffle=False, verbose=verbose,
    )
    model.save(exp.checkpoints / "final.keras")
    skipped = events.skipped()
    if skipped:
        logger.warning("%d unreadable files were skipped (listed in %s)", len(skipped),
                       events.path)
    exp.update_summary(
        history={k: [float(v) for v in vals] for k, vals in history.history.items()},
        skipped_files=len(skipped), finished=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    return exp, history
