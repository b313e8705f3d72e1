"""What a task is: :class:`Task`, the questions the trainer, ``inference.py`` and
``evaluation.py`` ask of one, and what every task shares (the dataset-scan settings, the names
of prediction and evaluation files)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from jpeg_deep.data.datasets.scans import ON_ERROR
from jpeg_deep.errors import ConfigError
from jpeg_deep.networks.weights import load_weights


@dataclass
class Predictions:
    """What a task's prediction pass gives its evaluators: the dataset, the task's records of
    what was predicted, ``counts`` (what the evaluation file reports of the pass: ``images``,
    ...) and the prediction files written."""

    dataset: object
    records: dict
    counts: dict
    files: list = field(default_factory=list)
    split: str = ""


class Evaluator:
    """A score of predictions (detectron2's ``DatasetEvaluator``): :meth:`process` the
    predictions, then :meth:`evaluate` returns ``{name: value}`` for the evaluation file."""

    def process(self, predictions: Predictions) -> None:
        raise NotImplementedError

    def evaluate(self) -> dict:
        raise NotImplementedError


@dataclass
class Loaded:
    """What a prediction pass runs: ``forward(batch) -> outputs`` (the network's outputs for
    the batch's inputs), the loader of its inputs, and ``model``, the network whose outputs
    those are (its structure: a detector's anchors are read from it)."""

    model: object
    forward: object
    loader: object


class Inference:
    """How a task's predictions are made from a weights file. This default is the task's
    inference network with the weights loaded by layer name (every layer must load), on the
    task's inference loader; a training procedure that changes the network (split computing)
    gives its own (:meth:`jpeg_deep.procedures.base.Procedure.inference`)."""

    def __init__(self, task):
        self.task = task

    def load(self, dataset, weights, split, distortion=None) -> Loaded:
        model = self.task.build(dataset, inference=True)
        load_weights(model, weights, strict=True)  # WeightsError naming the file if no fit
        return Loaded(model, model.predict_on_batch,
                      self.task.loader(split, inference=True, distortion=distortion))

    def evaluators(self, predictions: "Predictions") -> list:
        """Evaluators of this way of predicting, beside the task's (a rate...)."""
        return []


class Task:
    """What the trainer, ``inference.py`` and ``evaluation.py`` ask of a task. A subclass holds
    no state beyond its config."""

    name = ""

    def __init__(self, config):
        self.config = config

    # -- config ---------------------------------------------------------------------------------
    def check(self, check_paths: bool = True) -> None:
        """Task-specific config checks (no data read, no TensorFlow state): raise ConfigError;
        ``check_paths``: also that its folders exist."""

    def transform_config(self):
        """The frozen transform config of this task (sizes, re-encoding quality...)."""
        raise NotImplementedError

    # -- data -----------------------------------------------------------------------------------
    def dataset(self, split: str, *, training: bool = False):
        """The dataset of ``split`` (``train``, ``val``, ``test``): ``len``, ``path(i)``,
        ``target(i)``, ``shard(i, n)``; ``training``: the variant training reads."""
        raise NotImplementedError

    def loader(self, split: str, *, model=None, inference: bool = False, distortion=None):
        """The :class:`~jpeg_deep.data.loader.SampleLoader` of ``split`` for the training
        network (``inference``: the inference network), with the target encoder of ``model``'s
        outputs when a model is given (training), without one otherwise; ``distortion`` (a
        :class:`~jpeg_deep.codec.distortions.Distortion`) is applied to each file first."""
        raise NotImplementedError

    # -- model ----------------------------------------------------------------------------------
    def augmentation(self) -> str:
        """Where training augments its samples: the config's ``augmentation``; None: ``"dct"``
        (on the coefficients, no decode or re-encode) for a network that reads DCT
        coefficients, ``"rgb"`` for one that reads pixels."""
        if self.config.augmentation is not None:
            return self.config.augmentation
        from jpeg_deep.networks import spec

        return "rgb" if spec(self.config.network).inputs == "rgb" else "dct"

    def network_name(self, inference: bool = False) -> str:
        config = self.config
        return (config.inference_network or config.network) if inference else config.network

    def build(self, dataset, *, inference: bool = False):
        """The model for ``dataset``'s classes; a builder's refusal becomes a ConfigError."""
        name = self.network_name(inference)
        try:
            model = self._build(name, dataset, inference)
        except (TypeError, ValueError) as err:
            raise ConfigError(
                f"{self.config.path}: network {name!r} cannot be built with input_size "
                f"{self.config.input_size} and network_args {self.config.network_args!r}: "
                f"{err}") from None
        return model

    def _build(self, name, dataset, inference):
        raise NotImplementedError

    def initialise(self, model) -> None:
        """Load the config's starting weights into a freshly built training model: ``weights``
        by layer name (what loaded is logged)."""
        if self.config.weights:
            load_weights(model, self.config.weights)

    def compile_arguments(self, dataset) -> dict:
        """``loss`` and ``metrics`` for ``model.compile``."""
        raise NotImplementedError

    def callbacks(self, model, val_dataset) -> list:
        """Callbacks that add to the epoch logs (run before checkpoints and logs see them)."""
        return []

    def summary(self, dataset) -> dict:
        """What ``summary.json`` records of the training data (classes...)."""
        return {}

    # -- outputs --------------------------------------------------------------------------------
    def predict(self, exp, weights, split="test", *, workers=None, limit=None,
                distortion=None, inference: Inference | None = None) -> "Predictions":
        """Predict ``split`` with ``weights`` (the one prediction loop,
        :func:`~jpeg_deep.data.loader.predict_files`) and write the prediction files under
        ``exp.predictions`` (``distortion``: of the distorted files, named with its tag;
        ``inference``: how, default :class:`Inference`)."""
        raise NotImplementedError

    def evaluators(self, predictions: "Predictions") -> list:
        """The :class:`Evaluator` s that score this task's predictions."""
        raise NotImplementedError

    def report(self, result: dict, predictions: "Predictions") -> str:
        """The table printed after an evaluation."""
        raise NotImplementedError

    def evaluate(self, exp, weights, split="test", *, workers=None, limit=None,
                 distortion=None, inference: Inference | None = None) -> dict:
        """Score ``split``: the predictions (:meth:`predict`, files written) processed by each of
        :meth:`evaluators`; prints :meth:`report` and writes
        ``evaluation/<split>_<weights>.json`` (``<split>_<weights>_<distortion tag>.json`` with
        a distortion). ``inference``: how the predictions are made (default
        :class:`Inference`); its evaluators score them too. Returns the scores."""
        inference = inference or Inference(self)
        predictions = self.predict(exp, weights, split, workers=workers, limit=limit,
                                   distortion=distortion, inference=inference)
        result = {"task": self.name, "experiment": str(exp.root), "weights": str(weights),
                  "split": split, **predictions.counts}
        for evaluator in self.evaluators(predictions) + inference.evaluators(predictions):
            evaluator.process(predictions)
            result.update(evaluator.evaluate())
        out_dir = exp.evaluation
        out_dir.mkdir(exist_ok=True)
        path = out_dir / f"{weights_tag(split, weights, distortion)}.json"
        path.write_text(json.dumps(result, indent=2))
        print(self.report(result, predictions))
        print(f"written to {path}")
        return result

    def evaluated_paths(self, split: str, limit=None) -> list:
        """The files :meth:`predict` reads for ``split`` and ``limit``."""
        raise NotImplementedError

    def sweep_metrics(self, result: dict) -> dict:
        """The headline scores of an :meth:`evaluate` result, ``{name: value}``, as the
        rate-accuracy sweep reports and plots them (all in 0..1)."""
        raise NotImplementedError


#: The dataset-scan settings of ``data = dict(...)`` every task accepts, and their defaults.
DATA_CHECKS = dict(on_error="stop", verify=False)


def check_data_checks(data: dict, where) -> None:
    """``data``'s ``on_error`` (``"stop"`` or ``"skip"``) and ``verify`` (a bool)."""
    settings = dict(DATA_CHECKS, **data)
    on_error, verify = settings["on_error"], settings["verify"]
    if on_error not in ON_ERROR:
        raise ConfigError(f"{where}: data on_error must be 'stop' (report every broken file, "
                          f"then exit) or 'skip' (report them, train without them), not "
                          f"{on_error!r}")
    if not isinstance(verify, bool):
        raise ConfigError(f"{where}: data verify must be True or False, not {verify!r}")


def weights_tag(split: str, weights, distortion=None) -> str:
    """``test_best`` for ``checkpoints/best.keras`` (``test_best_jpeg_real_q10`` with a
    distortion): how prediction and evaluation files are named."""
    tag = f"{split}_{Path(weights).name.split('.')[0]}"
    return tag if distortion is None else f"{tag}_{distortion.tag}"
