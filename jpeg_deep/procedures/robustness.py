"""Training against coding artifacts: fine-tuning, expert training, stability training.

A config asks for one with a ``robustness`` block::

    robustness = dict(method="expert", quality=10, alpha=1.0)

``method``
    ``"fine_tune"``  cross-entropy on distorted images.
    ``"expert"``     cross-entropy on the distorted image plus ``alpha * KL(teacher || student)``
                     (Expert Training, EI 2022): the teacher is the frozen starting network
                     (``teacher``, default the config's ``weights``) on the *clean* image.
    ``"stability"``  cross-entropy on the clean image plus ``alpha * KL(f(clean) ||
                     f(distorted))``, both through the network being trained (Zheng et al.,
                     2016; gradients flow through both terms).
``quality``      JPEG quality of the distortion: an int, or ``(low, high)`` for a quality drawn
                 uniformly per sample (default 10).
``p``            probability that a sample is distorted (default 1.0).
``alpha``        weight of the KL term (expert, stability; default 1.0).
``form``         ``"dct"`` (default: the file's coefficients re-quantised, no decode) or
                 ``"real"`` (decode and re-encode with libjpeg-turbo): see
                 :mod:`jpeg_deep.codec.distortions`.
``subsampling``  chroma of the real re-encode, ``"4:2:0"`` (default) or ``"4:4:4"``.
``teacher``      expert only: the teacher's weights file (default: ``weights``).

Every method starts from a trained network: the config's ``weights`` (required).

The distortion is drawn per sample from the sample's seed (the same draw in every process and
after a restart) and applied to the file before the task's usual transform, for the training
and the validation split alike (the validation loss is the training objective on validation
images). Stability training loads each sample twice with the same seed, so the clean and the
distorted image share their crop and flip.

Expert targets: the teacher sees each file once, through the validation transform (shorter side,
centre crop: the teacher's output must not depend on the epoch's random crop, since it is cached
per file). Its probabilities are written to ``teacher/outputs.npz`` in the experiment folder with
a key made of the teacher file's SHA-256, the network and the transform; a restart reads them
back, and a teacher file that changed makes a new pass.

Each loss term is a metric of its own (``cross_entropy``, ``kl``, and ``val_`` ones) in the
progress bar, ``training.csv`` and TensorBoard; ``top1`` / ``top5`` are those of the input the
cross-entropy sees (stability also logs ``top1_distorted``).

Fine-tuning also applies to detection (distorted scenes, the SSD loss); expert and stability
training are for classifiers.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

import keras

from jpeg_deep.data.loader import one_hot
from jpeg_deep.codec.distortions import RandomDistortion
from jpeg_deep.errors import ConfigError
from jpeg_deep.procedures.base import Procedure, block_settings, input_name
from jpeg_deep.procedures.losses import (RobustnessLoss, expert_cross_entropy, expert_kl,
                                         expert_top_k, metric, stability_cross_entropy,
                                         stability_kl, stability_top_k)
from jpeg_deep.procedures.teacher import TeacherTargets, expert_target, teacher_outputs

METHODS = ("fine_tune", "expert", "stability")
ROBUSTNESS_DEFAULTS = dict(method=None, quality=10, p=1.0, alpha=1.0, form="dct",
                           subsampling="4:2:0", teacher=None)


# -- the config block -------------------------------------------------------------------------
def settings(config) -> dict | None:
    """The config's ``robustness`` block completed with :data:`ROBUSTNESS_DEFAULTS` (None when
    the config has none)."""
    if config.robustness is None:
        return None
    return dict(ROBUSTNESS_DEFAULTS, **config.robustness)


def check(config, check_paths: bool = True) -> None:
    """Refuse a ``robustness`` block that cannot run (a :class:`ConfigError` naming the file)."""
    where = config.path
    s = block_settings(config, "robustness", ROBUSTNESS_DEFAULTS,
                       "dict(method='expert', quality=10, alpha=1.0)")
    if s is None:
        return
    if s["method"] not in METHODS:
        raise ConfigError(f"{where}: robustness method must be one of "
                          f"{', '.join(map(repr, METHODS))}, not {s['method']!r}")
    try:
        distortion(s)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: robustness: {err}") from None
    alpha = s["alpha"]
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or alpha < 0:
        raise ConfigError(f"{where}: robustness alpha must be a number >= 0, not {alpha!r}")
    if s["method"] != "fine_tune" and config.task != "classification":
        raise ConfigError(f"{where}: robustness method {s['method']!r} is for classifiers; "
                          f"a {config.task} config can use method='fine_tune'")
    if s["teacher"] is not None and s["method"] != "expert":
        raise ConfigError(f"{where}: robustness teacher is for method 'expert' only")
    if config.weights is None:
        raise ConfigError(f"{where}: robustness method {s['method']!r} starts from a trained "
                          "network: set weights (e.g. the baseline experiment's "
                          "checkpoints/best.keras)")
    if s["method"] == "expert" and s["teacher"] is not None and check_paths and not Path(
            s["teacher"]).is_file():
        raise ConfigError(f"{where}: robustness teacher {s['teacher']} does not exist")


def distortion(s: dict):
    """The :class:`~jpeg_deep.codec.distortions.RandomDistortion` of completed settings ``s``."""
    quality = s["quality"]
    if isinstance(quality, list):
        quality = tuple(quality)
    return RandomDistortion(quality=quality, p=s["p"], form=s["form"],
                            subsampling=s["subsampling"])


# -- the procedures ---------------------------------------------------------------------------
class FineTune(Procedure):
    """Cross-entropy (the task's loss) on distorted images."""

    name = "fine_tune"
    block = "robustness"

    def __init__(self, task, settings=None):
        super().__init__(task, dict(ROBUSTNESS_DEFAULTS, **(settings or {})))

    @classmethod
    def check(cls, config, check_paths=True):
        check(config, check_paths=check_paths)

    @property
    def distortion(self) -> RandomDistortion:
        return distortion(self.settings)

    def loader(self, split, model):
        return self.task.loader(split, model=model, distortion=self.distortion)


class Expert(FineTune):
    """Cross-entropy on the distorted image plus ``alpha * KL(teacher || student)``, the
    teacher's outputs on the clean files cached in the experiment folder."""

    name = "expert"

    def loader(self, split, model):
        classes = int(model.output.shape[-1])
        return dataclasses.replace(
            self.task.loader(split, model=None), distortion=self.distortion,
            encoder=functools.partial(expert_target, num_classes=classes))

    def compile_arguments(self, dataset):
        classes = dataset.num_classes
        return dict(loss=RobustnessLoss("expert", self.settings["alpha"]), metrics=[
            metric(expert_cross_entropy, "cross_entropy"), metric(expert_kl, "kl"),
            metric(expert_top_k, "top1", k=1), metric(expert_top_k, "top5", k=min(5, classes))])

    def prepare(self, exp, runtime, datasets):
        """The teacher's outputs on every file of ``datasets`` (computed by the chief once,
        read from the experiment folder afterwards), attached as targets."""
        outputs = teacher_outputs(self.task, exp, list(datasets.values()), runtime=runtime)
        return {split: TeacherTargets(dataset, outputs) for split, dataset in datasets.items()}


class Stability(FineTune):
    """Cross-entropy on the clean image plus ``alpha * KL(f(clean) || f(distorted))``, both
    through the network being trained."""

    name = "stability"

    def model(self, dataset):
        """A model of the clean and the distorted inputs whose output is
        ``[network(clean) | network(distorted)]`` (the network nested once, its layers keeping
        their names, its starting weights loaded)."""
        network = super().model(dataset)
        clean = [keras.Input(shape=t.shape[1:], name=f"clean_{input_name(t)}")
                 for t in network.inputs]
        distorted = [keras.Input(shape=t.shape[1:], name=f"distorted_{input_name(t)}")
                     for t in network.inputs]
        args = (lambda xs: xs[0] if len(xs) == 1 else xs)
        out = keras.layers.Concatenate(name="clean_distorted", dtype="float32")(
            [network(args(clean)), network(args(distorted))])
        return keras.Model(clean + distorted, out, name=f"{network.name}_stability")

    def loader(self, split, model):
        classes = int(model.output.shape[-1]) // 2
        base = self.task.loader(split, model=None)
        return PairLoader(dataclasses.replace(
            base, encoder=functools.partial(one_hot, num_classes=classes)), self.distortion)

    def compile_arguments(self, dataset):
        classes = dataset.num_classes
        k = min(5, classes)
        return dict(loss=RobustnessLoss("stability", self.settings["alpha"]), metrics=[
            metric(stability_cross_entropy, "cross_entropy"), metric(stability_kl, "kl"),
            metric(stability_top_k, "top1", k=1), metric(stability_top_k, "top5", k=k),
            metric(stability_top_k, "top1_distorted", k=1, part=1)])


@dataclass(frozen=True)
class PairLoader:
    """Stability training's loader (picklable): each sample loaded twice with the same seed,
    clean then distorted; the inputs are the clean ones followed by the distorted ones."""

    loader: object     # a SampleLoader without distortion
    distortion: object  # a RandomDistortion

    @property
    def split(self):
        return self.loader.split

    @property
    def encoder(self):
        return self.loader.encoder

    def sample(self, path, target=None, rng_seed=None, out=None):
        half = None if out is None else len(out) // 2
        clean, y = self.loader.sample(path, target, rng_seed,
                                      out=None if out is None else out[:half])
        distorted, _ = dataclasses.replace(self.loader, distortion=self.distortion).sample(
            path, target, rng_seed, out=None if out is None else out[half:])
        return tuple(clean) + tuple(distorted), y

    def __call__(self, path, rng_seed=None):
        return self.sample(path, None, rng_seed)[0]
