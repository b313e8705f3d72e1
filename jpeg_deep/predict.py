"""Predict your own files with a trained experiment.

    from jpeg_deep.predict import Predictor

    predictor = Predictor.from_experiment("experiments/vgg16_dct_...", weights=None)
    records = predictor.predict(["photo.jpg", "holiday/", open("x.png", "rb").read()])

``weights`` default to the experiment's ``checkpoints/best.keras``. Sources are files, folders
(every image below them, recursively, sorted) or a file's bytes. JPEG files are read as they
are stored (their DCT coefficients; RGB networks decode them); other image formats Pillow reads
(PNG, BMP, TIFF, WebP, ...) are re-encoded to a quality-95 JPEG first, and the record says so.
The network sees what ``inference.py`` gives it for the test split: classifiers the full image,
detectors the image resized to their input size (boxes come back in the file's pixels).

Every record is a plain dict (JSON-ready), one per source file, in order:

* classification: ``{"source", "width", "height", "reencoded", "top": [{"class", "index",
  "probability"}, ...]}`` (the ``top`` best classes, best first; ``index`` is the class index);
* detection: ``{"source", "width", "height", "reencoded", "objects": [{"class", "index",
  "score", "box": [xmin, ymin, xmax, ymax]}, ...]}`` (objects scoring at least ``threshold``,
  best first, boxes in continuous pixels of the original image);
* a file that cannot be read: ``{"source", "error"}`` (logged and skipped, never a stop).

``jpeg-deep predict EXP [weights] PATH... [--output DIR] [--top K] [--threshold T]`` writes
these records as ``predictions.json`` (and, for classifiers, ``predictions.csv``; for detectors,
every image with its boxes drawn, under ``images/``).
"""
from __future__ import annotations

import importlib
import json
import logging
import pickle
from pathlib import Path

import numpy as np

from jpeg_deep.errors import ExportError

logger = logging.getLogger(__name__)

#: Suffixes a folder is searched for (case-insensitive); other files in it are left alone.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".tif", ".tiff", ".webp",
                  ".gif", ".ppm", ".pgm")
#: Quality of the JPEG a non-JPEG image is re-encoded to before it is read.
REENCODE_QUALITY = 95
#: Version of the export folder layout (``client.json``) that :meth:`Predictor.from_export`
#: reads; ``jpeg-deep export`` writes it.
CLIENT_VERSION = 1


def expand_sources(sources) -> list:
    """Files and bytes as given; folders replaced by the image files below them (sorted). A path
    that does not exist is kept: predicting it reports the error."""
    out = []
    for source in sources:
        if isinstance(source, (bytes, bytearray)):
            out.append(bytes(source))
            continue
        path = Path(source)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*")
                              if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            out.append(path)
    return out


def _is_jpeg(data: bytes) -> bool:
    return data[:3] == b"\xff\xd8\xff"


def _other_format_rgb(data: bytes, name: str) -> tuple[np.ndarray, str]:
    """``(rgb, format)`` of an image Pillow reads; an InvalidJPEGError otherwise."""
    import io

    from PIL import Image, UnidentifiedImageError

    from jpeg_deep.codec.readers import InvalidJPEGError

    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB")), im.format
    except UnidentifiedImageError:
        raise InvalidJPEGError(name, "neither a JPEG nor an image format Pillow reads"
                               ) from None
    except (OSError, ValueError) as err:  # a truncated PNG...
        raise InvalidJPEGError(name, f"not a JPEG, and Pillow cannot decode it ({err})"
                               ) from None


def as_jpeg(data: bytes, name: str) -> tuple[bytes, bool]:
    """``(jpeg bytes, re-encoded)``: a JPEG as it is; another image format Pillow reads,
    decoded and re-encoded at :data:`REENCODE_QUALITY` (4:2:0); an InvalidJPEGError otherwise."""
    if _is_jpeg(data):
        return data, False
    from jpeg_deep.codec.jpeg import encode_jpeg

    rgb, kind = _other_format_rgb(data, name)
    logger.info("%s: a %s image, not a JPEG: re-encoded as a quality-%d JPEG first", name, kind,
                REENCODE_QUALITY)
    return encode_jpeg(rgb, REENCODE_QUALITY), True


#: Modules of exports made before the package's layout changed: old -> new (by class name
#: where one old module went to several).
_MOVED_MODULES = {
    "jpeg_deep.data.pipeline": "jpeg_deep.data.loader",
    "jpeg_deep.data.augmentation": "jpeg_deep.data.transforms.classification",
    "jpeg_deep.data.dct_transforms": "jpeg_deep.data.transforms.classification_dct",
    "jpeg_deep.data.dct_detection": "jpeg_deep.data.transforms.ssd_dct",
    "jpeg_deep.data.layout": "jpeg_deep.data.transforms.layout",
    "jpeg_deep.data.readers": "jpeg_deep.codec.readers",
    "jpeg_deep.distortions": "jpeg_deep.codec.distortions",
    "jpeg_deep.tasks.detection.anchors": "jpeg_deep.networks.anchors",
    "jpeg_deep.dct": ("jpeg_deep.dct.ops", "jpeg_deep.dct.banded", "jpeg_deep.dct.axis",
                      "jpeg_deep.dct.basis"),
    "jpeg_deep.data.detection": ("jpeg_deep.data.transforms.ssd", "jpeg_deep.data.datasets"),
}


class _ExportUnpickler(pickle.Unpickler):
    """Reads an export's ``input_side.pkl``, also one written before a module it names moved."""

    def find_class(self, module, name):
        moved = _MOVED_MODULES.get(module)
        for candidate in (moved if isinstance(moved, tuple) else (moved,)) if moved else ():
            target = importlib.import_module(candidate)
            if hasattr(target, name):
                return getattr(target, name)
        return super().find_class(module, name)


class Predictor:
    """A trained network's forward pass, its classes and its test-time input side.

    ``forward(inputs) -> array``: the network on a batch, called as Keras' ``predict_on_batch``
    (an array for a one-input network, else a list in the network's input order); ``loader``:
    the test split's :class:`~jpeg_deep.data.loader.SampleLoader` (bytes -> network inputs);
    detectors also take ``options`` (decoding and NMS thresholds) and ``anchors``; ``model``:
    the Keras model behind ``forward``, when there is one (not for an export)."""

    def __init__(self, kind, forward, class_names, loader, *, options=None, anchors=None,
                 weights=None, model=None):
        self.kind = kind
        self.model = model
        self.forward = forward
        self.class_names = tuple(class_names)
        self.loader = loader
        self.options = options
        self.anchors = anchors
        self.weights = weights

    @classmethod
    def from_experiment(cls, experiment, weights=None) -> "Predictor":
        """The predictor of an experiment folder written by ``training.py``, with ``weights``
        (default: its ``checkpoints/best.keras``). The classes come from its ``summary.json``:
        the dataset need not be on this machine."""
        from jpeg_deep.errors import ConfigError
        from jpeg_deep.engine.experiment import open_experiment
        from jpeg_deep.networks.weights import load_weights

        exp, task, weights = open_experiment(experiment, weights)
        if task.config.split is not None:  # its network is not the uncut one the file names
            raise ConfigError(f"{exp.root}: a split-computing experiment runs in two halves: "
                              "jpeg-deep split encode (the device) and jpeg-deep split "
                              "predict (the server)")
        classes = exp.classes()
        model = task.build(classes, inference=True)
        load_weights(model, weights, strict=True)  # a WeightsError naming the file otherwise
        options = anchors = None
        if task.name == "detection":
            from jpeg_deep.networks.ssd import anchors_for

            options, anchors = task.options, anchors_for(model)
        return cls(task.name, keras_forward(model), list(classes.class_names),
                   task.loader("test", inference=True),
                   options=options, anchors=anchors, weights=weights, model=model)

    @classmethod
    def from_export(cls, folder) -> "Predictor":
        """The predictor of a model exported by ``jpeg-deep export`` (a SavedModel or a LiteRT
        file, run by TensorFlow or by LiteRT's interpreter): the client of an export (its
        files: :mod:`jpeg_deep.export`)."""
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
            loader = _ExportUnpickler(f).load()  # an export made by jpeg-deep export
        names = client["inputs"]
        if client["format"] == "savedmodel":
            forward = _savedmodel_forward(folder / "model", names)
        else:
            forward = _litert_forward(folder / "model.tflite", names)
        anchors = None
        if client["task"] == "detection":
            from jpeg_deep.networks.anchors import Anchors

            with np.load(folder / "anchors.npz") as a:
                anchors = Anchors(a["boxes"], a["variances"],
                                  tuple(int(v) for v in a["image_size"]))
        return cls(client["task"], forward, client["classes"], loader,
                   options=client["options"], anchors=anchors, weights=client["weights"])

    def predict(self, sources, *, top: int = 5, threshold: float = 0.5, batch_size: int = 8,
                progress: bool = False) -> list:
        """One record per source file (see the module docstring), in order."""
        from tqdm.auto import tqdm

        from jpeg_deep.codec.readers import InvalidJPEGError, inspect_jpeg

        items = expand_sources(sources)
        records, pending = [], []
        with tqdm(total=len(items), desc="predict", unit="img", disable=not progress) as bar:
            for k, source in enumerate(items):
                name = f"<bytes {k}>" if isinstance(source, bytes) else str(source)
                try:
                    data = source if isinstance(source, bytes) else Path(source).read_bytes()
                    data, reencoded = as_jpeg(data, name)
                    info = inspect_jpeg(data, name)
                    inputs = self.loader(data)
                except (InvalidJPEGError, OSError) as err:
                    reason = err.reason if isinstance(err, InvalidJPEGError) else (
                        err.strerror or str(err))
                    logger.warning("skipping %s: %s", name, reason)
                    records.append({"source": name, "error": reason})
                    bar.update()
                    continue
                record = {"source": name, "width": info.width, "height": info.height,
                          "reencoded": reencoded}
                records.append(record)
                if self.kind == "classification":
                    self._classify(record, inputs, top)
                else:
                    pending.append((record, inputs))
                    if len(pending) == batch_size:
                        self._detect(pending, threshold)
                bar.update()
            self._detect(pending, threshold)
        return records

    def _classify(self, record, inputs, top):
        batch = [x[None] for x in inputs]
        p = np.asarray(self.forward(batch[0] if len(batch) == 1 else batch))[0]
        best = np.argsort(-p)[:max(1, top)]
        record["top"] = [{"class": self.class_names[i], "index": int(i),
                          "probability": float(p[i])} for i in best]

    def _detect(self, pending, threshold):
        from jpeg_deep.tasks.detection.task import detect_batch

        if not pending:
            return
        found = detect_batch(self.forward, [x for _, x in pending],
                             [(r["width"], r["height"]) for r, _ in pending], self.anchors,
                             self.options)
        for (record, _), det in zip(pending, found):
            keep = det["scores"] >= threshold
            record["objects"] = [
                {"class": self.class_names[label - 1], "index": int(label),
                 "score": float(score), "box": [float(v) for v in box]}
                for box, label, score in zip(det["boxes"][keep], det["labels"][keep],
                                             det["scores"][keep])]
        pending.clear()


def keras_forward(model):
    """``forward(inputs)`` of a Keras model: its ``predict_on_batch``."""
    return model.predict_on_batch


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




# --------------------------------------------------------------------------------------------
# Files written by ``jpeg-deep predict``


def write_predictions(records, output: Path, predictor: Predictor) -> list:
    """Write ``predictions.json`` (every record), ``predictions.csv`` (classifiers: the top
    classes per file) or ``images/<name>.png`` (detectors: the boxes drawn on each source file,
    decoded as it is; records of bytes have no file to draw on); returns the paths written."""
    output.mkdir(parents=True, exist_ok=True)
    written = [output / "predictions.json"]
    written[0].write_text(json.dumps(records, indent=1))
    if predictor.kind == "classification":
        import csv

        with open(output / "predictions.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["source", "class", "probability", "top"])
            for r in records:
                if "error" in r:
                    writer.writerow([r["source"], "", "", f"error: {r['error']}"])
                    continue
                writer.writerow([r["source"], r["top"][0]["class"],
                                 f"{r['top'][0]['probability']:.6f}",
                                 " ".join(f"{t['class']}:{t['probability']:.4f}"
                                          for t in r["top"])])
        written.append(output / "predictions.csv")
        return written
    from PIL import Image

    from jpeg_deep.codec.jpeg import decode_rgb
    from jpeg_deep.plot import PREDICTED, draw

    folder = output / "images"
    folder.mkdir(exist_ok=True)
    used = set()
    for k, r in enumerate(records):
        if "error" in r or r["source"].startswith("<bytes"):
            continue
        data = Path(r["source"]).read_bytes()
        rgb = (decode_rgb(data, r["source"]) if _is_jpeg(data)
               else _other_format_rgb(data, r["source"])[0])
        objects = r["objects"]
        rgb = draw(rgb, [o["box"] for o in objects], [o["index"] for o in objects],
                   predictor.class_names, PREDICTED, [o["score"] for o in objects])
        stem = Path(r["source"]).stem
        name = stem if stem not in used else f"{stem}_{k}"
        used.add(name)
        Image.fromarray(rgb).save(folder / f"{name}.png")
    written.append(folder)
    return written
