"""Split computing: a trained network cut in two, a learned bottleneck between the halves, its
features quantised and entropy-coded (Ahuja et al., "Neural Rate Estimator and Unsupervised
Learning for Efficient Distributed Image Analytics in Split-DNN Models", CVPR 2023).

A config asks for it with a ``split`` block, starting from a trained network (``weights``)::

    split = dict(at="block5_pool", channels=8, stride=1, rate_weight=10.0)

``at``           the layer the network is cut after: a split point of the network
                 (:func:`jpeg_deep.networks.split.split_points`; the paper's ResNet-50 names
                 ``layer4[2]``, ``layer4[0]``, ``layer3[4]`` are accepted too). For an SSD it
                 must come before every map the heads read.
``channels``     channels of the code (the bottleneck's width).
``stride``       the bottleneck's spatial stride (default 2).
``kind``         ``"separable"`` (default: the paper's depthwise 3x3 + BN + ReLU + 1x1 encoder,
                 1x1 + depthwise 3x3 transposed decoder) or ``"plain"`` (full 3x3 convolutions).
``rate_weight``  lambda: the loss is ``task term + rate_weight x bpp`` (default 10), ``bpp``
                 being the code's bits (the entropy model's estimate) per pixel of the network's
                 input. A bit weighs ``rate_weight / input pixels``: on 96-pixel crops lambda
                 below ~3 hardly moves the encoder (the entropy model alone sets the rate), and
                 a larger input needs a proportionally larger lambda for the same trade.
``labels``       True (default): the task term is the task's loss on the labels (supervised);
                 False: it is the distillation of the uncut network's outputs (KL divergence
                 of the class probabilities; for a detector, of each anchor's class
                 probabilities plus the L1 distance of its box offsets), and no label is read.
``train_front`` / ``train_back``  train the halves too (default False: frozen, only the
                 bottleneck and the entropy model learn). Distillation needs both frozen (the
                 uncut network they make is the teacher).
``step``         the quantisation step of the code (default 1.0).
``filters``      widths of the entropy model's per-channel CDF networks (default (3, 3, 3)).

Training logs the task term (``task_loss`` or ``distillation``) and ``bpp`` as metrics of their
own, with the task's (``top1`` / ``top5``; distillation: ``agreement``, the share of samples
whose top class is the uncut network's).

Inference runs what a deployment runs: the device half (front, encoder, rounding) makes the
symbols, they are range-coded into one stream per image (:mod:`jpeg_deep.networks.streams`) and
decoded, and the server half (decoder, back) predicts from the decoded symbols. The network's
shapes are fixed by the bottleneck: a split classifier reads its test images through the
validation transform (shorter side, centre crop to ``input_size``) instead of whole. The
evaluation adds the real rate to the scores (:class:`StreamRate`): ``stream_bytes`` per image
and ``bpp``, the streams' bits per pixel of the original image (the denominator of a JPEG
file's bpp), with the payload alone, the entropy model's estimate and the papers' convention
(bits per pixel of the network's input) beside them.
"""
from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path

import keras
import numpy as np
from keras import ops

from jpeg_deep.errors import ConfigError
from jpeg_deep.procedures.base import Procedure, block_settings, input_name
from jpeg_deep.tasks.base import Evaluator, Inference, Loaded

logger = logging.getLogger(__name__)

SPLIT_DEFAULTS = dict(at=None, channels=None, stride=2, kind="separable", rate_weight=10.0,
                      labels=True, train_front=False, train_back=False, step=1.0,
                      filters=(3, 3, 3))


def settings(config) -> dict | None:
    """The config's ``split`` block completed with :data:`SPLIT_DEFAULTS` (None without)."""
    return None if config.split is None else dict(SPLIT_DEFAULTS, **config.split)


def check(config, check_paths: bool = True) -> None:
    """Refuse a ``split`` block that cannot run (a ConfigError naming the file); whether ``at``
    is a split point of the network is checked when the network is built, before any folder."""
    where = config.path
    s = block_settings(config, "split", SPLIT_DEFAULTS,
                       "dict(at='block5_pool', channels=8, stride=1, rate_weight=10)")
    if s is None:
        return
    if not isinstance(s["at"], str):
        raise ConfigError(f"{where}: split at must name the layer to cut after, e.g. "
                          f"'block5_conv1' (not {s['at']!r})")
    for key in ("channels", "stride"):
        if not isinstance(s[key], int) or isinstance(s[key], bool) or s[key] < 1:
            raise ConfigError(f"{where}: split {key} must be an int >= 1, not {s[key]!r}")
    if s["kind"] not in ("separable", "plain"):
        raise ConfigError(f"{where}: split kind must be 'separable' or 'plain', not "
                          f"{s['kind']!r}")
    for key in ("rate_weight", "step"):
        value = s[key]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0 or (
                key == "step" and value == 0):
            raise ConfigError(f"{where}: split {key} must be a number "
                              f"{'> 0' if key == 'step' else '>= 0'}, not {value!r}")
    for key in ("labels", "train_front", "train_back"):
        if not isinstance(s[key], bool):
            raise ConfigError(f"{where}: split {key} must be True or False, not {s[key]!r}")
    if not s["labels"] and (s["train_front"] or s["train_back"]):
        raise ConfigError(f"{where}: split labels=False distils the uncut network made of the "
                          "frozen halves: set train_front and train_back to False")
    if config.robustness is not None:
        raise ConfigError(f"{where}: split and robustness are two training procedures; a "
                          "config sets one")
    if config.weights is None:
        raise ConfigError(f"{where}: split computing starts from a trained network: set "
                          "weights (e.g. the uncut experiment's checkpoints/best.keras)")
    if check_paths and config.weights != "imagenet" and not Path(config.weights).exists():
        raise ConfigError(f"{where}: weights {config.weights} does not exist (train the uncut "
                          "network first)")


def resolve_point(network, at: str) -> str:
    """The layer name of ``at`` (a layer name, or one of the paper's ResNet-50 names)."""
    from jpeg_deep.networks.split import RESNET50_POINTS

    names = {layer.name for layer in network.layers}
    return at if at in names else RESNET50_POINTS.get(at, at)


# -- losses and metrics -----------------------------------------------------------------------
def _parts(y_pred, width: int, teacher: bool):
    pred = y_pred[..., :width]
    rate = y_pred[..., -1]
    rate = ops.mean(ops.reshape(rate, (ops.shape(rate)[0], -1)), axis=1)
    return pred, (y_pred[..., width:2 * width] if teacher else None), rate


def distillation(teacher, student, task: str):
    """Per sample: KL(teacher || student) of classification probabilities; for a detector the
    mean over anchors of the class probabilities' KL plus the L1 distance of the 4 offsets."""
    kl = keras.losses.kl_divergence
    if task == "classification":
        return kl(teacher, student)
    per_anchor = (kl(teacher[..., :-4], student[..., :-4])
                  + ops.sum(ops.abs(teacher[..., -4:] - student[..., -4:]), axis=-1))
    return ops.mean(per_anchor, axis=-1)


@keras.saving.register_keras_serializable("jpeg_deep")
class SplitLoss(keras.losses.Loss):
    """``task term + rate_weight x bpp`` per sample from the split model's output
    ``[predictions (width) | teacher's predictions (width, distillation only) | bpp]``: the
    task term is ``task_loss(y_true, predictions)`` or, with ``distil``, the distillation of
    the teacher's predictions (:func:`distillation`)."""

    def __init__(self, task_loss=None, rate_weight=10.0, width=1, distil=False,
                 task="classification", name="split_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.task_loss = keras.losses.get(task_loss) if task_loss is not None else None
        self.rate_weight, self.width = float(rate_weight), int(width)
        self.distil, self.task = bool(distil), task

    def terms(self, y_true, y_pred):
        pred, teacher, rate = _parts(y_pred, self.width, self.distil)
        if self.distil:
            return distillation(teacher, pred, self.task), rate
        loss = self.task_loss
        if isinstance(loss, keras.losses.Loss):
            return loss.call(ops.cast(y_true, pred.dtype), pred), rate
        return loss(ops.cast(y_true, pred.dtype), pred), rate

    def call(self, y_true, y_pred):
        term, rate = self.terms(y_true, y_pred)
        return term + self.rate_weight * rate

    def get_config(self):
        return dict(super().get_config(), rate_weight=self.rate_weight, width=self.width,
                    distil=self.distil, task=self.task,
                    task_loss=None if self.task_loss is None
                    else keras.losses.serialize(self.task_loss))


@keras.saving.register_keras_serializable("jpeg_deep")
class SplitMetric(keras.metrics.Mean):
    """The mean of one part of the split model's output: ``"task"`` or ``"rate"`` (a
    :class:`SplitLoss` term), ``"top<k>"`` (accuracy of the predictions on the labels) or
    ``"agreement"`` (the predictions' top class is the teacher's)."""

    def __init__(self, part="rate", loss=None, name=None, **kwargs):
        super().__init__(name=name or part, **kwargs)
        self.part = part
        self.loss = loss if isinstance(loss, SplitLoss) or loss is None else \
            keras.losses.deserialize(loss)

    def update_state(self, y_true, y_pred, sample_weight=None):
        loss = self.loss
        if self.part in ("task", "rate"):
            term, rate = loss.terms(y_true, y_pred)
            values = term if self.part == "task" else rate
        else:
            pred, teacher, _ = _parts(y_pred, loss.width, loss.distil)
            if self.part == "agreement":
                values = ops.cast(ops.argmax(pred, -1) == ops.argmax(teacher, -1), "float32")
            else:
                k = int(self.part[3:])
                values = keras.metrics.top_k_categorical_accuracy(
                    ops.cast(y_true, pred.dtype), pred, k=k)
        return super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        return dict(super().get_config(), part=self.part,
                    loss=keras.losses.serialize(self.loss))


def no_labels(target) -> np.ndarray:
    """The distillation's target encoder: nothing of the label (the loss reads the teacher)."""
    return np.zeros(1, np.float32)


# -- the procedure ----------------------------------------------------------------------------
class Split(Procedure):
    """The network cut at ``at``, a bottleneck and an entropy model trained between the halves
    for the task term plus ``rate_weight x bpp``."""

    name = "split"
    block = "split"

    def __init__(self, task, settings=None):
        super().__init__(task, dict(SPLIT_DEFAULTS, **(settings or {})))
        self.network = None

    @classmethod
    def selects(cls, block) -> bool:
        return isinstance(block, dict)

    @classmethod
    def check(cls, config, check_paths=True):
        check(config, check_paths=check_paths)

    # -- the model ------------------------------------------------------------------------------
    def parts(self, network) -> dict:
        """The halves, the bottleneck and the entropy model of ``network`` (a ConfigError
        naming the config when ``at`` is not a split point)."""
        from jpeg_deep.networks.entropy import FactorizedPrior
        from jpeg_deep.networks.split import bottleneck, cut, split_points

        s, config = self.settings, self.task.config
        at = resolve_point(network, s["at"])
        try:
            front, back = cut(network, at)
        except ValueError as err:
            extra = (" (a detector's split point must come before every map its heads read)"
                     if self.task.name == "detection" else "")
            raise ConfigError(f"{config.path}: split at {s['at']!r}: {err}{extra}") from None
        shape = tuple(front.output.shape[1:])
        if len(shape) != 3:
            maps = [n for n in split_points(network)
                    if len(network.get_layer(n).output.shape) == 4]
            raise ConfigError(f"{config.path}: split at {s['at']!r}: its output {shape} is not "
                              "a feature map (height, width, channels); the network's split "
                              f"points that are: {', '.join(maps)}")
        front.trainable, back.trainable = s["train_front"], s["train_back"]
        encoder, decoder = bottleneck(shape, s["channels"], s["stride"], s["kind"])
        prior = FactorizedPrior(filters=s["filters"], step=s["step"], name="rate",
                                dtype="float32")
        return dict(front=front, back=back, encoder=encoder, decoder=decoder, prior=prior)

    def assemble(self, network, parts=None):
        """The training model of ``network`` (cut into ``parts``, default :meth:`parts`):
        ``[predictions | teacher's predictions (distillation) | bpp]``."""
        from jpeg_deep.networks.split import AppendRate

        p = parts or self.parts(network)
        inputs = [keras.Input(shape=t.shape[1:], name=input_name(t)) for t in network.inputs]
        features = p["front"](inputs[0] if len(inputs) == 1 else inputs)
        code_hat, bits = p["prior"](p["encoder"](features))
        outputs = [p["back"](p["decoder"](code_hat))]
        if not self.settings["labels"]:
            outputs.append(ops.stop_gradient(p["back"](features)))
        bpp = bits / float(self.task.config.input_size ** 2)
        out = AppendRate(name="with_rate", dtype="float32")(outputs, bpp)
        return keras.Model(inputs, out, name=f"{network.name}_split")

    def model(self, dataset):
        network = self.task.build(dataset)
        self.task.initialise(network)  # the trained uncut network
        self.network = network
        return self.assemble(network)

    # -- training -------------------------------------------------------------------------------
    def loader(self, split, model):
        if not self.settings["labels"]:
            return dataclasses.replace(self.task.loader(split, model=None), encoder=no_labels)
        if self.network is None:
            raise RuntimeError("Split.loader before Split.model")
        return self.task.loader(split, model=self.network)  # the uncut network's targets

    def compile_arguments(self, dataset):
        if self.network is None:
            raise RuntimeError("Split.compile_arguments before Split.model")
        task_args = self.task.compile_arguments(dataset)
        width = int(self.network.output.shape[-1])
        distil = not self.settings["labels"]
        loss = SplitLoss(None if distil else task_args["loss"], self.settings["rate_weight"],
                         width=width, distil=distil, task=self.task.name)
        metrics = [SplitMetric("task", loss, name="distillation" if distil else "task_loss"),
                   SplitMetric("rate", loss, name="bpp")]
        if self.task.name == "classification":
            if distil:
                metrics.append(SplitMetric("agreement", loss))
            else:
                metrics += [SplitMetric("top1", loss),
                            SplitMetric(f"top{min(5, dataset.num_classes)}", loss)]
        return dict(loss=loss, metrics=metrics)

    def callbacks(self, model, val_dataset):
        # the detector's validation mAP runs the uncut output layout; the split model's
        # validation loss, task term and rate are logged instead
        return []

    # -- inference ------------------------------------------------------------------------------
    def inference(self):
        return SplitInference(self)


class SplitHalves:
    """The deployed halves of a trained split experiment: ``device`` (inputs -> symbols),
    ``server`` (symbols -> outputs), the code tables and the uncut network (its structure)."""

    def __init__(self, procedure: Split, dataset, weights):
        from jpeg_deep.networks.split import Dequantise, Quantise
        from jpeg_deep.networks.streams import CodeTables
        from jpeg_deep.networks.weights import load_weights

        network = procedure.task.build(dataset)
        p = procedure.parts(network)
        trained = procedure.assemble(network, p)
        load_weights(trained, weights, strict=True)  # WeightsError naming the file if no fit
        step = p["prior"].step
        inputs = [keras.Input(shape=t.shape[1:], name=input_name(t)) for t in network.inputs]
        code = p["encoder"](p["front"](inputs[0] if len(inputs) == 1 else inputs))
        self.device = keras.Model(inputs, Quantise(step, name="quantise")(code),
                                  name=f"{network.name}_device")
        symbols = keras.Input(shape=tuple(code.shape[1:]), name="symbols")
        self.server = keras.Model(
            symbols, p["back"](p["decoder"](Dequantise(step, name="dequantise")(symbols))),
            name=f"{network.name}_server")
        self.prior, self.network = p["prior"], network
        self.shape = tuple(int(d) for d in code.shape[1:])
        self.tables = CodeTables.from_prior(self.prior, self.shape[-1])

    def estimate_bits(self, symbols: np.ndarray) -> float:
        """The entropy model's bits for ``symbols`` (one image's)."""
        p = ops.convert_to_numpy(self.prior.likelihood(ops.convert_to_tensor(
            np.asarray(symbols, np.float32)[None])))
        return float(-np.log2(p).sum())


class SplitInference(Inference):
    """Predictions through the real bitstreams: the device half's symbols of each image coded
    into a stream and decoded, the server half's outputs of the decoded symbols. Records each
    stream's size and the entropy model's estimate, in prediction order."""

    def __init__(self, procedure: Split):
        super().__init__(procedure.task)
        self.procedure = procedure
        self.streams = []  # (bytes, estimated bits) per predicted image

    def load(self, dataset, weights, split, distortion=None) -> Loaded:
        from jpeg_deep.networks import streams

        halves = SplitHalves(self.procedure, dataset, weights)

        def forward(batch):
            symbols = np.asarray(halves.device.predict_on_batch(batch))
            decoded = []
            for s in symbols:
                data = streams.encode(s.astype(np.int64), halves.tables)
                decoded.append(streams.decode(data, halves.tables, halves.shape))
                self.streams.append((len(data), halves.estimate_bits(s)))
            return halves.server.predict_on_batch(np.stack(decoded).astype(np.float32))

        return Loaded(halves.network, forward, self.input_loader(split, distortion))

    def input_loader(self, split, distortion=None):
        """The loader of the device half's inputs: the network's input size is fixed by the
        bottleneck, so a classifier reads its images through the validation transform
        (shorter side, centre crop), whatever the split."""
        if self.task.name == "classification":
            return self.task.loader("val", distortion=distortion)
        return self.task.loader(split, inference=True, distortion=distortion)

    def evaluators(self, predictions):
        return [StreamRate(self.streams, self.task.config.input_size ** 2)]


class StreamRate(Evaluator):
    """The real rate of a split evaluation, per image on average: ``stream_bytes`` (header
    included) and ``header_bytes``; in bits per pixel of the original image (the denominator of
    a JPEG file's bpp) ``bpp`` (whole streams), ``bpp_payload`` (without the header) and
    ``bpp_estimate`` (the entropy model's bits); ``bpp_network_input``, the payload per pixel of
    the network's input (the papers' convention); ``payload_over_estimate``, the coded payload
    over the entropy model's estimate (all streams together), and
    ``payload_minus_estimate_bits``, their difference per stream (the coder's termination)."""

    def __init__(self, streams, input_pixels: int):
        self.streams, self.input_pixels = streams, input_pixels
        self.paths = []

    def process(self, predictions):
        records = predictions.records
        if "paths" in records:
            self.paths = list(records["paths"])
        else:  # detection: the samples in prediction order, those detected
            detected = records["detections"]
            self.paths = [s.path for s in records["samples"] if s.image_id in detected]

    def evaluate(self):
        from jpeg_deep.codec.readers import inspect_jpeg
        from jpeg_deep.networks.streams import HEADER_BYTES

        if len(self.paths) != len(self.streams):
            raise RuntimeError(f"{len(self.streams)} streams for {len(self.paths)} "
                               "predicted images")
        if not self.streams:
            return dict(stream_bytes=math.nan, header_bytes=HEADER_BYTES, bpp=math.nan)
        pixels = np.array([(lambda i: i.width * i.height)(inspect_jpeg(
            Path(path).read_bytes(), path)) for path in self.paths], np.float64)
        sizes = np.array([b for b, _ in self.streams], np.float64)
        estimates = np.array([e for _, e in self.streams], np.float64)
        payload = 8 * (sizes - HEADER_BYTES)
        return dict(stream_bytes=float(sizes.mean()), header_bytes=HEADER_BYTES,
                    bpp=float(np.mean(8 * sizes / pixels)),
                    bpp_payload=float(np.mean(payload / pixels)),
                    bpp_estimate=float(np.mean(estimates / pixels)),
                    bpp_network_input=float(payload.mean() / self.input_pixels),
                    payload_over_estimate=float(payload.sum() / max(estimates.sum(), 1e-9)),
                    payload_minus_estimate_bits=float(np.mean(payload - estimates)))
