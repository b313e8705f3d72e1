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
    :class:`~jpeg_deep.data.loader.SampleLoader`: our reader, the layout, the resize of a
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

from jpeg_deep.engine.experiment import Experiment
from jpeg_deep.errors import ExportError
from jpeg_deep.predict import CLIENT_VERSION  # the client reads these files

FORMATS = ("savedmodel", "litert")
__all__ = ["FORMATS", "CLIENT_VERSION", "ExportError", "export_experiment"]


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
        Experiment(Path(experiment)).export / weights_tag(format, predictor.weights))
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
