"""SSD building blocks, each against an independent oracle: anchors, matching and encoding,
decoding and NMS, multibox loss, VOC AP, COCO metrics, L2Normalization."""
import json

import keras
import numpy as np
import pytest

from jpeg_deep.networks.layers import L2Normalization
from jpeg_deep.networks.anchors import (
    SSD300_ANCHORS, SSD300_COCO_ANCHORS, Anchors, make_anchors)
from jpeg_deep.tasks.detection.loss import MultiboxLoss
from jpeg_deep.tasks.detection.metrics import (
    coco_evaluate, detections_to_coco, voc_evaluate, voc_to_coco)
from jpeg_deep.tasks.detection.targets import decode_boxes, decode_detections, encode_targets

SSD300_MAPS = [38, 19, 10, 5, 3, 1]


def anchors_from_corners(corners, image_size=100):
    """Anchors exactly at the given pixel corners (for hand-made cases)."""
    c = np.asarray(corners, np.float64) / image_size
    centroids = np.concatenate([(c[:, :2] + c[:, 2:]) / 2, c[:, 2:] - c[:, :2]], axis=1)
    return Anchors(centroids.astype(np.float32), np.array([0.1, 0.1, 0.2, 0.2], np.float32),
                   (image_size, image_size))


# ----------------------------------------------------------------------------- anchors

def test_ssd300_anchor_count_order_and_sizes():
    a = make_anchors(300, SSD300_MAPS)
    assert len(a) == 38 * 38 * 4 + 19 * 19 * 6 + 10 * 10 * 6 + 5 * 5 * 6 + 9 * 4 + 4 == 8732
    assert SSD300_ANCHORS.boxes_per_cell() == (4, 6, 6, 6, 4, 4)
    np.testing.assert_allclose(a.variances, [0.1, 0.1, 0.2, 0.2])
    px = a.boxes.astype(np.float64) * 300
    starts = np.cumsum([0, 38 * 38 * 4, 19 * 19 * 6, 10 * 10 * 6, 5 * 5 * 6, 9 * 4])
    scales = [0.1, 0.2, 0.37, 0.54, 0.71, 0.88, 1.05]
    # 1' (second box of each cell): sqrt(s_k s_k+1) * 300 = 42.4, 81.6, 134.1, 185.8, 237.1, 288.4
    np.testing.assert_allclose(px[starts + 1, 2], [42.4, 81.6, 134.1, 185.8, 237.1, 288.4],
                               atol=0.05)
    np.testing.assert_allclose(px[starts + 1, 3], px[starts + 1, 2])
    # first cell of S2: [1, 1', 2, 1/2, 3, 1/3], w = s*300*sqrt(r), h = s*300/sqrt(r)
    cell = px[starts[1]:starts[1] + 6]
    s = scales[1] * 300
    expected_wh = [(s, s), (np.sqrt(0.2 * 0.37) * 300,) * 2, (s * 2 ** .5, s / 2 ** .5),
                   (s / 2 ** .5, s * 2 ** .5), (s * 3 ** .5, s / 3 ** .5), (s / 3 ** .5, s * 3 ** .5)]
    np.testing.assert_allclose(cell[:, 2:], expected_wh, rtol=1e-5)
    np.testing.assert_allclose(cell[:, :2], [[8, 8]] * 6, rtol=1e-5)  # (0 + 0.5) * 16
    # row-major: row i, column j, box b of S1 at ((j + .5) * 8, (i + .5) * 8); steps 8..300
    s1 = px[:starts[1]].reshape(38, 38, 4, 4)
    np.testing.assert_allclose(s1[2, 5, 3, :2], [(5 + .5) * 8, (2 + .5) * 8], rtol=1e-6)
    for k, step in enumerate([8, 16, 32, 64, 100, 300]):
        np.testing.assert_allclose(px[starts[k], :2], [step / 2, step / 2], rtol=1e-5)
    assert (px[:, 0] - px[:, 2] / 2).min() < 0        # not clipped: boxes overhang the image
    coco = make_anchors(300, SSD300_MAPS, SSD300_COCO_ANCHORS)
    np.testing.assert_allclose(coco.boxes[0, 2] * 300, 0.07 * 300, rtol=1e-5)


def test_anchors_other_input_sizes():
    a = make_anchors(512, [64, 32, 16, 8, 6, 4])
    assert len(a) == 64 * 64 * 4 + 32 * 32 * 6 + 16 * 16 * 6 + 8 * 8 * 6 + 36 * 4 + 16 * 4
    # stride-2 maps keep their steps (8 px), the last map's step is 512 / 4 = 128
    np.testing.assert_allclose(a.boxes[0, :2] * 512, [4, 4], rtol=1e-6)
    np.testing.assert_allclose(a.boxes[-1, :2] * 512, [3.5 * 128, 3.5 * 128], rtol=1e-6)
    np.testing.assert_allclose(a.boxes[0, 2] * 512, 0.1 * 512, rtol=1e-6)
    demo = make_anchors(128, [16, 8, 4, 2, 1, 1])
    assert len(demo) == 16 * 16 * 4 + 64 * 6 + 16 * 6 + 4 * 6 + 4 + 4
    with pytest.raises(ValueError, match="one entry per map"):
        make_anchors(128, [16, 8, 4, 2])


# ----------------------------------------------------------------------------- matching

def test_matching_hand_made_case():
    anchors = anchors_from_corners([
        [0, 0, 20, 20],    # A0: G0's best anchor, IoU 0.25 only -> bipartite positive
        [30, 30, 70, 70],  # A1: IoU 0.818 with G1 -> bipartite positive
        [40, 30, 80, 70],  # A2: IoU 0.739 with G1 -> threshold-matched positive
        [80, 80, 100, 100],  # A3: no overlap -> background
        [50, 30, 90, 70],  # A4: IoU 0.4286 with G1 -> neutral if neg_iou_limit=0.4
    ])
    boxes = [[0, 0, 40, 40], [34, 30, 74, 70]]
    y = encode_targets(boxes, [3, 5], anchors, n_classes=6, neg_iou_limit=0.4)
    classes, t = y[:, :6], y[:, 6:]
    np.testing.assert_array_equal(classes.argmax(1)[:4], [3, 5, 5, 0])
    np.testing.assert_array_equal(classes.sum(1), [1, 1, 1, 1, 0])   # A4 neutral
    # offsets: ((g_c - a_c) / a_wh / 0.1, ln(g_wh / a_wh) / 0.2)
    np.testing.assert_allclose(t[0], [5, 5, np.log(2) / .2, np.log(2) / .2], rtol=1e-5)
    np.testing.assert_allclose(t[1], [1, 0, 0, 0], atol=1e-5)
    np.testing.assert_allclose(t[2], [-1.5, 0, 0, 0], atol=1e-5)
    np.testing.assert_array_equal(t[3:], 0)
    # with both thresholds at 0.5 (the SSD default) the neutral band is empty: A4 background
    y = encode_targets(boxes, [3, 5], anchors, n_classes=6)
    np.testing.assert_array_equal(y[4, :6], [1, 0, 0, 0, 0, 0])


def test_bipartite_matching_resolves_conflicts_globally():
    anchors = anchors_from_corners([[30, 30, 70, 70], [40, 30, 80, 70], [0, 0, 10, 10]])
    # both ground truths prefer anchor 0; the best pair (IoU 1.0) takes it, the other gets
    # its second choice even though it would pass the 0.5 threshold on anchor 0 as well
    y = encode_targets([[32, 30, 72, 70], [30, 30, 70, 70]], [1, 2], anchors, n_classes=3)
    np.testing.assert_array_equal(y[:, :3].argmax(1), [2, 1, 0])
    # a bipartite match is final: anchor 1 stays with X (IoU 0.818) although its best ground
    # truth is Y (IoU 0.905 >= 0.5), which took anchor 0 (IoU 1.0) first
    anchors = anchors_from_corners([[30, 30, 70, 70], [32, 30, 72, 70], [0, 0, 10, 10]])
    y = encode_targets([[30, 30, 70, 70], [36, 30, 76, 70]], [1, 2], anchors, n_classes=3)
    np.testing.assert_array_equal(y[:, :3].argmax(1), [1, 2, 0])
    with pytest.raises(ValueError, match="degenerate"):
        encode_targets([[10, 10, 10, 20]], [1], anchors, n_classes=3)
    with pytest.raises(ValueError, match="labels"):
        encode_targets([[10, 10, 20, 20]], [3], anchors, n_classes=3)
    empty = encode_targets(np.zeros((0, 4)), [], anchors, n_classes=3)
    np.testing.assert_array_equal(empty[:, 0], 1)


def test_encode_decode_round_trip_ssd300():
    rng = np.random.default_rng(1)
    anchors = make_anchors(300, SSD300_MAPS)
    xy = rng.uniform(0, 200, (5, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(20, 100, (5, 2))], axis=1)
    labels = np.array([1, 4, 7, 9, 20])
    y = encode_targets(boxes, labels, anchors, n_classes=21)
    positive = y[:, 1:21].sum(1) > 0
    assert positive.sum() >= 5
    # every positive anchor decodes back to the ground truth of its class
    decoded = np.asarray(decode_boxes(y[None, :, 21:], anchors))[0][positive]
    gt_of = {int(c): b for c, b in zip(labels, boxes)}
    expected = np.array([gt_of[int(c)] for c in y[positive, :21].argmax(1)])
    np.testing.assert_allclose(decoded, expected, atol=1e-3)
    # offsets agree with keras.utils.bounding_boxes' encoder (an independent implementation)
    keras_t = keras.utils.bounding_boxes.encode_box_to_deltas(
        anchors.boxes[positive], expected / 300.0, anchor_format="center_xywh",
        box_format="xyxy", encoding_format="center_xywh", variance=[0.1, 0.1, 0.2, 0.2])
    np.testing.assert_allclose(y[positive, 21:], np.asarray(keras_t), atol=1e-4)
    # a confident prediction equal to the target gives back exactly the 5 boxes
    scores = np.where(y[:, :21] > 0, 0.95, 0.05 / 20)
    scores[~positive] = np.eye(21)[0] * 0.99 + 0.0005
    dets = np.asarray(decode_detections(np.concatenate([scores, y[:, 21:]], 1)[None], anchors))
    kept = dets[0][dets[0, :, 1] > 0]
    assert len(kept) == 5
    order = np.argsort(kept[:, 0])
    np.testing.assert_array_equal(kept[order, 0], labels)
    np.testing.assert_allclose(kept[order, 2:], boxes, atol=1e-3)


# ----------------------------------------------------------------------------- NMS

def nms_case():
    corners = [[10, 10, 50, 50], [12, 10, 52, 50], [30, 10, 70, 50], [60, 60, 90, 90]]
    scores = np.zeros((4, 3))
    scores[0, 1] = 0.9    # kept
    scores[1, 1] = 0.8    # IoU 0.905 with box 0: suppressed in class 1 ...
    scores[1, 2] = 0.7    # ... but kept in class 2 (NMS is per class)
    scores[2, 1] = 0.6    # IoU 0.333 with box 0: kept at 0.45, suppressed at 0.3
    scores[3, 1] = 0.005  # below the 0.01 confidence threshold
    y_pred = np.concatenate([scores, np.zeros((4, 4))], axis=1)[None].astype(np.float32)
    return np.array(corners, np.float32), anchors_from_corners(corners), y_pred


def rows(dets):
    dets = np.asarray(dets)[0]
    return [(int(c), round(float(s), 3), tuple(np.round(b, 2))) for c, s, *b in dets if s > 0]


def test_nms_per_class_and_thresholds():
    boxes, anchors, y_pred = nms_case()
    b = [tuple(x) for x in boxes.astype(float)]
    dets = decode_detections(y_pred, anchors)
    assert np.asarray(dets).shape == (1, 200, 6)
    assert rows(dets) == [(1, 0.9, b[0]), (2, 0.7, b[1]), (1, 0.6, b[2])]
    assert np.all(np.asarray(dets)[0, 3:] == 0)  # zero padding
    assert rows(decode_detections(y_pred, anchors, iou_threshold=0.3)) == [
        (1, 0.9, b[0]), (2, 0.7, b[1])]
    assert rows(decode_detections(y_pred, anchors, iou_threshold=0.95)) == [
        (1, 0.9, b[0]), (1, 0.8, b[1]), (2, 0.7, b[1]), (1, 0.6, b[2])]
    assert rows(decode_detections(y_pred, anchors, confidence_threshold=0.001))[-1] == (
        1, 0.005, b[3])
    assert rows(decode_detections(y_pred, anchors, confidence_threshold=0.65)) == [
        (1, 0.9, b[0]), (2, 0.7, b[1])]
    assert rows(decode_detections(y_pred, anchors, max_detections=2)) == [
        (1, 0.9, b[0]), (2, 0.7, b[1])]
    assert np.asarray(decode_detections(y_pred, anchors, max_detections=2)).shape == (1, 2, 6)
    assert rows(decode_detections(y_pred, anchors, max_per_class=1)) == [
        (1, 0.9, b[0]), (2, 0.7, b[1])]
    # candidates cut before NMS: class 1 keeps boxes 0 and 1 only, and 1 is suppressed
    assert rows(decode_detections(y_pred, anchors, pre_nms_top_k=2)) == [
        (1, 0.9, b[0]), (2, 0.7, b[1])]
    assert rows(decode_detections(y_pred, anchors, pre_nms_top_k=3)) == [
        (1, 0.9, b[0]), (2, 0.7, b[1]), (1, 0.6, b[2])]


# ----------------------------------------------------------------------------- loss

def reference_loss(y_true, y_pred, neg_pos_ratio=3, n_neg_min=0, alpha=1.0):
    """The SSD loss in plain numpy, negatives ranked by sorting the whole batch."""
    c = y_true.shape[-1] - 4
    ce = -(y_true[..., :c] * np.log(np.maximum(y_pred[..., :c], 1e-15))).sum(-1)
    d = np.abs(y_true[..., c:] - y_pred[..., c:c + 4])
    sl1 = np.where(d < 1, 0.5 * d * d, d - 0.5).sum(-1)
    pos = y_true[..., 1:c].max(-1) > 0
    neg_ce = np.where(y_true[..., 0] > 0, ce, 0).ravel()
    k = min(max(int(neg_pos_ratio * pos.sum()), n_neg_min), int((neg_ce > 0).sum()))
    hard = np.sort(neg_ce)[::-1][:k].sum()
    return (ce[pos].sum() + hard + alpha * sl1[pos].sum()) / max(1, pos.sum())


def test_loss_hard_negatives_mined_over_the_batch():
    # image 0: 2 positives, 4 easy negatives; image 1: no positive, 6 hard negatives.
    # N_pos = 2 -> 6 hard negatives, all of them from image 1 (per-image mining would take none)
    b, n, c = 2, 6, 3
    y_true = np.zeros((b, n, c + 4), np.float32)
    y_true[:, :, 0] = 1
    y_true[0, 0, :3] = [0, 1, 0]
    y_true[0, 1, :3] = [0, 0, 1]
    y_true[0, 0, 3:] = [0.5, -2.0, 0.1, 0.0]
    y_true[0, 1, 3:] = [1.5, 0.2, -0.3, 3.0]
    probs = np.full((b, n, c), 0.05, np.float32)
    probs[0, :, 0] = 0.9
    probs[0, 0] = [0.2, 0.7, 0.1]
    probs[0, 1] = [0.5, 0.1, 0.4]
    probs[1, :, 0] = [0.1, 0.2, 0.3, 0.4, 0.35, 0.25]
    offsets = np.zeros((b, n, 4), np.float32)
    offsets[0, 0] = [0.2, -2.5, 0.1, 0.0]
    y_pred = np.concatenate([probs, offsets], -1)
    by_hand = (-np.log(0.7) - np.log(0.4)                          # positives' CE
               - np.log([0.1, 0.2, 0.3, 0.4, 0.35, 0.25]).sum()     # image 1's negatives
               + 0.5 * 0.3 ** 2 + 0.5 * 0.5 ** 2                      # smooth L1, anchor 0
               + (1.5 - 0.5) + 0.5 * 0.2 ** 2 + 0.5 * 0.3 ** 2 + (3.0 - 0.5)) / 2  # anchor 1
    assert reference_loss(y_true, y_pred) == pytest.approx(by_hand, rel=1e-6)
    loss = MultiboxLoss()
    assert float(loss(y_true, y_pred)) == pytest.approx(by_hand, rel=1e-5)
    # only 2 negatives with n_neg_min 0 and ratio 1; alpha weighs localisation
    assert float(MultiboxLoss(neg_pos_ratio=1, alpha=2.0)(y_true, y_pred)) == pytest.approx(
        reference_loss(y_true, y_pred, neg_pos_ratio=1, alpha=2.0), rel=1e-5)
    # no positive at all: the n_neg_min hardest negatives of the batch, divided by 1
    # (background probabilities 0.1, 0.2 of image 1 and 0.2 of image 0, then 0.25 of image 1)
    y_none = y_true.copy()
    y_none[0, :2, :3] = [1, 0, 0]
    assert float(MultiboxLoss(n_neg_min=4)(y_none, y_pred)) == pytest.approx(
        -np.log([0.1, 0.2, 0.2, 0.25]).sum(), rel=1e-5)
    assert float(MultiboxLoss()(y_none, y_pred)) == 0.0


def test_loss_as_keras_reduces_it_and_mixed_precision():
    rng = np.random.default_rng(3)
    b, n, c = 4, 40, 5
    labels = rng.choice(c, size=(b, n), p=[0.85, 0.05, 0.04, 0.03, 0.03])
    y_true = np.concatenate([np.eye(c)[labels], rng.normal(size=(b, n, 4))], -1)
    y_true[..., 4] *= labels > 0                     # offsets only on positives, as encoded
    y_true[0, 7, :c] = 0                             # a neutral anchor
    logits = rng.normal(size=(b, n, c)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    y_pred = np.concatenate([probs, rng.normal(size=(b, n, 4))], -1).astype(np.float32)
    y_true = y_true.astype(np.float32)
    expected = reference_loss(y_true, y_pred)
    model = keras.Sequential([keras.Input((n, c + 4)), keras.layers.Identity()])
    for jit in (False, True):  # "auto" means XLA on a GPU: the loss must compile with it
        model.compile(loss=MultiboxLoss(), jit_compile=jit)
        assert model.evaluate(y_pred, y_true, batch_size=b, verbose=0) == pytest.approx(
            expected, rel=1e-5)
    half = MultiboxLoss()(y_true, y_pred.astype(np.float16))
    assert half.dtype == "float32"
    assert float(half) == pytest.approx(
        reference_loss(y_true, y_pred.astype(np.float16).astype(np.float32)), rel=1e-5)
    restored = keras.losses.deserialize(keras.losses.serialize(MultiboxLoss(alpha=0.5)))
    assert isinstance(restored, MultiboxLoss) and restored.alpha == 0.5
    with pytest.raises(ValueError, match="sum_over_batch_size"):
        MultiboxLoss(reduction="sum")


# ----------------------------------------------------------------------------- VOC AP

def brute_force_voc(ground_truth, detections, n_classes):
    """AP recomputed from scratch for every prefix of the ranked detections (devkit rules),
    AP integrated as sum (r_i - r_i-1) * max precision at recall >= r_i."""
    ranked = []
    for image, det in detections.items():
        for box, label, score in zip(det["boxes"], det["labels"], det["scores"]):
            ranked.append((-score, len(ranked), image, int(label), list(box)))
    ranked.sort(key=lambda r: (r[0], r[1]))            # score desc, input order on ties

    def iou(a, g):
        iw = min(a[2], g[2]) - max(a[0], g[0]) + 1
        ih = min(a[3], g[3]) - max(a[1], g[1]) + 1
        if iw <= 0 or ih <= 0:
            return 0.0
        ua = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (g[2] - g[0] + 1) * (g[3] - g[1] + 1)
        return iw * ih / (ua - iw * ih)

    ap11, aparea = {}, {}
    for cls in range(1, n_classes + 1):
        dets = [r for r in ranked if r[3] == cls]
        gts = {im: [(list(b), bool(d)) for b, l, d in zip(g["boxes"], g["labels"], g["difficult"])
                    if l == cls] for im, g in ground_truth.items()}
        npos = sum(not d for v in gts.values() for _, d in v)
        points = []
        for k in range(1, len(dets) + 1):
            used, tp, fp = set(), 0, 0
            for _, _, im, _, box in dets[:k]:
                cands = gts[im]
                if not cands:
                    fp += 1
                    continue
                ious = [iou(box, g) for g, _ in cands]
                j = max(range(len(ious)), key=lambda i: (ious[i], -i))
                if ious[j] < 0.5:
                    fp += 1
                elif cands[j][1]:
                    pass
                elif (im, j) in used:
                    fp += 1
                else:
                    used.add((im, j))
                    tp += 1
            points.append((tp / npos, tp / (tp + fp) if tp + fp else 0.0))
        ap11[cls] = sum(max([p for r, p in points if r >= t - 1e-12], default=0.0)
                        for t in [i / 10 for i in range(11)]) / 11
        area, prev = 0.0, 0.0
        for i, (r, _) in enumerate(points):
            if r > prev:
                area += (r - prev) * max(p for _, p in points[i:])
                prev = r
        aparea[cls] = area
    return ap11, aparea


def make_scene(rng, n_images=12, n_classes=3):
    gt, det = {}, {}
    for i in range(n_images):
        k = rng.integers(1, 5)
        xy = rng.integers(0, 80, (k, 2))
        boxes = np.concatenate([xy, xy + rng.integers(10, 40, (k, 2))], 1).astype(float)
        labels = rng.integers(1, n_classes + 1, k)
        gt[f"{i:06d}"] = dict(boxes=boxes, labels=labels, difficult=rng.random(k) < 0.25)
        d_boxes, d_labels = [], []
        for b, l in zip(boxes, labels):
            for _ in range(rng.integers(0, 3)):      # 0-2 detections per object: duplicates
                d_boxes.append(b + rng.normal(0, 4, 4))
                d_labels.append(l if rng.random() < 0.85 else rng.integers(1, n_classes + 1))
        for _ in range(rng.integers(0, 3)):          # background false positives
            xy = rng.uniform(0, 80, 2)
            d_boxes.append(np.concatenate([xy, xy + rng.uniform(10, 40, 2)]))
            d_labels.append(rng.integers(1, n_classes + 1))
        scores = np.round(rng.random(len(d_boxes)), 1)  # coarse scores: many ties
        det[f"{i:06d}"] = dict(boxes=np.array(d_boxes).reshape(-1, 4),
                               labels=np.array(d_labels, int), scores=scores)
    return gt, det


def test_voc_ap_against_brute_force():
    names = ["a", "b", "c"]
    for seed in range(3):
        gt, det = make_scene(np.random.default_rng(seed))
        ours = voc_evaluate(gt, det, names)
        ap11, aparea = brute_force_voc(gt, det, 3)
        for cls, name in enumerate(names, start=1):
            assert ours["ap_11point"][name] == pytest.approx(ap11[cls], abs=1e-12)
            assert ours["ap_area"][name] == pytest.approx(aparea[cls], abs=1e-12)
        assert ours["map_area"] == pytest.approx(np.mean(list(aparea.values())))
        assert ours["map_11point"] == pytest.approx(np.mean(list(ap11.values())))


def test_voc_ap_hand_made():
    gt = {"1": dict(boxes=[[0, 0, 9, 9], [20, 20, 29, 29], [40, 40, 49, 49]], labels=[1, 1, 1],
                    difficult=[False, False, True])}
    det = {"1": dict(boxes=[[0, 0, 9, 9],        # TP
                            [40, 40, 49, 49],    # matches the difficult box: ignored
                            [0, 0, 9, 9],        # duplicate: FP
                            [20, 20, 29, 29],    # TP, tied with the duplicate: comes after it
                            [60, 60, 69, 69]],   # FP
                     labels=[1] * 5, scores=[0.9, 0.8, 0.5, 0.5, 0.1])}
    # ranked: TP, ignored, FP, TP, FP -> recall .5, .5, .5, 1, 1; precision 1, 1, .5, 2/3, .5
    r = voc_evaluate(gt, det, ["x"])
    assert r["ap_area"]["x"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert r["ap_11point"]["x"] == pytest.approx((6 * 1 + 5 * 2 / 3) / 11)
    # IoU 0.5 with the +1 pixel convention: [0,0,9,9] vs [0,0,9,19] is 100/200 -> TP ...
    gt2 = {"1": dict(boxes=[[0, 0, 9, 19]], labels=[1])}
    det2 = {"1": dict(boxes=[[0, 0, 9, 9]], labels=[1], scores=[1.0])}
    assert voc_evaluate(gt2, det2, ["x"])["ap_area"]["x"] == 1.0
    # ... while continuous coordinates give 81/171 < 0.5 -> FP
    assert voc_evaluate(gt2, det2, ["x"], pixel_offset=0)["ap_area"]["x"] == 0.0


# ----------------------------------------------------------------------------- COCO

def test_coco_wrapper_equals_pycocotools_on_files(tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt, det = make_scene(np.random.default_rng(7), n_images=10)
    for d in det.values():                     # COCO needs a spread of scores, sizes
        d["boxes"] = d["boxes"] * 4
        d["scores"] = d["scores"] + np.linspace(0, 0.01, len(d["scores"]))
    for g in gt.values():
        g["boxes"] = g["boxes"] * 4
    category_ids = [1, 3, 18]                  # contiguous labels -> original COCO ids
    coco_gt = voc_to_coco(gt, ["a", "b", "c"], category_ids=category_ids)
    coco_dt = detections_to_coco(det, category_ids=category_ids)
    assert {a["category_id"] for a in coco_gt["annotations"]} <= {1, 3, 18}
    assert sum(a["iscrowd"] for a in coco_gt["annotations"]) == sum(
        int(g["difficult"].sum()) for g in gt.values())
    assert coco_gt["images"][3]["id"] == 3
    ours = coco_evaluate(coco_gt, coco_dt)

    (tmp_path / "gt.json").write_text(json.dumps(coco_gt))
    (tmp_path / "dt.json").write_text(json.dumps(coco_dt))
    cgt = COCO(str(tmp_path / "gt.json"))
    evaluator = COCOeval(cgt, cgt.loadRes(str(tmp_path / "dt.json")), "bbox")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    names = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100"]
    assert [ours[k] for k in names] == pytest.approx(list(evaluator.stats[:9]), abs=1e-12)
    assert 0 < ours["AP50"] <= 1
    assert coco_evaluate(coco_gt, [])["AP"] == 0.0


# ----------------------------------------------------------------------------- L2Normalization

def test_l2_normalization():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4, 8)).astype(np.float32) * 10
    layer = L2Normalization(name="conv4_3_norm")
    y = np.asarray(layer(x))
    np.testing.assert_allclose(np.linalg.norm(y, axis=-1), 20.0, rtol=1e-5)
    gamma = np.arange(1, 9, dtype=np.float32)
    layer.set_weights([gamma])
    y = np.asarray(layer(x))
    np.testing.assert_allclose(y, x / np.linalg.norm(x, axis=-1, keepdims=True) * gamma,
                               rtol=1e-5)
    assert len(layer.trainable_weights) == 1
    inputs = keras.Input((3, 4, 8))
    model = keras.Model(inputs, L2Normalization(scale=5.0, name="norm")(inputs))
    clone = keras.Model.from_config(model.get_config())
    assert clone.get_layer("norm").scale == 5.0
    np.testing.assert_allclose(np.linalg.norm(np.asarray(clone(x)), axis=-1), 5.0, rtol=1e-5)
    try:
        keras.mixed_precision.set_global_policy("mixed_float16")
        half = L2Normalization()
        out = half(x)
        assert out.dtype == "float16" and half.gamma.dtype == "float32"
        np.testing.assert_allclose(np.linalg.norm(np.asarray(out, np.float32), axis=-1), 20.0,
                                   rtol=2e-3)
    finally:
        keras.mixed_precision.set_global_policy("float32")
