"""Detection: SSD on Pascal VOC devkits or MS-COCO, boxes carried through the SSD transforms,
anchor targets, the multibox loss, VOC and COCO mAP.

Config settings read here (defaults in :data:`DETECTION_DEFAULTS` and
:data:`DATA_FORMATS`):

``data``        the dataset: ``dict(format="voc", root=<VOCdevkit>, protocol="07+12",
                held_out=True)`` or ``dict(format="coco", root=<COCO root>,
                train=("annotations/instances_train2017.json", "train2017"), val=(...), test=(...))``;
                both take ``on_error`` (``"stop"``: report every broken file, then exit;
                ``"skip"``: report them and train without them) and ``verify`` (entropy-decode
                every image at scan time)
``detection``   thresholds and options: ``confidence_threshold`` 0.01, ``iou_threshold`` 0.45,
                ``max_per_class`` 400, ``max_detections`` 200 (decoding and NMS), ``neg_pos_ratio``
                3, ``n_neg_min`` 0, ``alpha`` 1 (loss), ``pos_iou_threshold`` 0.5,
                ``neg_iou_limit`` 0.5 (matching), ``map_every`` (validation mAP every N epochs, 0:
                never) and ``map_images`` (validation images it uses, None: all)
``transforms``  ``quality`` (JPEG re-encoding, 75), ``mean`` (zoom-out fill), ``max_expand``,
                ``min_box_size``; the network input side is ``input_size``
``augmentation`` None (the default: ``"dct"`` for DCT networks, ``"rgb"`` for RGB ones),
                ``"dct"`` (the SSD chain on the coefficients,
                :mod:`jpeg_deep.data.transforms.ssd_dct`; DCT networks only) or ``"rgb"``
                (the same chain on decoded pixels, re-encoded as JPEG and read back)

Files written by :meth:`DetectionTask.predict` (``<tag>`` = ``<split>_<weights>``):

``predictions/<tag>.coco.json``          COCO results: ``image_id``, ``category_id`` (COCO's own
                                         ids for COCO data), ``bbox`` ``[x, y, w, h]`` in original
                                         image pixels, ``score``
``predictions/<tag>_voc/comp4_det_<split>_<class>.txt``   VOC data: the devkit's files, lines
                                         ``image_id score xmin ymin xmax ymax`` (1-based pixels)
``predictions/<split>_groundtruth.coco.json``   VOC data: the XML ground truth in COCO format
                                         (difficult boxes as ``iscrowd`` 1), to re-score the
                                         results with pycocotools

:meth:`DetectionTask.evaluate` writes ``evaluation/<tag>.json``: ``{"task": "detection",
"images": N, "voc": {"map_11point", "map_area", "ap_11point": {class: AP}, "ap_area": {...}},
"coco": {"AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100"}}`` (fractions).
"""
from __future__ import annotations

import functools
import json
import logging
from dataclasses import fields
from pathlib import Path

import numpy as np

from jpeg_deep.errors import ConfigError
from jpeg_deep.tasks.base import (DATA_CHECKS, Evaluator, Inference, Predictions, Task,
                                  check_data_checks, weights_tag)

logger = logging.getLogger(__name__)

DETECTION_DEFAULTS = dict(
    confidence_threshold=0.01, iou_threshold=0.45, max_per_class=400, max_detections=200,
    neg_pos_ratio=3.0, n_neg_min=0, alpha=1.0, pos_iou_threshold=0.5, neg_iou_limit=0.5,
    map_every=1, map_images=None,
)
DATA_FORMATS = {
    "voc": dict(root=None, protocol="07+12", held_out=True, class_names=None, **DATA_CHECKS),
    "coco": dict(root=None, train=("annotations/instances_train2017.json", "train2017"),
                 val=("annotations/instances_val2017.json", "val2017"),
                 test=("annotations/instances_val2017.json", "val2017"), **DATA_CHECKS),
}


class DetectionSampleTransform:
    """The SSD transform as the pipeline calls a task's transform:
    ``(rgb, sample, seed) -> (rgb, (boxes, labels))`` in network-input pixels; without a sample
    (inference) only the image is transformed. It works on decoded pixels (``domain``)."""

    domain = "rgb"

    def __init__(self, split, config):
        from jpeg_deep.data.transforms.ssd import make_detection_transform

        self.transform = make_detection_transform(split, config)

    def __call__(self, rgb, sample, seed=None):
        if sample is None:
            boxes, labels = np.zeros((0, 4), np.float32), np.zeros(0, np.int32)
        else:
            boxes, labels = sample.boxes, sample.labels
        rgb, boxes, labels = self.transform(rgb, boxes, labels, seed)
        return rgb, (boxes, labels)


class DetectionDCTSampleTransform:
    """The SSD transform in the DCT domain (``augmentation = "dct"``; no decode, no re-encode):
    ``(coefficients, sample, seed, size) -> (coefficients, (boxes, labels))`` with
    ``coefficients`` the reader's ``(y, cb, cr)`` and ``size`` the image's ``(height, width)``;
    see :mod:`jpeg_deep.data.transforms.ssd_dct`."""

    domain = "dct"

    def __init__(self, split, config):
        from jpeg_deep.data.transforms.ssd_dct import make_detection_dct_transform

        self.transform = make_detection_dct_transform(split, config)

    def __call__(self, coefficients, sample, seed=None, size=None):
        if sample is None:
            boxes, labels = np.zeros((0, 4), np.float32), np.zeros(0, np.int32)
        else:
            boxes, labels = sample.boxes, sample.labels
        y, cb, cr, boxes, labels = self.transform(*coefficients, boxes, labels, seed, size)
        return (y, cb, cr), (boxes, labels)


def encode_sample(target, anchors, n_classes, pos_iou_threshold, neg_iou_limit):
    """The detection encoder: ``(boxes, labels)`` -> ``(N anchors, C + 4)`` SSD targets."""
    from jpeg_deep.tasks.detection.targets import encode_targets

    boxes, labels = target
    return encode_targets(boxes, labels, anchors, n_classes, pos_iou_threshold, neg_iou_limit)


def ground_truth(samples) -> dict:
    """``image_id -> {boxes, labels, difficult}`` (original pixels) of detection samples."""
    return {s.image_id: {"boxes": s.boxes, "labels": s.labels, "difficult": s.difficult}
            for s in samples}


def detect(forward, samples, loader, anchors, options: dict, *, batch_size=8, workers=1,
           progress=True) -> dict:
    """Detections ``image_id -> {boxes, labels, scores}`` in original image pixels (clipped to
    the image) of ``samples``: ``forward(inputs) -> (B, N, C + 4)`` on batches of the loader's
    inputs (:func:`~jpeg_deep.data.loader.predict_files`), decoded and NMS'd with
    ``options``' thresholds. Unreadable files are left out (logged)."""
    from jpeg_deep.data.loader import predict_files

    out = {}
    for indices, y_pred in predict_files(forward, loader, [s.path for s in samples],
                                         batch_size=batch_size, workers=workers,
                                         progress=progress):
        batch = [samples[i] for i in indices]
        found = decode_batch(y_pred, [(s.width, s.height) for s in batch], anchors, options)
        for sample, det in zip(batch, found):
            out[sample.image_id] = det
    return out


def detect_batch(forward, inputs, sizes, anchors, options: dict) -> list:
    """``{boxes, labels, scores}`` of each image of one batch: ``inputs`` the loader's inputs
    of each image, ``sizes`` their original ``(width, height)`` (:func:`decode_batch`)."""
    stacked = [np.stack(parts) for parts in zip(*inputs)]
    return decode_batch(forward(stacked[0] if len(stacked) == 1 else stacked), sizes, anchors,
                        options)


def decode_batch(y_pred, sizes, anchors, options: dict) -> list:
    """``{boxes, labels, scores}`` of each image of a batch of network outputs ``y_pred``,
    ``sizes`` the images' original ``(width, height)``; boxes in original pixels, clipped to
    the image, after decoding and NMS with ``options``' thresholds."""
    from jpeg_deep.tasks.detection.targets import decode_detections

    size = np.asarray(anchors.image_size, np.float64)   # (height, width) of the network input
    rows = np.asarray(decode_detections(
        y_pred, anchors, confidence_threshold=options["confidence_threshold"],
        iou_threshold=options["iou_threshold"], max_per_class=options["max_per_class"],
        max_detections=options["max_detections"]))
    out = []
    for (width, height), r in zip(sizes, rows):
        r = r[r[:, 1] > 0]
        scale = np.array([width / size[1], height / size[0]] * 2)
        boxes = np.clip(r[:, 2:6] * scale, 0, [width, height] * 2)
        out.append({"boxes": boxes.astype(np.float32), "labels": r[:, 0].astype(np.int32),
                    "scores": r[:, 1].astype(np.float32)})
    return out


def evenly_spaced(samples, limit):
    """At most ``limit`` of ``samples``, evenly spaced over the list (all when None)."""
    if limit is None or limit >= len(samples):
        return list(samples)
    step = len(samples) / limit
    return [samples[int(i * step)] for i in range(limit)]


def _validation_map_callback():
    import keras

    class ValidationMAP(keras.callbacks.Callback):
        """Adds ``val_map`` (VOC 11-point) and ``val_map_area`` to the epoch logs every
        ``every`` epochs (NaN on the others), for TensorBoard, the CSV log, checkpoints and the
        learning-rate callbacks (which must then monitor it every epoch: ``map_every=1``)."""

        def __init__(self, task, samples, class_names, every):
            super().__init__()
            self.task, self.samples, self.every = task, samples, every
            self.class_names = class_names

        def on_epoch_end(self, epoch, logs=None):
            if logs is None:
                return
            logs["val_map"] = logs["val_map_area"] = float("nan")
            if (epoch + 1) % self.every:
                return
            from jpeg_deep.networks.ssd import anchors_for
            from jpeg_deep.tasks.detection.metrics import voc_evaluate

            model = self.model
            detections = detect(lambda x: model(x, training=False), self.samples,
                                self.task.loader("val", inference=True), anchors_for(model),
                                self.task.options, batch_size=self.task.config.batch_size,
                                workers=self.task.config.workers, progress=False)
            scores = voc_evaluate(ground_truth(self.samples), detections, self.class_names,
                                  pixel_offset=0)
            logs["val_map"], logs["val_map_area"] = scores["map_11point"], scores["map_area"]
            print(f"\nvalidation mAP ({len(self.samples)} images): 11-point "
                  f"{scores['map_11point']:.4f}, area {scores['map_area']:.4f}")

    return ValidationMAP


class VOCMeanAP(Evaluator):
    """``voc``: Pascal VOC's per-class AP and mAP, 11-point and area (difficult boxes ignored)."""

    def __init__(self, class_names):
        self.class_names = list(class_names)
        self.truth, self.detections = {}, {}

    def process(self, predictions):
        self.truth.update(ground_truth(predictions.records["samples"]))
        self.detections.update(predictions.records["detections"])

    def evaluate(self):
        from jpeg_deep.tasks.detection.metrics import voc_evaluate

        return {"voc": voc_evaluate(self.truth, self.detections, self.class_names,
                                    pixel_offset=0)}


class COCOMeanAP(Evaluator):
    """``coco``: COCOeval's AP, AP50, AP75, APs / APm / APl, AR1 / AR10 / AR100 against the
    COCO-format ``truth``."""

    KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100")

    def __init__(self, truth: dict):
        self.truth, self.detections, self.category_ids = truth, {}, None

    def process(self, predictions):
        from jpeg_deep.data.datasets.coco import COCODataset

        dataset = predictions.dataset
        self.category_ids = dataset.category_ids if isinstance(dataset, COCODataset) else None
        self.detections.update(predictions.records["detections"])

    def evaluate(self):
        from jpeg_deep.tasks.detection.metrics import coco_evaluate, detections_to_coco

        coco = coco_evaluate(self.truth, detections_to_coco(self.detections, self.category_ids))
        return {"coco": {k: coco[k] for k in self.KEYS}}


class DetectionTask(Task):
    name = "detection"

    # -- config ---------------------------------------------------------------------------------
    @property
    def options(self) -> dict:
        return dict(DETECTION_DEFAULTS, **(self.config.detection or {}))

    @property
    def data(self) -> dict:
        data = dict(self.config.data or {})
        return dict(DATA_FORMATS.get(data.get("format"), {}), **data)

    def check(self, check_paths=True):
        from jpeg_deep.networks import spec

        config, where = self.config, self.config.path
        for attr in ("train_dir", "val_dir", "test_dir", "class_index"):
            if getattr(config, attr) is not None:
                raise ConfigError(f"{where}: {attr} is for classification; a detection config "
                                  "describes its dataset with data = dict(format=..., root=...)")
        for attr in ("network", "inference_network"):
            name = getattr(config, attr)
            if name is not None and spec(name).task != "detection":
                raise ConfigError(f"{where}: {attr} {name!r} is a {spec(name).task} network; "
                                  "a detection config needs a detector (e.g. ssd300_vgg16_dct)")
        if config.augmentation not in (None, "rgb", "dct"):
            raise ConfigError(f"{where}: augmentation must be 'rgb', 'dct' or None, not "
                              f"{config.augmentation!r}")
        for attr in ("network", "inference_network"):
            name = getattr(config, attr)
            if config.augmentation == "dct" and name is not None and spec(name).inputs == "rgb":
                raise ConfigError(f"{where}: augmentation 'dct' works on DCT coefficients; "
                                  f"{name!r} reads RGB (use augmentation = 'rgb')")
        data = config.data
        if not isinstance(data, dict) or data.get("format") not in DATA_FORMATS:
            raise ConfigError(f"{where}: data must be dict(format='voc' or 'coco', root=...), "
                              f"not {data!r}")
        allowed = set(DATA_FORMATS[data["format"]]) | {"format"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigError(f"{where}: data {', '.join(map(repr, unknown))} unknown for format "
                              f"{data['format']!r}; known: {', '.join(sorted(allowed))}")
        if not self.data["root"]:
            raise ConfigError(f"{where}: data root is not set; this config reads it from "
                              "$DATASET_PATH (export it, or --set \"data=dict(...)\")")
        if data["format"] == "voc":
            from jpeg_deep.data.datasets.voc import voc_splits

            try:
                voc_splits(self.data["protocol"])
            except ValueError as err:
                raise ConfigError(f"{where}: data protocol: {err}") from None
        check_data_checks(self.data, where)
        if check_paths and not Path(self.data["root"]).is_dir():
            raise ConfigError(f"{where}: data root {self.data['root']} does not exist")
        unknown = sorted(set(config.detection or {}) - set(DETECTION_DEFAULTS))
        if unknown:
            raise ConfigError(f"{where}: detection {', '.join(map(repr, unknown))} unknown; "
                              f"known: {', '.join(DETECTION_DEFAULTS)}")
        options = self.options
        if not (isinstance(options["map_every"], int) and options["map_every"] >= 0):
            raise ConfigError(f"{where}: detection map_every must be an integer >= 0 (0: no "
                              f"validation mAP), not {options['map_every']!r}")
        try:
            self.transform_config()
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{where}: transforms {config.transforms!r}: {err}") from None

    def transform_config(self):
        from jpeg_deep.data.transforms.ssd import DetectionTransformConfig

        settings = dict(self.config.transforms or {})
        known = {f.name for f in fields(DetectionTransformConfig)} - {"input_size"}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise TypeError(f"unknown detection transform setting(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(known))} (the size is input_size)")
        return DetectionTransformConfig(input_size=self.config.input_size, **settings)

    # -- data -----------------------------------------------------------------------------------
    def dataset(self, split, *, training=False):
        data = self.data
        root = Path(data["root"]).expanduser()
        if data["format"] == "voc":
            from jpeg_deep.data.datasets.detection import VOC_CLASSES
            from jpeg_deep.data.datasets.voc import VOCDataset, voc_splits

            sets = voc_splits(data["protocol"], held_out=data["held_out"])[split]
            labelled = all((root / year / "Annotations").is_dir() for year, _ in sets)
            return VOCDataset.scan(root, tuple(sets), class_names=tuple(
                data["class_names"] or VOC_CLASSES), annotations=labelled,
                skip_empty=training, on_error=data["on_error"], verify=data["verify"])
        from jpeg_deep.data.datasets.coco import COCODataset

        annotations, images = data[split]
        return COCODataset.scan(root / annotations, root / images, skip_empty=training,
                                on_error=data["on_error"], verify=data["verify"])

    def loader(self, split, *, model=None, inference=False, distortion=None):
        from jpeg_deep.data.loader import SampleLoader
        from jpeg_deep.networks import spec

        encoder = None
        if model is not None:
            from jpeg_deep.networks.ssd import anchors_for

            options = self.options
            encoder = functools.partial(
                encode_sample, anchors=anchors_for(model), n_classes=self._classes(model),
                pos_iou_threshold=options["pos_iou_threshold"],
                neg_iou_limit=options["neg_iou_limit"])
        return SampleLoader(spec(self.network_name(inference)).inputs, split,
                            self.transform_config(), self.config.reader_backend,
                            transform_factory=self._factory(), encoder=encoder,
                            distortion=distortion)

    def _factory(self):
        """The SSD chain on pixels (``augmentation = "rgb"``: decode, transform, re-encode at
        ``transforms["quality"]``, read) or on the coefficients (``"dct"``)."""
        return (DetectionDCTSampleTransform if self.augmentation() == "dct"
                else DetectionSampleTransform)

    @staticmethod
    def _classes(model) -> int:
        return int(model.output.shape[-1]) - 4

    # -- model ----------------------------------------------------------------------------------
    def _build(self, name, dataset, inference):
        from jpeg_deep.networks import build

        return build(name, classes=dataset.num_classes + 1, input_size=self.config.input_size,
                     **self.config.network_args)

    def initialise(self, model):
        """``weights`` by layer name, then ``backbone_weights``: a classifier's weights into the
        backbone, every backbone layer loading or a WeightsError naming the file and the layers
        (a VGG classifier's dense fc1 / fc2 become fc6 / fc7 on the way)."""
        super().initialise(model)
        if self.config.backbone_weights:
            from jpeg_deep.networks.ssd import init_from_classifier

            report = init_from_classifier(model, self.config.backbone_weights)
            print(f"backbone weights {self.config.backbone_weights}: {report}")

    def compile_arguments(self, dataset):
        from jpeg_deep.tasks.detection.loss import MultiboxLoss

        options = self.options
        return dict(loss=MultiboxLoss(neg_pos_ratio=options["neg_pos_ratio"],
                                      n_neg_min=options["n_neg_min"], alpha=options["alpha"]),
                    metrics=None)

    def callbacks(self, model, val_dataset):
        every = self.options["map_every"]
        if not every:
            return []
        samples = evenly_spaced(val_dataset.samples, self.options["map_images"])
        return [_validation_map_callback()(self, samples, val_dataset.class_names, every)]

    def summary(self, dataset):
        return dict(classes=list(dataset.class_names), skipped=dataset.skipped)

    # -- outputs --------------------------------------------------------------------------------
    def detections(self, weights, split="test", *, workers=None, limit=None, distortion=None,
                   inference=None):
        """Detect the images of ``split`` (at most ``limit``, evenly spaced) with ``weights``
        (``inference``: how, default :class:`~jpeg_deep.tasks.base.Inference`):
        ``(samples, detections, dataset)``, detections in original image pixels."""
        from jpeg_deep.networks.ssd import anchors_for

        dataset = self.dataset(split)
        loaded = (inference or Inference(self)).load(dataset, weights, split, distortion)
        samples = evenly_spaced(dataset.samples, limit)
        detections = detect(loaded.forward, samples, loaded.loader, anchors_for(loaded.model),
                            self.options, batch_size=self.config.batch_size,
                            workers=self.config.workers if workers is None else workers)
        return samples, detections, dataset

    def predict(self, exp, weights, split="test", *, workers=None, limit=None,
                distortion=None, inference=None):
        """Detect every image of ``split`` (at most ``limit``, evenly spaced) and write the
        prediction files; returns ``(samples, detections, dataset)``."""
        from jpeg_deep.data.datasets.coco import COCODataset
        from jpeg_deep.data.datasets.detection import to_voc_pixels
        from jpeg_deep.tasks.detection.metrics import (coco_image_id, detections_to_coco,
                                                       voc_to_coco)

        samples, detections, dataset = self.detections(weights, split, workers=workers,
                                                       limit=limit, distortion=distortion,
                                                       inference=inference)
        out_dir = exp.predictions
        out_dir.mkdir(exist_ok=True)
        tag = weights_tag(split, weights, distortion)
        is_coco = isinstance(dataset, COCODataset)
        category_ids = dataset.category_ids if is_coco else None
        results = detections_to_coco(detections, category_ids)
        (out_dir / f"{tag}.coco.json").write_text(json.dumps(results))
        written = [out_dir / f"{tag}.coco.json"]
        if not is_coco:
            voc_dir = out_dir / f"{tag}_voc"
            voc_dir.mkdir(exist_ok=True)
            for label, name in enumerate(dataset.class_names, start=1):
                lines = []
                for image_id, det in detections.items():
                    for box, score in zip(to_voc_pixels(det["boxes"][det["labels"] == label]),
                                          det["scores"][det["labels"] == label]):
                        lines.append(f"{image_id} {score:.6f} " +
                                     " ".join(f"{v:.1f}" for v in box) + "\n")
                (voc_dir / f"comp4_det_{split}_{name}.txt").write_text("".join(lines))
            truth = voc_to_coco(ground_truth(samples), dataset.class_names,
                                image_sizes={s.image_id: (s.width, s.height) for s in samples})
            names = {coco_image_id(s.image_id): s.path.name for s in samples}
            for image in truth["images"]:
                image["file_name"] = names[image["id"]]
            (out_dir / f"{split}_groundtruth.coco.json").write_text(json.dumps(truth))
            written += [voc_dir, out_dir / f"{split}_groundtruth.coco.json"]
        print(f"detections of {len(detections)} images written to "
              + ", ".join(str(p) for p in written))
        return Predictions(dataset, dict(samples=samples, detections=detections),
                           counts={"images": len(detections)}, files=written, split=split)

    def coco_ground_truth(self, dataset, samples) -> dict:
        """COCO-format ground truth of ``samples``: COCO data from its annotation file (crowd
        boxes included, as COCOeval expects), VOC data from the XML (difficult as crowd)."""
        from jpeg_deep.data.datasets.coco import COCODataset
        from jpeg_deep.tasks.detection.metrics import coco_image_id, voc_to_coco

        if not isinstance(dataset, COCODataset):
            return voc_to_coco(ground_truth(samples), dataset.class_names,
                               image_sizes={s.image_id: (s.width, s.height) for s in samples})
        full = json.loads(Path(dataset.annotation_file).read_text())
        ids = {coco_image_id(s.image_id) for s in samples}
        annotations = []
        for a in full["annotations"]:
            if a["image_id"] in ids:
                a = dict(a)
                a["iscrowd"] = int(a.get("iscrowd", 0) or a.get("difficult", 0))
                a.setdefault("area", a["bbox"][2] * a["bbox"][3])
                annotations.append(a)
        return {"images": [i for i in full["images"] if i["id"] in ids],
                "annotations": annotations, "categories": full["categories"]}

    def evaluated_paths(self, split, limit=None):
        return [s.path for s in evenly_spaced(self.dataset(split).samples, limit)]

    def sweep_metrics(self, result):
        return {"map_11point": result["voc"]["map_11point"], "map_area": result["voc"]["map_area"],
                "AP": result["coco"]["AP"], "AP50": result["coco"]["AP50"]}

    def evaluators(self, predictions):
        samples = predictions.records["samples"]
        if not any(len(s.boxes) for s in samples):
            raise ConfigError(f"{self.config.path}: split {predictions.split!r} has no "
                              "annotations to evaluate against (submit the prediction files "
                              "instead)")
        return [VOCMeanAP(predictions.dataset.class_names),
                COCOMeanAP(self.coco_ground_truth(predictions.dataset, samples))]

    def report(self, result, predictions):
        names = predictions.dataset.class_names
        voc = result["voc"]
        width = max(len(n) for n in names) + 2
        lines = [f"\n{'class':<{width}}{'AP 11-point':>12}{'AP area':>10}"]
        lines += [f"{name:<{width}}{voc['ap_11point'][name]:>12.4f}{voc['ap_area'][name]:>10.4f}"
                  for name in names]
        lines.append(f"{'mAP':<{width}}{voc['map_11point']:>12.4f}{voc['map_area']:>10.4f}")
        lines.append("COCO: " + ", ".join(f"{k} {v:.4f}" for k, v in result["coco"].items()))
        return "\n".join(lines)
