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
                 :mod:`jpeg_deep.distortions`.
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
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from jpeg_deep.config import ConfigError

logger = logging.getLogger(__name__)

METHODS = ("fine_tune", "expert", "stability")
ROBUSTNESS_DEFAULTS = dict(method=None, quality=10, p=1.0, alpha=1.0, form="dct",
                           subsampling="4:2:0", teacher=None)
TEACHER_FILE = Path("teacher") / "outputs.npz"


# -- losses and metrics -----------------------------------------------------------------------
# The expert's y_true is [one-hot | teacher probabilities] (2C columns) and its y_pred the
# student's C probabilities; stability's y_true is the one-hot (C) and its y_pred
# [f(clean) | f(distorted)] (2C). The number of classes is read from the shapes.

def _split_true(y_true, y_pred):
    classes = y_pred.shape[-1]
    return y_true[..., :classes], y_true[..., classes:]


def _split_pred(y_true, y_pred):
    classes = y_true.shape[-1]
    return y_pred[..., :classes], y_pred[..., classes:]


@keras.saving.register_keras_serializable("jpeg_deep")
def expert_cross_entropy(y_true, y_pred):
    labels, _ = _split_true(y_true, y_pred)
    return keras.losses.categorical_crossentropy(labels, y_pred)


@keras.saving.register_keras_serializable("jpeg_deep")
def expert_kl(y_true, y_pred):
    """``KL(teacher || student)`` per sample."""
    _, teacher = _split_true(y_true, y_pred)
    return keras.losses.kl_divergence(teacher, y_pred)


@keras.saving.register_keras_serializable("jpeg_deep")
def expert_top_k(y_true, y_pred, k=1):
    labels, _ = _split_true(y_true, y_pred)
    return keras.metrics.top_k_categorical_accuracy(labels, y_pred, k=k)


@keras.saving.register_keras_serializable("jpeg_deep")
def stability_cross_entropy(y_true, y_pred):
    clean, _ = _split_pred(y_true, y_pred)
    return keras.losses.categorical_crossentropy(y_true, clean)


@keras.saving.register_keras_serializable("jpeg_deep")
def stability_kl(y_true, y_pred):
    """``KL(f(clean) || f(distorted))`` per sample."""
    clean, distorted = _split_pred(y_true, y_pred)
    return keras.losses.kl_divergence(clean, distorted)


@keras.saving.register_keras_serializable("jpeg_deep")
def stability_top_k(y_true, y_pred, k=1, part=0):
    outputs = _split_pred(y_true, y_pred)[part]
    return keras.metrics.top_k_categorical_accuracy(y_true, outputs, k=k)


@keras.saving.register_keras_serializable("jpeg_deep")
class RobustnessLoss(keras.losses.Loss):
    """``cross_entropy + alpha * kl`` per sample, for ``method`` ``"expert"`` or
    ``"stability"`` (the terms above); Keras averages it over the batch."""

    def __init__(self, method="expert", alpha=1.0, name=None, **kwargs):
        if method not in ("expert", "stability"):
            raise ValueError(f"RobustnessLoss is for 'expert' or 'stability', not {method!r}")
        super().__init__(name=name or f"{method}_loss", **kwargs)
        self.method, self.alpha = method, float(alpha)

    def call(self, y_true, y_pred):
        y_true = keras.ops.cast(y_true, y_pred.dtype)
        if self.method == "expert":
            return expert_cross_entropy(y_true, y_pred) + self.alpha * expert_kl(y_true, y_pred)
        return (stability_cross_entropy(y_true, y_pred)
                + self.alpha * stability_kl(y_true, y_pred))

    def get_config(self):
        return dict(super().get_config(), method=self.method, alpha=self.alpha)


def _metric(fn, name, **kwargs):
    return keras.metrics.MeanMetricWrapper(fn, name=name, **kwargs)


# -- the config block -------------------------------------------------------------------------
def settings(config) -> dict | None:
    """The config's ``robustness`` block completed with :data:`ROBUSTNESS_DEFAULTS` (None when
    the config has none)."""
    if config.robustness is None:
        return None
    return dict(ROBUSTNESS_DEFAULTS, **config.robustness)


def check(config, check_paths: bool = True) -> None:
    """Refuse a ``robustness`` block that cannot run (a :class:`ConfigError` naming the file)."""
    where, block = config.path, config.robustness
    if block is None:
        return
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: robustness must be a dict, e.g. dict(method='expert', "
                          f"quality=10, alpha=1.0), or None, not {block!r}")
    unknown = sorted(set(block) - set(ROBUSTNESS_DEFAULTS))
    if unknown:
        raise ConfigError(f"{where}: robustness {', '.join(map(repr, unknown))} unknown; known: "
                          f"{', '.join(ROBUSTNESS_DEFAULTS)}")
    s = settings(config)
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
    """The :class:`~jpeg_deep.distortions.RandomDistortion` of completed settings ``s``."""
    from jpeg_deep.distortions import RandomDistortion

    quality = s["quality"]
    if isinstance(quality, list):
        quality = tuple(quality)
    return RandomDistortion(quality=quality, p=s["p"], form=s["form"],
                            subsampling=s["subsampling"])


def procedure(config) -> "Procedure | None":
    """The training procedure of ``config`` (None without a ``robustness`` block)."""
    s = settings(config)
    return None if s is None else Procedure(**s)


# -- the procedure ------------------------------------------------------------------------------
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


def expert_target(target, num_classes: int) -> np.ndarray:
    """The expert's encoder: ``(label, teacher probabilities)`` -> ``[one-hot | teacher]``."""
    label, teacher = target
    if teacher is None:
        raise ValueError("no teacher output for this file: it was unreadable when the teacher "
                         "pass ran (delete teacher/outputs.npz to run the pass again)")
    out = np.zeros(2 * num_classes, np.float32)
    out[int(label)] = 1
    out[num_classes:] = teacher
    return out


class TeacherTargets:
    """A dataset whose ``target(i)`` is ``(label, teacher probabilities of path(i))``; a file
    the teacher could not read has None (the loader skips and counts it as unreadable before
    its target is encoded)."""

    def __init__(self, dataset, outputs: dict):
        self.dataset, self.outputs = dataset, outputs

    def __len__(self):
        return len(self.dataset)

    def __getattr__(self, name):  # root, num_classes, class_names... of the dataset
        if name.startswith("__") or "dataset" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["dataset"], name)

    def path(self, i):
        return self.dataset.path(i)

    def target(self, i):
        return self.dataset.target(i), self.outputs.get(str(self.dataset.path(i)))


def file_digest(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Procedure:
    method: str
    quality: object = 10
    p: float = 1.0
    alpha: float = 1.0
    form: str = "dct"
    subsampling: str = "4:2:0"
    teacher: str | None = None

    @property
    def distortion(self):
        return distortion(dataclasses.asdict(self))

    # -- what the task asks ---------------------------------------------------------------------
    def loader(self, task, split, model):
        """The training / validation loader of ``split`` for ``model``."""
        if self.method == "fine_tune":
            return task.loader(split, model=model, distortion=self.distortion)
        base = task.loader(split, model=None)
        if self.method == "expert":
            classes = int(model.output.shape[-1])
            return dataclasses.replace(
                base, distortion=self.distortion,
                encoder=functools.partial(expert_target, num_classes=classes))
        from jpeg_deep.data.pipeline import one_hot

        classes = int(model.output.shape[-1]) // 2
        return PairLoader(dataclasses.replace(
            base, encoder=functools.partial(one_hot, num_classes=classes)), self.distortion)

    def wrap(self, network):
        """The training model: ``network`` itself, or for stability training a model of the
        clean and the distorted inputs whose output is ``[network(clean) | network(distorted)]``
        (the network nested once, its layers keeping their names)."""
        if self.method != "stability":
            return network
        clean = [keras.Input(shape=t.shape[1:], name=f"clean_{_input_name(t)}")
                 for t in network.inputs]
        distorted = [keras.Input(shape=t.shape[1:], name=f"distorted_{_input_name(t)}")
                     for t in network.inputs]
        args = (lambda xs: xs[0] if len(xs) == 1 else xs)
        out = keras.layers.Concatenate(name="clean_distorted", dtype="float32")(
            [network(args(clean)), network(args(distorted))])
        return keras.Model(clean + distorted, out, name=f"{network.name}_stability")

    def compile_arguments(self, classes: int) -> dict:
        """``loss`` and ``metrics`` (each loss term, top-1 / top-5) of expert and stability
        training (fine-tuning keeps the task's)."""
        k = min(5, classes)
        if self.method == "expert":
            return dict(loss=RobustnessLoss("expert", self.alpha), metrics=[
                _metric(expert_cross_entropy, "cross_entropy"), _metric(expert_kl, "kl"),
                _metric(expert_top_k, "top1", k=1), _metric(expert_top_k, "top5", k=k)])
        return dict(loss=RobustnessLoss("stability", self.alpha), metrics=[
            _metric(stability_cross_entropy, "cross_entropy"), _metric(stability_kl, "kl"),
            _metric(stability_top_k, "top1", k=1), _metric(stability_top_k, "top5", k=k),
            _metric(stability_top_k, "top1_distorted", k=1, part=1)])

    def prepare(self, task, exp, runtime, datasets: dict) -> dict:
        """Expert training: the teacher's outputs on every file of ``datasets`` (computed by
        the chief once, read from the experiment folder afterwards), attached as targets."""
        if self.method != "expert":
            return datasets
        outputs = teacher_outputs(task, exp, list(datasets.values()), runtime=runtime)
        return {split: TeacherTargets(dataset, outputs) for split, dataset in datasets.items()}


def _input_name(tensor) -> str:
    name = getattr(tensor, "name", "") or "input"
    return name.split(":")[0]


# -- the teacher cache --------------------------------------------------------------------------
def teacher_file(config) -> str:
    """The expert's teacher weights: ``robustness["teacher"]``, else the starting ``weights``."""
    return settings(config)["teacher"] or config.weights


def teacher_key(task) -> str:
    """What the cached outputs depend on: the teacher file's bytes, the network, its arguments,
    the input size, the teacher's transform and the reader."""
    config = task.config
    parts = [file_digest(teacher_file(config)), config.network, repr(sorted(config.network_args.items())),
             str(config.input_size), repr(task.transform_config()), config.reader_backend]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def read_teacher_file(path, key) -> dict | None:
    """``{file path: probabilities}`` from a teacher file written with ``key`` (None if absent,
    unreadable, or written for another teacher)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            if str(data["key"]) != key:
                logger.warning("%s was computed with another teacher or transform: computing "
                               "the teacher outputs again", path)
                return None
            return dict(zip(map(str, data["paths"]), data["probabilities"]))
    except (OSError, KeyError, ValueError) as err:
        logger.warning("%s unreadable (%s): computing the teacher outputs again", path, err)
        return None


def compute_teacher_outputs(task, datasets, workers=None) -> dict:
    """The frozen teacher's probabilities on the clean files of ``datasets`` (the validation
    transform), with a progress bar; unreadable files are left out."""
    from jpeg_deep.data.pipeline import iter_samples
    from jpeg_deep.networks import build
    from jpeg_deep.networks.weights import load_weights

    config = task.config
    teacher_path = teacher_file(config)
    classes = datasets[0].num_classes
    model = build(config.network, classes=classes, input_size=config.input_size,
                  **config.network_args)
    load_weights(model, teacher_path, strict=True)
    loader = task.loader("val")
    paths = list(dict.fromkeys(str(d.path(i)) for d in datasets for i in range(len(d))))
    print(f"teacher {teacher_path}: outputs on {len(paths)} clean files", flush=True)
    bar = keras.utils.Progbar(len(paths), unit_name="image")
    outputs, batch, names = {}, [], []

    def flush():
        if batch:
            x = [np.stack(parts) for parts in zip(*batch)]
            probs = np.asarray(model.predict_on_batch(x[0] if len(x) == 1 else x))
            outputs.update(zip(names, probs.astype(np.float32)))
            bar.add(len(batch))
            batch.clear()
            names.clear()

    n_workers = config.workers if workers is None else workers
    for path, inputs, error in iter_samples(loader, paths, n_workers):
        if inputs is None:
            logger.warning("teacher: skipping %s: %s", path, error)
            bar.add(1)
            continue
        batch.append(inputs)
        names.append(str(path))
        if len(batch) == 64:
            flush()
    flush()
    return outputs


def teacher_outputs(task, exp, datasets, *, runtime=None) -> dict:
    """The teacher outputs of the experiment ``exp``: read from ``exp/teacher/outputs.npz`` when
    it was written for this teacher, else computed (by the chief; the other workers wait, then
    read the file)."""
    key = teacher_key(task)
    path = exp.root / TEACHER_FILE
    outputs = read_teacher_file(path, key)
    if outputs is not None:
        print(f"teacher outputs read from {path} ({len(outputs)} files)", flush=True)
        return outputs
    chief = runtime is None or runtime.is_chief
    if chief:
        outputs = compute_teacher_outputs(task, datasets)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp.npz")
        names = sorted(outputs)
        np.savez(tmp, key=np.array(key), paths=np.array(names), probabilities=np.stack(
            [outputs[n] for n in names]) if names else np.zeros((0, 0), np.float32))
        tmp.replace(path)
        print(f"teacher outputs written to {path}", flush=True)
    if runtime is not None:
        runtime.barrier()
    if not chief:
        outputs = read_teacher_file(path, key)
        if outputs is None:
            raise RuntimeError(f"{path}: the chief's teacher outputs are not readable from this "
                               "worker (the experiment folder must be shared)")
    return outputs
