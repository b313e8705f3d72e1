"""Inference and evaluation of a trained experiment, whatever its task.

:func:`predict_split` rebuilds the inference network from the experiment's saved config, loads
weights by layer name (every layer must load: weights that do not fit stop with one line),
predicts a split with a progress bar and writes the task's prediction files under
``predictions/``; :func:`evaluate_split` scores them and writes ``evaluation/<split>_<weights>.json``
(classification: :mod:`jpeg_deep.tasks.classification`; detection:
:mod:`jpeg_deep.tasks.detection.task` says what each writes).
"""
from __future__ import annotations

from pathlib import Path

from jpeg_deep.tasks import task_for
from jpeg_deep.training import Experiment


def default_weights(exp: Experiment) -> Path:
    """The experiment's ``checkpoints/best.keras`` (what inference and evaluation use when no
    weights are named)."""
    path = exp.checkpoints / "best.keras"
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


def predict_split(experiment, weights=None, split="test", *, workers=None, limit=None):
    """Predict ``split`` (``train``, ``val`` or ``test``) with ``weights`` (default: the
    experiment's ``best.keras``) and write the task's prediction files; ``limit`` predicts at
    most that many images (classification: spread over the classes)."""
    exp, task, weights = open_experiment(experiment, weights)
    return task.predict(exp, weights, split, workers=workers, limit=limit)


def evaluate_split(experiment, weights=None, split="test", *, workers=None,
                   limit=None) -> dict:
    """Score ``weights`` (default: ``best.keras``) on ``split``; prints a table and writes a
    JSON file. Returns the scores."""
    exp, task, weights = open_experiment(experiment, weights)
    return task.evaluate(exp, weights, split, workers=workers, limit=limit)
