"""Experiment folders: every path of one, in one place.

An experiment folder (``$EXPERIMENTS_OUTPUT_DIRECTORY``, default ``./experiments``) is never
overwritten: each run gets ``<config name>_<YYYYmmdd-HHMMSS>_<random>/`` holding

``config/config.py``        the config used (what inference / evaluation rebuild from): a copy of
                            the file, or, for a config with bases, one file stating every
                            setting it and its bases set
``checkpoints/``            ``epoch-NNN.keras`` every epoch, ``best.keras`` (lowest val_loss),
                            ``final.keras``, and ``backup/`` (state for ``--restart``)
``logs/``                   TensorBoard events, ``training.csv``, ``skipped_files.tsv``
``summary.json``            network, parameters, the augmentation path taken, dataset sizes,
                            versions, command line, results
``teacher/outputs.npz``     expert training only: the teacher's cached outputs
                            (:mod:`jpeg_deep.procedures.teacher`)
``predictions/``            what inference writes (the task's prediction files)
``evaluation/``             what evaluation writes (scores, sweeps and their plots)
``display/``                the pictures ``jpeg-deep display`` draws
``export/``                 what ``jpeg-deep export`` writes
"""
from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from jpeg_deep.config import Config, load_config, resolved_source
from jpeg_deep.errors import ConfigError
from jpeg_deep.tasks import task_for


class AlreadyFinished(ConfigError):
    """A finished run restarted without more epochs to train."""


def experiments_root(override=None) -> Path:
    return Path(override or os.environ.get("EXPERIMENTS_OUTPUT_DIRECTORY", "experiments"))


@dataclass(frozen=True)
class TrainedClasses:
    """What building a task's model asks of a dataset: its classes."""

    class_names: tuple

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


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

    @property
    def best_weights(self) -> Path:
        """The checkpoint of the lowest validation loss (what inference uses by default)."""
        return self.checkpoints / "best.keras"

    @property
    def final_weights(self) -> Path:
        return self.checkpoints / "final.keras"

    @property
    def epoch_weights(self) -> str:
        """The per-epoch checkpoints, as a Keras ``ModelCheckpoint`` file pattern."""
        return str(self.checkpoints / "epoch-{epoch:03d}.keras")

    @property
    def training_log(self) -> Path:
        """Every epoch's logs (``CSVLogger``), across restarts."""
        return self.logs / "training.csv"

    @property
    def tensorboard(self) -> Path:
        return self.logs / "tensorboard"

    @property
    def predictions(self) -> Path:
        """Where inference writes the task's prediction files."""
        return self.root / "predictions"

    @property
    def evaluation(self) -> Path:
        """Where evaluation writes scores, sweeps and plots."""
        return self.root / "evaluation"

    @property
    def display(self) -> Path:
        """Where ``jpeg-deep display`` writes its pictures."""
        return self.root / "display"

    @property
    def export(self) -> Path:
        """Where ``jpeg-deep export`` writes its models."""
        return self.root / "export"

    @property
    def teacher_outputs(self) -> Path:
        """Expert training's cached teacher outputs."""
        return self.root / "teacher" / "outputs.npz"

    @property
    def skipped_log(self) -> Path:
        """The files training could not read (``EventLog``)."""
        return self.logs / "skipped_files.tsv"

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
        source = resolved_source(config.path)  # the folder must not need the base files
        if source is None:
            shutil.copy2(config.path, exp.config_file)
        else:
            exp.config_file.write_text(source)
        return exp

    @classmethod
    def open(cls, root) -> "Experiment":
        exp = cls(Path(root))
        if not exp.config_file.is_file():
            raise FileNotFoundError(f"{root} is not an experiment folder (no config/config.py)")
        return exp

    @property
    def overrides_file(self) -> Path:
        return self.root / "config" / "overrides.json"

    def overrides(self) -> dict:
        """Settings overridden on the command line of ``training.py`` (kept with the run)."""
        if not self.overrides_file.exists():
            return {}
        return json.loads(self.overrides_file.read_text(), object_hook=_int_keys)

    def save_overrides(self, overrides: dict):
        write_atomic(self.overrides_file, json.dumps(overrides, indent=2, default=str))

    def load_config(self, overrides=None, **kw) -> Config:
        """The run's config: its saved ``config.py`` with the saved command-line overrides, then
        ``overrides`` on top."""
        return load_config(self.config_file, overrides=dict(self.overrides(), **(overrides or {})),
                           **kw)

    @property
    def backup(self) -> Path:
        return self.checkpoints / "backup"

    def summary(self) -> dict:
        return json.loads(self.summary_file.read_text()) if self.summary_file.exists() else {}

    def classes(self) -> "TrainedClasses":
        """The classes the experiment was trained on (its ``summary.json``), as what building
        its network asks of a dataset: the dataset itself need not be on this machine."""
        classes = self.summary().get("classes")
        if not classes:
            raise ConfigError(f"{self.root}: summary.json names no classes (an experiment that "
                              "never finished its first epoch?)")
        return TrainedClasses(tuple(classes))

    def completed_epochs(self) -> int:
        """Epochs completed according to the ``BackupAndRestore`` state (0 when none)."""
        metadata = self.backup / "training_metadata.json"
        if not metadata.exists():
            return 0
        return int(json.loads(metadata.read_text())["epoch"])

    def update_summary(self, **values):
        data = self.summary()
        data.update(values)
        write_atomic(self.summary_file, json.dumps(data, indent=2, default=str))


def default_weights(exp: Experiment) -> Path:
    """The experiment's ``checkpoints/best.keras`` (what inference and evaluation use when no
    weights are named)."""
    path = exp.best_weights
    if not path.is_file():
        raise FileNotFoundError(f"{exp.root} has no checkpoints/best.keras yet; name the "
                                "weights to use (e.g. checkpoints/final.keras)")
    return path


def open_experiment(experiment, weights=None):
    """``(experiment, task, weights)`` of an experiment folder; ``weights`` default to
    ``best.keras``."""
    exp = Experiment.open(experiment)
    weights = Path(weights) if weights is not None else default_weights(exp)
    return exp, task_for(exp.load_config()), weights


def baseline_weights(config_name: str, config_folder: str) -> str:
    """What a config that starts from another experiment's result sets as ``weights``:
    ``$BASELINE_WEIGHTS`` when set, else the newest finished ``config_name`` experiment's
    ``best.keras`` (:func:`latest_weights`), else a path that says to train ``config_folder``
    first (the config check then stops on it, naming it)."""
    return (os.environ.get("BASELINE_WEIGHTS") or latest_weights(config_name)
            or f"experiments/{config_name}_*/checkpoints/best.keras (train {config_folder} "
               "first)")


def latest_weights(config_name: str, weights: str = "best.keras") -> str | None:
    """``checkpoints/<weights>`` of the newest finished experiment of the config named
    ``config_name`` (e.g. ``demo_vgg16_dct``) under ``$EXPERIMENTS_OUTPUT_DIRECTORY`` (default
    ``./experiments``), or None: how a config starts from another experiment's result."""
    root = experiments_root()
    stamp = re.compile(re.escape(config_name) + r"_(\d{8}-\d{6})_[0-9a-f]+")
    found = []
    for folder in root.glob(f"{config_name}_*"):
        match = stamp.fullmatch(folder.name)
        exp = Experiment(folder)
        path = exp.checkpoints / weights
        if not (match and exp.summary_file.is_file() and path.is_file()):
            continue
        try:
            if "finished" in json.loads(exp.summary_file.read_text()):
                found.append((match.group(1), str(path)))
        except ValueError:
            continue
    return max(found)[1] if found else None


def write_atomic(path: Path, text: str):
    """Other workers may read the file meanwhile: they see the old or the new text, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _int_keys(mapping: dict) -> dict:
    # JSON object keys are strings; lr_schedule's are epochs
    return {int(k) if isinstance(k, str) and k.isdigit() else k: v for k, v in mapping.items()}


def history_from_csv(path) -> dict:
    """Per-epoch logs of the whole run from ``training.csv``, across restarts (an epoch run
    again after an interruption counts once, with its last values)."""
    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row.get("epoch", "").isdigit():
                rows[int(row["epoch"])] = row
    keys = [k for k in (next(iter(rows.values())) if rows else {}) if k != "epoch"]
    return {k: [float(rows[e][k]) for e in sorted(rows) if rows[e].get(k) not in (None, "")]
            for k in keys}
