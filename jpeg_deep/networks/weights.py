"""Weights transferred by layer name, with a report of what was and was not loaded.

Keras 3 loads ``.weights.h5`` files by layer order, not by name; the papers' workflows (ImageNet
weights into the stages a DCT network shares with ResNet50 / VGG16, a classifier into its fully
convolutional twin or into an SSD backbone) need by-name transfer. A variable is copied when the
layer names match and the shapes match, or when the layer is the fully convolutional twin of a
dense one: a dense kernel ``(inputs, units)`` becomes the convolution kernel
``(kh, kw, channels, units)`` with ``kh * kw * channels == inputs`` (and back). No other reshape is
made: two kernels of equal size but another layout are reported as skipped.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import numpy as np

from jpeg_deep.errors import WeightsError

logger = logging.getLogger(__name__)


@dataclass
class TransferReport:
    loaded: list = field(default_factory=list)      # layer names whose weights were all set
    skipped: dict = field(default_factory=dict)     # layer name -> reason
    missing: list = field(default_factory=list)     # destination layers absent from the source

    def __str__(self):
        lines = [f"loaded {len(self.loaded)} layers by name"]
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)}: " + ", ".join(
                f"{k} ({v})" for k, v in sorted(self.skipped.items())))
        if self.missing:
            lines.append(f"not in the source ({len(self.missing)}): " + ", ".join(self.missing))
        return "; ".join(lines)


def _fit(value: np.ndarray, shape) -> np.ndarray | None:
    shape = tuple(shape)
    if value.shape == shape:
        return value
    dense_to_conv = value.ndim == 2 and len(shape) == 4
    conv_to_dense = value.ndim == 4 and len(shape) == 2
    if ((dense_to_conv or conv_to_dense) and value.shape[-1] == shape[-1]
            and value.size == int(np.prod(shape))):
        return value.reshape(shape)  # dense kernel <-> convolution kernel, same units
    return None


def named_layers(model) -> list:
    """``model``'s layers, those of nested models (e.g. the network inside a stability-training
    model) in place of the nested model: the layers weights are matched by."""
    import keras

    out = []
    for layer in model.layers:
        out.extend(named_layers(layer) if isinstance(layer, keras.Model) else [layer])
    return out


def transfer_layer_weights(source: dict, model, *, strict=False) -> TransferReport:
    """Set ``model``'s weights from ``source``: ``{layer_name: [arrays in layer.weights order]}``."""
    report = TransferReport()
    for layer in named_layers(model):
        if not layer.weights:
            continue
        if layer.name not in source:
            report.missing.append(layer.name)
            continue
        values = source[layer.name]
        if len(values) != len(layer.weights):
            report.skipped[layer.name] = (
                f"{len(values)} arrays in the source, {len(layer.weights)} in the model")
            continue
        fitted = [_fit(np.asarray(v), w.shape) for v, w in zip(values, layer.weights)]
        bad = [(np.shape(v), tuple(w.shape)) for v, f, w in zip(values, fitted, layer.weights)
               if f is None]
        if bad:
            report.skipped[layer.name] = "shape " + ", ".join(f"{s}->{d}" for s, d in bad)
            continue
        layer.set_weights(fitted)
        report.loaded.append(layer.name)
    if strict and (report.skipped or report.missing):
        raise WeightsError(f"incomplete weight transfer into {model.name}: {report}")
    logger.debug("weights into %s: %s", model.name, report)
    return report


def model_layer_weights(model) -> dict:
    return {layer.name: [np.asarray(w) for w in layer.get_weights()]
            for layer in named_layers(model) if layer.weights}


def transfer_weights(source_model, model, *, strict=False) -> TransferReport:
    """Copy weights from one built model into another, layer by layer, by name."""
    return transfer_layer_weights(model_layer_weights(source_model), model, strict=strict)


def read_weight_file(path) -> dict:
    """``{layer_name: [arrays]}`` from a ``.keras`` model, a Keras 3 ``.weights.h5`` file or a
    legacy Keras 2 / keras.applications ``.h5`` weights file."""
    path = str(path)
    if not path.endswith((".keras", ".h5")):
        raise WeightsError(f"{path}: unsupported weights file (expected .keras, .weights.h5 "
                           "or .h5)")
    import os

    if not os.path.isfile(path):
        raise WeightsError(f"{path}: no such weights file")
    try:
        if path.endswith(".keras"):
            import keras

            return model_layer_weights(keras.models.load_model(path, compile=False))
        return _read_h5(path)
    except WeightsError:
        raise
    except Exception as err:  # zip / HDF5 / deserialisation errors of a damaged file
        raise WeightsError(f"{path}: cannot read weights ({type(err).__name__}: "
                           f"{str(err).splitlines()[0] if str(err) else ''})") from None


def _read_h5(path) -> dict:
    import h5py

    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        if "layer_names" in root.attrs:  # Keras 2 / keras.applications layout
            out = {}
            for raw in root.attrs["layer_names"]:
                name = raw.decode() if isinstance(raw, bytes) else str(raw)
                group = root[name]
                names = [n.decode() if isinstance(n, bytes) else str(n)
                         for n in group.attrs.get("weight_names", [])]
                if names:
                    out[name] = [np.asarray(group[n]) for n in names]
            return out
        if "layers" in root:  # Keras 3 .weights.h5
            return _read_keras3_h5(root["layers"])
    raise WeightsError(f"{path}: not a Keras weights file (no layer_names, no layers/ group)")


def _read_keras3_h5(layers_group) -> dict:
    """Keras 3 ``.weights.h5``: ``layers/<key>/vars/<i>``, where ``<key>`` is an object path
    built from class names (``conv2d_12``, nested models as ``functional/layers/dense``), not
    the layer name; Keras 3 stores the layer name in the ``name`` attribute of ``vars``."""
    import h5py

    out = {}

    def visit(group):
        for key, sub in group.items():
            if not isinstance(sub, h5py.Group) or key == "vars":
                continue
            variables = sub.get("vars")
            if isinstance(variables, h5py.Group) and len(variables):
                name = variables.attrs.get("name", key)
                name = name.decode() if isinstance(name, bytes) else str(name)
                out[name] = [np.asarray(variables[str(i)]) for i in range(len(variables))]
            visit(sub)

    visit(layers_group)
    return out


#: ``weights = "imagenet"`` (and ``backbone_weights``): keras.applications' ImageNet weights.
IMAGENET = "imagenet"

# keras.applications models whose layer names our networks reuse: a pattern of their weighted
# layer names, and the names of their top (classifier) layers, or of what SSD makes of them.
_APPLICATIONS = {
    "ResNet50": (re.compile(r"conv1_(conv|bn)|conv[2-5]_block\d+_[0-3]_(conv|bn)"),
                 {"predictions"}),
    "VGG16": (re.compile(r"block[1-5]_conv[1-3]"), {"fc1", "fc2", "fc6", "fc7", "predictions"}),
}


def imagenet_application(model) -> tuple[str, bool]:
    """``(name, include_top)``: the keras.applications model whose layer names ``model``
    shares (``"ResNet50"`` or ``"VGG16"``), and whether ``model`` has layers of its top (then
    the file with the top is fetched; otherwise the smaller one without)."""
    names = {layer.name for layer in named_layers(model) if layer.weights}
    shared = {app: sum(bool(pattern.fullmatch(n)) for n in names)
              for app, (pattern, _) in _APPLICATIONS.items()}
    app = max(shared, key=shared.get)
    if not shared[app]:
        raise WeightsError(
            f"weights = 'imagenet': {model.name} shares no layer name with keras.applications' "
            "ResNet50 (conv4_block1_1_conv...) or VGG16 (block1_conv1...), so no ImageNet "
            "weight would load; start it from a weights file or from scratch")
    return app, bool(names & _APPLICATIONS[app][1])


def read_imagenet_weights(model) -> dict:
    """``{layer: [arrays]}`` of the keras.applications model ``model`` shares names with
    (:func:`imagenet_application`), with its ImageNet weights: fetched by keras.applications
    itself on first use and cached in ``~/.keras/models/`` (``KERAS_HOME``)."""
    import keras

    app, include_top = imagenet_application(model)
    logger.info("weights = 'imagenet': keras.applications.%s(include_top=%s) (downloads its "
                "weights into ~/.keras/models/ the first time)", app, include_top)
    try:
        reference = getattr(keras.applications, app)(weights="imagenet",
                                                      include_top=include_top)
    except Exception as err:  # no network, a damaged cached file (hash mismatch)...
        raise WeightsError(
            f"weights = 'imagenet': keras.applications.{app} could not fetch or read its "
            f"ImageNet weights ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
            "); the first use downloads them into ~/.keras/models/ (KERAS_HOME): run once "
            "with network access, or copy the file there") from None
    weights = model_layer_weights(reference)
    del reference
    return weights


def load_weights(model, path, *, strict=False) -> TransferReport:
    """Load a weights file (or ``"imagenet"``: :func:`read_imagenet_weights`) into ``model`` by
    layer name and log what was and was not loaded; ``strict``: a :class:`WeightsError` naming
    the file unless every layer loaded."""
    source = read_imagenet_weights(model) if path == IMAGENET else read_weight_file(path)
    try:
        report = transfer_layer_weights(source, model, strict=strict)
    except WeightsError as err:
        raise WeightsError(f"{path} does not fit: {err}") from None
    incomplete = report.skipped or report.missing
    logger.log(logging.WARNING if incomplete else logging.INFO, "weights %s into %s: %s", path,
               model.name, report)
    return report


def load_backbone_weights(model, path, expected, *, source=None) -> TransferReport:
    """Load the layers named in ``expected`` (a detector's backbone layers) from a weights file
    by name; a :class:`WeightsError` naming the file and every expected layer that did not load
    (absent from the file, or of another shape). ``source``: the file's ``{layer: [arrays]}``
    when already read (or converted). Layers outside ``expected`` are left as they are.

    ``path = "imagenet"``: keras.applications' weights; a DCT backbone shares only part of its
    layers with ResNet50 / VGG16, so those load and the others are reported, not an error (at
    least one must load)."""
    imagenet = path == IMAGENET
    if source is None:
        source = read_imagenet_weights(model) if imagenet else read_weight_file(path)
    wanted = {name: source[name] for name in expected if name in source}
    report = transfer_layer_weights(wanted, model)
    failed = [n for n in expected if n not in report.loaded]
    if imagenet and report.loaded:
        logger.log(logging.WARNING if failed else logging.INFO,
                   "backbone weights imagenet into %s: %d layers loaded by name; %d backbone "
                   "layers not in keras.applications' model or of another shape, left as "
                   "initialised: %s", model.name, len(report.loaded), len(failed),
                   ", ".join(failed) or "none")
        return report
    if failed:
        reasons = ", ".join(f"{n} ({report.skipped.get(n, 'not in the file')})" for n in failed)
        raise WeightsError(f"{path}: {len(failed)} of {len(expected)} backbone layers of "
                           f"{model.name} did not load: {reasons}")
    logger.info("backbone weights %s into %s: %d layers loaded by name, %d others left as "
                "initialised", path, model.name, len(report.loaded),
                len(report.missing) + len(report.skipped))
    return report


def write_weight_file(weights: dict, path) -> None:
    """Write ``{layer: [arrays]}`` as a by-name ``.h5`` file (the keras.applications layout:
    ``layer_names`` attribute, one group per layer with ``weight_names``), atomically."""
    import os

    import h5py

    path = str(path)
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["layer_names"] = [n.encode() for n in weights]
        for name, arrays in weights.items():
            group = f.create_group(name)
            group.attrs["weight_names"] = [str(i).encode() for i in range(len(arrays))]
            for i, array in enumerate(arrays):
                group.create_dataset(str(i), data=np.asarray(array))
    os.replace(tmp, path)
