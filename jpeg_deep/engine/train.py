"""Training: the model, the input pipeline and ``model.fit``, in an experiment folder
(:mod:`jpeg_deep.engine.experiment`).

Under ``tf.distribute`` (:mod:`jpeg_deep.distribute`) the config's ``batch_size`` is per replica
(global batch = ``batch_size x replicas``, as with the reference's Horovod runs), the learning
rate is multiplied by the number of replicas (``scale_learning_rate``) with an optional linear
warm-up (``warmup_epochs``), each worker loads only its slice of every global batch, and only
the chief (worker 0) writes into the experiment folder; the other workers run the same
callbacks into a temporary folder, which they delete at the end.
"""
from __future__ import annotations

import logging
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

import keras
import numpy as np

from jpeg_deep import distribute
from jpeg_deep.config import Config, load_config
from jpeg_deep.data.batches import Batches, EventLog
from jpeg_deep.data.tfdata import distributed_dataset
from jpeg_deep.engine.experiment import AlreadyFinished, Experiment, history_from_csv
from jpeg_deep.procedures import procedure_for
from jpeg_deep.tasks import task_for

logger = logging.getLogger(__name__)


def make_optimizer(settings: dict, learning_rate_scale: float = 1.0):
    settings = dict(settings)
    name = settings.pop("name")
    if "learning_rate" in settings:
        settings["learning_rate"] = float(settings["learning_rate"]) * learning_rate_scale
    return keras.optimizers.get({"class_name": name, "config": settings})


def make_batches(procedure, split: str, dataset, model, *, event_log=None, replicas=1,
                 replica_ids=None) -> Batches:
    """The batches of ``split`` that ``replica_ids`` (of ``replicas``) feed, with ``model``'s
    targets (the training procedure's loader)."""
    config = procedure.task.config
    return Batches(dataset, batch_size=config.batch_size, loader=procedure.loader(split, model),
                   seed=config.seed, event_log=event_log, replicas=replicas,
                   replica_ids=replica_ids)


class LearningRateControl(keras.callbacks.Callback):
    """Warm-up and step schedule of the learning rate (what the reference's Horovod callbacks
    did). ``base`` is the (replica-scaled) rate; during the first ``warmup_epochs`` the rate
    rises linearly, batch by batch, from ``base / replicas`` to ``base``
    (``hvd.callbacks.LearningRateWarmupCallback``; with one replica there is nothing to warm
    up). ``multipliers`` ``{epoch: factor}`` then sets ``base x factor`` from that epoch on."""

    def __init__(self, base, *, replicas=1, warmup_epochs=0, steps_per_epoch=1,
                 multipliers=None):
        super().__init__()
        self.base = float(base)
        self.start = self.base / max(1, replicas)
        self.warmup_epochs = warmup_epochs
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self.multipliers = dict(sorted((int(k), float(v)) for k, v in (multipliers or {}).items()))
        self._epoch = 0

    def _set(self, value):
        self.model.optimizer.learning_rate.assign(value)

    def rate_at(self, epoch: int) -> float | None:
        factor = None
        for start, value in self.multipliers.items():
            if epoch >= start:
                factor = value
        return None if factor is None else self.base * factor

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if epoch >= self.warmup_epochs:
            rate = self.rate_at(epoch)
            if rate is not None:
                self._set(rate)
            elif self.warmup_epochs and epoch == self.warmup_epochs:
                self._set(self.base)

    def on_train_batch_begin(self, batch, logs=None):
        if self._epoch < self.warmup_epochs:
            progress = (self._epoch * self.steps_per_epoch + batch) / (
                self.warmup_epochs * self.steps_per_epoch)
            self._set(self.start + (self.base - self.start) * progress)


def _callbacks(config: Config, folder: Experiment, lr_control=None):
    cbs = [
        keras.callbacks.ModelCheckpoint(folder.epoch_weights),
        keras.callbacks.ModelCheckpoint(str(folder.best_weights),
                                        monitor="val_loss", save_best_only=True),
        # kept after the end, so that a finished run can be continued with more epochs
        keras.callbacks.BackupAndRestore(str(folder.backup), delete_checkpoint=False),
        keras.callbacks.CSVLogger(str(folder.training_log), append=True),
        keras.callbacks.TensorBoard(str(folder.tensorboard)),
        keras.callbacks.TerminateOnNaN(),
    ]
    if lr_control is not None:
        cbs.append(lr_control)
    if config.reduce_lr_on_plateau:
        cbs.append(keras.callbacks.ReduceLROnPlateau(**config.reduce_lr_on_plateau))
    if config.early_stopping:
        cbs.append(keras.callbacks.EarlyStopping(**config.early_stopping))
    if config.keep_checkpoints is not None:
        cbs.append(CheckpointRetention(folder.checkpoints, config.keep_checkpoints))
    return cbs


def _versions():
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__}


class CheckpointRetention(keras.callbacks.Callback):
    """Keep only the ``keep`` newest ``epoch-NNN.keras`` files of ``folder`` (``best.keras``,
    ``final.keras`` and the restart state are other files and always kept)."""

    def __init__(self, folder: Path, keep: int):
        super().__init__()
        self.folder, self.keep = Path(folder), int(keep)

    def on_epoch_end(self, epoch, logs=None):
        files = sorted(self.folder.glob("epoch-*.keras"))
        for old in files[:max(0, len(files) - self.keep)]:
            old.unlink(missing_ok=True)


def _configure_numerics(config: Config):
    """The Keras dtype policy of ``config.mixed_precision`` (float32 when None), set before
    the model is built. Under a mixed policy the networks' outputs stay float32 and
    ``mixed_float16`` wraps the optimizer in Keras' loss scaling."""
    keras.mixed_precision.set_global_policy(config.mixed_precision or "float32")


def _load_config(config_path, restart, overrides) -> tuple[Experiment | None, Config]:
    if restart is not None:
        exp = Experiment.open(restart)
        return exp, exp.load_config(overrides)
    return None, load_config(config_path, overrides=overrides)


def train(config_path=None, *, restart=None, output_dir=None, epochs=None, strategy="auto",
          overrides=None, verbose="auto"):
    """Train from a config (new experiment) or resume an experiment folder (``restart``).

    ``overrides`` replaces config settings (command-line options); ``strategy`` is one of
    :data:`jpeg_deep.distribute.STRATEGIES`. Returns ``(experiment, history)``.

    Everything that can fail on a user's mistake (the config, the GPUs, the datasets, building
    the model, the optimizer) runs before the experiment folder is made.
    """
    overrides = dict(overrides or {}, **({} if epochs is None else {"epochs": epochs}))
    exp, config = _load_config(config_path, restart, overrides)
    runtime = distribute.setup(strategy, allow_cpu=config.allow_cpu)
    done = exp.completed_epochs() if exp is not None else 0
    # a finished run (all epochs, or early stopping) trains further only when asked to
    if exp is not None and "finished" in exp.summary() and (
            epochs is None or done >= config.epochs):
        raise AlreadyFinished(f"{exp.root} already finished after {done} epochs; "
                              f"restart it with --epochs N (N > {done}) to train further")

    keras.utils.set_random_seed(config.seed)
    _configure_numerics(config)
    task = task_for(config)
    procedure = procedure_for(task)
    train_set = task.dataset("train", training=True)
    val_set = task.dataset("val")
    replicas = runtime.replicas
    lr_scale = replicas if config.scale_learning_rate else 1
    with runtime.strategy.scope():
        model = procedure.model(train_set)
        optimizer = make_optimizer(config.optimizer, lr_scale)
        model.compile(optimizer=optimizer, jit_compile=config.jit_compile,
                      **procedure.compile_arguments(train_set))
    # steps per epoch (a split too small for one global batch stops here, before any folder)
    steps = config.steps_per_epoch or make_batches(procedure, "train", train_set, model,
                                                   replicas=replicas).steps
    val_steps = config.validation_steps or make_batches(procedure, "val", val_set, model,
                                                        replicas=replicas).steps

    if exp is None:  # new run: the chief makes the folder, every worker learns its name
        made = Experiment.create(config, output_dir) if runtime.is_chief else None
        if made is not None:
            # the starting weights are pinned: a config that finds them (the newest baseline,
            # an environment variable) must give a restart the same ones
            made.save_overrides(dict(overrides, **({"weights": str(config.weights)}
                                                   if config.weights else {})))
        exp = Experiment(Path(runtime.broadcast_text(str(made.root) if made else None)))
    elif runtime.is_chief:
        exp.save_overrides(dict(exp.overrides(), **overrides))
    if runtime.is_chief:
        work, scratch = exp, None
    else:  # same callbacks, private folder; resume from the chief's backup
        scratch = Path(tempfile.mkdtemp(prefix=f"jpeg_deep_worker{runtime.worker_index}_"))
        work = Experiment(scratch)
        for folder in (work.checkpoints, work.logs):
            folder.mkdir(parents=True)
        if exp.backup.exists():
            shutil.copytree(exp.backup, work.backup)

    # the procedure's work in the folder before training (the expert's cached teacher outputs)
    prepared = procedure.prepare(exp, runtime, {"train": train_set, "val": val_set})
    train_set, val_set = prepared["train"], prepared["val"]
    events = EventLog(work.skipped_log)  # non-chief workers: their own folder
    # Batches come from an endless tf.data source that numbers the epochs itself (Keras resets
    # a PyDataset once before the first epoch, and prefetching runs ahead of callbacks, so
    # neither can be trusted to say which epoch a batch belongs to); each worker loads only
    # its replicas' slice of every global batch.
    def batches_for(split, dataset):
        return lambda n, ids: make_batches(procedure, split, dataset, model, event_log=events,
                                           replicas=n, replica_ids=ids)

    train_data = distributed_dataset(runtime.strategy, batches_for("train", train_set),
                                     first_epoch=done, workers=config.workers,
                                     prefetch=config.prefetch)
    val_data = distributed_dataset(runtime.strategy, batches_for("val", val_set),
                                   workers=config.workers, prefetch=config.prefetch)
    lr_control = None
    if config.warmup_epochs or config.lr_schedule:
        lr_control = LearningRateControl(
            float(keras.ops.convert_to_numpy(optimizer.learning_rate)), replicas=lr_scale,
            warmup_epochs=config.warmup_epochs, steps_per_epoch=steps,
            multipliers=config.lr_schedule)
    if runtime.is_chief:
        exp.update_summary(
            config=config.name, task=task.name, network=config.network,
            parameters=model.count_params(), augmentation=task.augmentation(),
            **task.summary(train_set),
            dataset_sizes={"train": len(train_set), "val": len(val_set)},
            settings={f.name: getattr(config, f.name) for f in fields(config)},
            distribution=runtime.as_dict(), batch_size_per_replica=config.batch_size,
            global_batch_size=config.batch_size * replicas, steps_per_epoch=steps,
            validation_steps=val_steps,
            learning_rate=float(keras.ops.convert_to_numpy(optimizer.learning_rate)),
            dtype_policy=keras.mixed_precision.global_policy().name,
            versions=_versions(), command_line=sys.argv, experiment=str(exp.root),
        )
        print(f"experiment folder: {exp.root}", flush=True)
        print(f"{runtime.describe()}; global batch {config.batch_size * replicas}, "
              f"{steps} steps per epoch" + (f", resuming after epoch {done}" if done else ""),
              flush=True)
    history = model.fit(
        train_data, validation_data=val_data, epochs=config.epochs,
        steps_per_epoch=steps, validation_steps=val_steps,
        callbacks=procedure.callbacks(model, val_set) + _callbacks(config, work, lr_control),
        shuffle=False,
        verbose=verbose if runtime.is_chief else 0,
    )
    model.save(work.final_weights)
    if scratch is None:
        skipped = events.skipped()
        if skipped:
            logger.warning("%d unreadable files were skipped (listed in %s)", len(skipped),
                           events.path)
        exp.update_summary(
            history=history_from_csv(exp.training_log),
            epochs_completed=exp.completed_epochs(), skipped_files=len(skipped),
            finished=time.strftime("%Y-%m-%d %H:%M:%S"),
        )
    runtime.barrier()  # the workers leave together
    if scratch is not None:
        skipped = events.skipped()
        if skipped:
            logger.warning("worker %d skipped %d unreadable files", runtime.worker_index,
                           len(skipped))
        shutil.rmtree(scratch, ignore_errors=True)
    return exp, history
