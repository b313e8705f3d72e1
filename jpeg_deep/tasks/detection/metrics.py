"""Detection metrics: Pascal VOC AP as the devkit computes it, COCO metrics through
pycocotools' ``COCOeval``, and the conversions between the two formats.

Ground truth and detections are mappings ``image_id -> dict`` of numpy arrays:

* ground truth: ``boxes`` (K, 4) ``(xmin, ymin, xmax, ymax)`` pixels, ``labels`` (K,) ints
  ``1..C`` (0 is background and never appears), optional ``difficult`` (K,) bools;
* detections: ``boxes`` (D, 4), ``labels`` (D,), ``scores`` (D,).
"""
from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping, Sequence

import numpy as np


def voc_iou(box, gt_boxes, pixel_offset: float = 1.0):
    """IoU of one box with each of ``gt_boxes`` (K, 4), with the devkit's inclusive pixel
    convention: widths are ``xmax - xmin + pixel_offset`` (1 in the devkit; 0 for continuous
    coordinates). Non-overlapping pairs give 0."""
    gt = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
    iw = np.minimum(box[2], gt[:, 2]) - np.maximum(box[0], gt[:, 0]) + pixel_offset
    ih = np.minimum(box[3], gt[:, 3]) - np.maximum(box[1], gt[:, 1]) + pixel_offset
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    area = (box[2] - box[0] + pixel_offset) * (box[3] - box[1] + pixel_offset)
    gt_area = (gt[:, 2] - gt[:, 0] + pixel_offset) * (gt[:, 3] - gt[:, 1] + pixel_offset)
    return inter / (area + gt_area - inter)


def ap_11point(recall, precision) -> float:
    """VOC2007 rule: mean over t = 0, 0.1, ..., 1 of the best precision at recall >= t (0 if
    that recall is never reached)."""
    recall, precision = np.asarray(recall), np.asarray(precision)
    total = 0.0
    for t in np.linspace(0.0, 1.0, 11):
        reached = precision[recall >= t]
        total += float(reached.max()) if reached.size else 0.0
    return total / 11.0


def ap_area(recall, precision) -> float:
    """VOC2010+ rule: area under the precision envelope (precision made non-increasing from the
    right), over every recall step, with the curve extended to recall 0 and 1."""
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[steps] - mrec[steps - 1]) * mpre[steps]))


def voc_precision_recall(ground_truth: Mapping, detections: Mapping, label: int,
                         iou_threshold: float = 0.5, pixel_offset: float = 1.0):
    """Precision and recall of class ``label`` after each detection, as the VOC devkit
    (``VOCevaldet``): detections of every image sorted by score, descending, ties keeping the
    input order (images in mapping order, then rows); each is compared with the ground truth of
    its image and class; its best-IoU ground truth (first one on ties) decides:

    * IoU < ``iou_threshold`` (0.5): false positive;
    * the ground truth is difficult: ignored (neither true nor false positive);
    * the ground truth is not yet matched: true positive, and it is now matched;
    * it is already matched (a duplicate): false positive.

    Recall is over the non-difficult ground truths. Returns ``(recall, precision, n_pos)``.
    """
    gt_by_image, n_pos = {}, 0
    for image_id, gt in ground_truth.items():
        mask = np.asarray(gt["labels"]).reshape(-1) == label
        boxes = np.asarray(gt["boxes"], np.float64).reshape(-1, 4)[mask]
        difficult = np.asarray(gt.get("difficult", np.zeros(mask.shape, bool)), bool)
        difficult = difficult.reshape(-1)[mask]
        gt_by_image[image_id] = (boxes, difficult, np.zeros(len(boxes), bool))
        n_pos += int((~difficult).sum())
    rows = []
    for image_id, det in detections.items():
        if image_id not in gt_by_image:
            raise KeyError(f"detections for image {image_id!r}, which has no ground truth entry")
        mask = np.asarray(det["labels"]).reshape(-1) == label
        boxes = np.asarray(det["boxes"], np.float64).reshape(-1, 4)[mask]
        for score, box in zip(np.asarray(det["scores"], np.float64).reshape(-1)[mask], boxes):
            rows.append((score, image_id, box))
    order = np.argsort(-np.array([r[0] for r in rows]), kind="stable")
    tp = np.zeros(len(rows))
    fp = np.zeros(len(rows))
    for d, i in enumerate(order):
        _, image_id, box = rows[i]
        gt_boxes, difficult, matched = gt_by_image[image_id]
        if len(gt_boxes) == 0:
            fp[d] = 1
            continue
        iou = voc_iou(box, gt_boxes, pixel_offset)
        j = int(np.argmax(iou))
        if iou[j] < iou_threshold:
            fp[d] = 1
        elif difficult[j]:
            continue
        elif not matched[j]:
            tp[d] = 1
            matched[j] = True
        else:
            fp[d] = 1
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    recall = tp / n_pos if n_pos else np.full(len(tp), np.nan)
    precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return recall, precision, n_pos


def voc_evaluate(ground_truth: Mapping, detections: Mapping, class_names: Sequence[str],
                 iou_threshold: float = 0.5, pixel_offset: float = 1.0) -> dict:
    """Per-class AP and mAP with both VOC rules. Labels ``1..len(class_names)`` name
    ``class_names[label-1]``. Returns ``{"map_11point", "map_area", "ap_11point": {name: ap},
    "ap_area": {name: ap}}`` as fractions. A class without non-difficult ground truth has AP
    NaN and is left out of the means.

    The devkit's rules: IoU >= 0.5 with its +1-pixel convention (``pixel_offset=1``; pass 0 for
    continuous coordinates), difficult ground truths ignored on both sides, duplicates false
    positives (see :func:`voc_precision_recall`), :func:`ap_11point` and :func:`ap_area`.
    """
    result = {"ap_11point": {}, "ap_area": {}}
    for label, name in enumerate(class_names, start=1):
        recall, precision, n_pos = voc_precision_recall(
            ground_truth, detections, label, iou_threshold, pixel_offset)
        result["ap_11point"][name] = ap_11point(recall, precision) if n_pos else float("nan")
        result["ap_area"][name] = ap_area(recall, precision) if n_pos else float("nan")
    for rule in ("11point", "area"):
        aps = [v for v in result[f"ap_{rule}"].values() if not np.isnan(v)]
        result[f"map_{rule}"] = float(np.mean(aps)) if aps else float("nan")
    return result


# --------------------------------------------------------------------------- COCO

COCO_STATS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm",
              "ARl")


def coco_image_id(image_id) -> int:
    """COCO needs integer image ids: ints stay; digit strings, with underscores removed
    (VOC's ``000005``, ``2008_000002``), become ints (5, 2008000002)."""
    if isinstance(image_id, (int, np.integer)):
        return int(image_id)
    digits = str(image_id).replace("_", "")
    if not digits.isdigit():
        raise ValueError(f"image id {image_id!r} cannot become a COCO integer id")
    return int(digits)


def _category_id(label, category_ids):
    return int(label) if category_ids is None else int(category_ids[int(label) - 1])


def voc_to_coco(ground_truth: Mapping, class_names: Sequence[str],
                category_ids: Sequence[int] | None = None,
                image_sizes: Mapping | None = None) -> dict:
    """COCO-format ground truth ``{"images", "annotations", "categories"}`` from the
    ground-truth mapping. Category of label ``l`` (1-based, contiguous): ``l``, or
    ``category_ids[l-1]`` (e.g. the original COCO ids). Image ids through
    :func:`coco_image_id`; ``image_sizes`` (``image_id -> (width, height)``) fills the images'
    width / height when given. Boxes become ``[x, y, w, h] = [xmin, ymin, xmax-xmin,
    ymax-ymin]`` (coordinates as given, no +1), ``area = w*h``.

    Difficult boxes become ``iscrowd = 1``: ``COCOeval`` does not count them as positives and a
    detection matched to them is neither true nor false positive (pycocotools overwrites an
    ``ignore`` field from ``iscrowd``, so ``iscrowd`` is the flag it honours). Unlike VOC, a
    crowd box's IoU is its intersection over the detection's area, and it can absorb several
    detections.
    """
    images, annotations, seen = [], [], {}
    for image_id, gt in ground_truth.items():
        cid = coco_image_id(image_id)
        if cid in seen:
            raise ValueError(f"image ids {seen[cid]!r} and {image_id!r} give the same COCO id")
        seen[cid] = image_id
        image = {"id": cid, "file_name": str(image_id)}
        if image_sizes is not None:
            image["width"], image["height"] = (int(v) for v in image_sizes[image_id])
        images.append(image)
        boxes = np.asarray(gt["boxes"], np.float64).reshape(-1, 4)
        labels = np.asarray(gt["labels"]).reshape(-1)
        difficult = np.asarray(gt.get("difficult", np.zeros(len(labels), bool)), bool)
        for box, label, diff in zip(boxes, labels, difficult.reshape(-1)):
            w, h = box[2] - box[0], box[3] - box[1]
            annotations.append({
                "id": len(annotations) + 1, "image_id": cid,
                "category_id": _category_id(label, category_ids),
                "bbox": [float(box[0]), float(box[1]), float(w), float(h)],
                "area": float(w * h), "iscrowd": int(diff)})
    categories = [{"id": _category_id(label, category_ids), "name": name}
                  for label, name in enumerate(class_names, start=1)]
    return {"images": images, "annotations": annotations, "categories": categories}


def detections_to_coco(detections: Mapping, category_ids: Sequence[int] | None = None) -> list:
    """COCO results list (``image_id``, ``category_id``, ``bbox`` ``[x, y, w, h]``, ``score``)
    from the detections mapping, with the same id rules as :func:`voc_to_coco`."""
    results = []
    for image_id, det in detections.items():
        cid = coco_image_id(image_id)
        boxes = np.asarray(det["boxes"], np.float64).reshape(-1, 4)
        for box, label, score in zip(boxes, np.asarray(det["labels"]).reshape(-1),
                                     np.asarray(det["scores"], np.float64).reshape(-1)):
            results.append({"image_id": cid, "category_id": _category_id(label, category_ids),
                            "bbox": [float(box[0]), float(box[1]), float(box[2] - box[0]),
                                     float(box[3] - box[1])],
                            "score": float(score)})
    return results


def coco_evaluate(coco_ground_truth: dict, coco_detections: list) -> dict:
    """pycocotools ``COCOeval(..., "bbox")`` on in-memory COCO-format ground truth and results,
    over every ground-truth image. Returns its 12 numbers as fractions: ``AP`` (IoU .50:.95),
    ``AP50``, ``AP75``, ``APs``, ``APm``, ``APl``, ``AR1``, ``AR10``, ``AR100``, ``ARs``, ``ARm``,
    ``ARl``; pycocotools gives -1 where a number is undefined (no ground truth in that range)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"info": {}, **coco_ground_truth}
        gt.createIndex()
        if coco_detections:
            dt = gt.loadRes([dict(d) for d in coco_detections])
        else:
            dt = COCO()
            dt.dataset = {"images": list(coco_ground_truth["images"]), "annotations": [],
                          "categories": list(coco_ground_truth["categories"])}
            dt.createIndex()
        evaluator = COCOeval(gt, dt, "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: float(v) for name, v in zip(COCO_STATS, evaluator.stats)}
