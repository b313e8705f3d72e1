"""SSD targets: ground-truth boxes -> per-anchor training targets, and predictions -> boxes.

``y_true`` layout, per image ``(N, C + 4)`` float32, N anchors, C classes *including*
background at index 0 (VOC 21, COCO 81):

* ``[:, :C]`` one-hot class: ``[1, 0, ...]`` background; all zeros = neutral (ignored by the
  loss); a foreground class otherwise.
* ``[:, C:C+4]`` offsets ``(t_cx, t_cy, t_w, t_h)`` of the matched ground truth relative to the
  anchor, divided by the variances; zero for background and neutral anchors.

The model's output uses the same layout: ``[softmax over C | 4 predicted offsets]`` (the loss
ignores further columns; the decoder then needs ``n_classes``).

Encoding (:func:`encode_targets`) is numpy only: it runs in the data pipeline's forked worker
processes, where TensorFlow must not be called. Decoding (:func:`decode_detections`) is
TensorFlow and can run inside a model.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from keras.utils import bounding_boxes

from jpeg_deep.networks.anchors import Anchors, centroids_to_corners, corners_to_centroids


def iou_matrix(boxes_a, boxes_b):
    """IoU of every box of ``boxes_a`` (K, 4) with every box of ``boxes_b`` (N, 4), corners
    ``(xmin, ymin, xmax, ymax)``, continuous coordinates (no +1 pixel): (K, N) float64."""
    a = np.asarray(boxes_a, np.float64)[:, None, :]
    b = np.asarray(boxes_b, np.float64)[None, :, :]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / (area_a + area_b - inter)


def match_bipartite(iou):
    """Greedy bipartite matching: repeatedly take the globally best remaining (ground truth,
    anchor) pair and remove both, so every ground truth gets one anchor whatever its IoU.
    ``iou`` (K, N) -> anchor index per ground truth (K,). Ties go to the lowest index."""
    iou = np.array(iou, np.float64, copy=True)
    matches = np.zeros(len(iou), np.int64)
    for _ in range(len(iou)):
        gt, anchor = np.unravel_index(np.argmax(iou), iou.shape)
        matches[gt] = anchor
        iou[gt, :] = -1.0
        iou[:, anchor] = -1.0
    return matches


def encode_targets(boxes, labels, anchors: Anchors, n_classes: int,
                   pos_iou_threshold: float = 0.5, neg_iou_limit: float = 0.5) -> np.ndarray:
    """Training target ``(N, n_classes + 4)`` of one image (layout in the module docstring).

    ``boxes`` (K, 4) pixels ``(xmin, ymin, xmax, ymax)`` of the network input image
    (``anchors.image_size``); ``labels`` (K,) ints in ``1 .. n_classes-1`` (0 is background).

    1. IoU of every ground truth with every anchor (continuous coordinates, no +1 pixel).
    2. Bipartite matching (:func:`match_bipartite`): each ground truth gets its best anchor.
    3. Every other anchor whose best IoU is ``>= pos_iou_threshold`` gets that ground truth.
    4. Unmatched anchors whose best IoU is ``>= neg_iou_limit`` are neutral (all-zero class,
       ignored by the loss); with both thresholds at 0.5 there are none. The rest is background.
    5. Offsets ``t_cx = (g_cx - a_cx)/(a_w*v0)``, ``t_cy = (g_cy - a_cy)/(a_h*v1)``,
       ``t_w = ln(g_w/a_w)/v2``, ``t_h = ln(g_h/a_h)/v3`` with the anchors' variances ``v``.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    labels = np.asarray(labels).reshape(-1)
    n = len(anchors)
    y = np.zeros((n, n_classes + 4), np.float32)
    y[:, 0] = 1.0
    if len(labels) != len(boxes):
        raise ValueError(f"{len(boxes)} boxes but {len(labels)} labels")
    if len(boxes) == 0:
        return y
    if np.any(boxes[:, 2] <= boxes[:, 0]) or np.any(boxes[:, 3] <= boxes[:, 1]):
        raise ValueError(f"degenerate ground-truth boxes (xmax <= xmin or ymax <= ymin): "
                         f"{boxes[(boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])]}")
    if np.any(labels < 1) or np.any(labels >= n_classes):
        raise ValueError(f"labels must be in 1..{n_classes - 1} (0 is background), got {labels}")
    img_h, img_w = anchors.image_size
    gt = boxes / np.array([img_w, img_h, img_w, img_h])
    iou = iou_matrix(gt, centroids_to_corners(anchors.boxes.astype(np.float64)))

    matched_gt = np.full(n, -1, np.int64)
    bipartite = match_bipartite(iou)
    matched_gt[bipartite] = np.arange(len(gt))
    best_gt = np.argmax(iou, axis=0)
    best_iou = iou[best_gt, np.arange(n)]
    multi = (best_iou >= pos_iou_threshold) & (matched_gt < 0)
    matched_gt[multi] = best_gt[multi]
    neutral = (iou.max(axis=0) >= neg_iou_limit) & (matched_gt < 0)
    y[neutral, 0] = 0.0

    pos = np.flatnonzero(matched_gt >= 0)
    y[pos, 0] = 0.0
    y[pos, labels[matched_gt[pos]]] = 1.0
    g = corners_to_centroids(gt[matched_gt[pos]])
    a = anchors.boxes[pos].astype(np.float64)
    v = anchors.variances.astype(np.float64)
    y[pos, n_classes:n_classes + 2] = (g[:, :2] - a[:, :2]) / a[:, 2:] / v[:2]
    y[pos, n_classes + 2:n_classes + 4] = np.log(g[:, 2:] / a[:, 2:]) / v[2:]
    return y


def decode_boxes(offsets, anchors: Anchors):
    """Predicted offsets (..., N, 4) -> boxes ``(xmin, ymin, xmax, ymax)`` in pixels of the
    network input: ``cx = t_cx*v0*a_w + a_cx``, ``cy = t_cy*v1*a_h + a_cy``,
    ``w = exp(t_w*v2)*a_w``, ``h = exp(t_h*v3)*a_h``, then corners times the image size."""
    img_h, img_w = anchors.image_size
    corners = bounding_boxes.decode_deltas_to_boxes(
        anchors.boxes, tf.cast(offsets, tf.float32), anchor_format="center_xywh",
        box_format="xyxy", encoded_format="center_xywh", variance=anchors.variances)
    return corners * tf.constant([img_w, img_h, img_w, img_h], tf.float32)


def decode_detections(y_pred, anchors: Anchors, *, confidence_threshold: float = 0.01,
                      iou_threshold: float = 0.45, max_per_class: int = 400,
                      max_detections: int = 200, pre_nms_top_k: int | None = None,
                      n_classes: int | None = None):
    """Model output ``(B, N, C + 4)`` (softmax scores, offsets) -> ``(B, max_detections, 6)``
    float32 rows ``[class_id, score, xmin, ymin, xmax, ymax]`` in pixels of the network input,
    best first, zero-padded (padding rows have class 0 and score 0).

    Per class 1..C-1 (background dropped), every anchor's decoded box with a score above
    ``confidence_threshold`` goes through greedy NMS (a box is suppressed by a higher-scoring
    one of the same class with IoU > ``iou_threshold``), keeping at most ``max_per_class``
    boxes; then the ``max_detections`` best over all classes are kept. SSD300 uses 0.01, 0.45,
    400, 200. ``pre_nms_top_k`` (off by default) additionally keeps only that many best-scoring
    candidates per class *before* NMS, as Caffe SSD's ``top_k``. Boxes are not clipped.
    ``n_classes`` (C, background included) defaults to the last axis minus 4.

    TensorFlow has no XLA kernel for this NMS: call it outside a ``jit_compile`` function (e.g.
    on the output of ``model.predict``), or compile a model that contains it with
    ``jit_compile=False``.
    """
    y_pred = tf.cast(y_pred, tf.float32)
    if n_classes is None:
        n_classes = y_pred.shape[-1] - 4
    scores = y_pred[..., 1:n_classes]                                  # (B, N, C-1)
    boxes = decode_boxes(y_pred[..., n_classes:n_classes + 4], anchors)  # (B, N, 4) xyxy
    boxes = tf.gather(boxes, [1, 0, 3, 2], axis=-1)                    # yxyx for TF's NMS
    if pre_nms_top_k is not None and pre_nms_top_k < len(anchors):
        # per class, its own best candidates: boxes (B, k, C-1, 4), scores (B, k, C-1)
        top_scores, top_idx = tf.math.top_k(tf.transpose(scores, [0, 2, 1]), k=pre_nms_top_k)
        boxes = tf.gather(boxes, top_idx, batch_dims=1)                # (B, C-1, k, 4)
        boxes = tf.transpose(boxes, [0, 2, 1, 3])
        scores = tf.transpose(top_scores, [0, 2, 1])
    else:
        boxes = boxes[:, :, None, :]                                   # one box for all classes
    nmsed_boxes, nmsed_scores, nmsed_classes, valid = tf.image.combined_non_max_suppression(
        boxes, scores, max_output_size_per_class=max_per_class, max_total_size=max_detections,
        iou_threshold=iou_threshold, score_threshold=confidence_threshold,
        pad_per_class=False, clip_boxes=False)
    keep = tf.sequence_mask(valid, max_detections, tf.float32)[..., None]
    rows = tf.concat([(nmsed_classes[..., None] + 1.0), nmsed_scores[..., None],
                      tf.gather(nmsed_boxes, [1, 0, 3, 2], axis=-1)], axis=-1)
    return rows * keep
