"""Export a trained experiment for serving: a TensorFlow SavedModel or a LiteRT (``.tflite``)
model, and the client that feeds it from JPEG files.

    jpeg-deep export <experiment> [weights] --format savedmodel|litert [--output DIR]

writes, in ``--output`` (default ``<experiment>/export/<format>_<weights>/``):

``model/`` or ``model.tflite``
    the inference network (Keras' ``model.export``: a SavedModel whose ``serving_default``
    signature takes the network's inputs by name, ``y`` / ``cbcr`` (or ``y``, ``cb``, ``cr``;
    ``rgb`` for RGB networks) as float32 ``(batch, rows, cols, channels)``; the LiteRT file is
    TensorFlow's converter's output of the same, with the same signature). Classifiers output
    class probabilities; detectors the raw SSD output ``(batch, anchors, classes + 4)``
    (softmax scores, box offsets): decoding and NMS run in the client, in numpy, with the
    anchors stored beside the model.
``client.json``
    what the client needs: task, input names in order, class names, the detection thresholds.
``input_side.pkl``
    the test split's input side as jpeg_deep builds it (a pickled
    :class:`~jpeg_deep.data.pipeline.SampleLoader`: our reader, the layout, the resize of a
    detector); a pickle runs code when loaded: load only exports you made.
``anchors.npz``
    detectors: the anchor boxes, variances and input size.

The client is :meth:`jpeg_deep.predict.Predictor.from_export`: it reads files with our reader
and runs the SavedModel with TensorFlow or the ``.tflite`` file with LiteRT's interpreter
(``ai-edge-litert``), giving the same records as the Keras model.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

FORMATS = ("savedmodel", "litert")
CLIENT_VERSION = 1


class ExportError(ValueError):
    """An export that cannot be made or read (names the folder and the reason)."""


def export_experiment(experiment, weights=None, *, format="savedmodel", output=None) -> Path:
    """Export an experiment's inference network with ``weights`` (default: ``best.keras``);
    returns the export folder."""
    from jpeg_deep.predict import Predictor
    from jpeg_deep.tasks import weights_tag

    if format not in FORMATS:
        raise ExportError(f"format must be one of {FORMATS}, not {format!r}")
    predictor = Predictor.from_experiment(experiment, weights)
    model = predictor.model
    folder = Path(output) if output else (
        Path(experiment) / "export" / weights_tag(format, predictor.weights))
    folder.mkdir(parents=True, exist_ok=True)
    if format == "savedmodel":
        model.export(str(folder / "model"), format="tf_saved_model", verbose=False)
    else:
        model.export(str(folder / "model.tflite"), format="litert", verbose=False)
    client = {"version": CLIENT_VERSION, "format": format, "task": predictor.kind,
              "network": model.name, "inputs": [t.name for t in model.inputs],
              "classes": list(predictor.class_names), "options": predictor.options,
              "weights": str(predictor.weights)}
    (folder / "client.json").write_text(json.dumps(client, indent=1))
    with open(folder / "input_side.pkl", "wb") as f:
        pickle.dump(predictor.loader, f)
    if predictor.anchors is not None:
        a = predictor.anchors
        np.savez(folder / "anchors.npz", boxes=a.boxes, variances=a.variances,
                 image_size=np.asarray(a.image_size))
    return folder


def load_export(folder):
    """The :class:`~jpeg_deep.predict.Predictor` of an export folder (see the module
    docstring)."""
    from jpeg_deep.predict import Predictor

    folder = Path(folder)
    try:
        client = json.loads((folder / "client.json").read_text())
    except (OSError, ValueError) as err:
        raise ExportError(f"{folder}: not an export of jpeg-deep export (client.json: "
                          f"{err})") from None
    if client.get("version") != CLIENT_VERSION:
        raise ExportError(f"{folder}: export format version {client.get('version')}, this "
                          f"jpeg_deep reads version {CLIENT_VERSION}: export it again")
    with open(folder / "input_side.pkl", "rb") as f:
        loader = pickle.load(f)  # noqa: S301 - an export made by jpeg-deep export
    names = client["inputs"]
    if client["format"] == "savedmodel":
        forward = _savedmodel_forward(folder / "model", names)
    else:
        forward = _litert_forward(folder / "model.tflite", names)
    anchors = None
    if client["task"] == "detection":
        from jpeg_deep.tasks.detection.anchors import Anchors

        with np.load(folder / "anchors.npz") as a:
            anchors = Anchors(a["boxes"], a["variances"], tuple(int(v) for v in a["image_size"]))
    return Predictor(client["task"], forward, client["classes"], loader,
                     options=client["options"], anchors=anchors, weights=client["weights"])


def _inputs_by_name(inputs, names) -> dict:
    arrays = [inputs] if len(names) == 1 else list(inputs)
    return {name: np.asarray(x, np.float32) for name, x in zip(names, arrays)}


def _savedmodel_forward(path, names):
    import tensorflow as tf

    serve = tf.saved_model.load(str(path)).signatures["serving_default"]

    def forward(inputs):
        (out,) = serve(**{k: tf.constant(v) for k, v in _inputs_by_name(inputs, names).items()}
                       ).values()
        return out.numpy()

    return forward


def _litert_forward(path, names):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise ExportError(f"{path}: running a LiteRT model needs LiteRT's interpreter: pip "
                          "install ai-edge-litert") from None
    interpreter = Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner("serving_default")

    def forward(inputs):
        (out,) = runner(**_inputs_by_name(inputs, names)).values()
        return np.asarray(out)

    return forward
