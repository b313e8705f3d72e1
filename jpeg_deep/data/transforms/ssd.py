"""The SSD transforms with boxes, in RGB (the reference chain).

:func:`make_detection_transform` returns the SSD training augmentation (photometric distortions,
zoom-out, IoU-constrained crop, flip, resize) or the evaluation resize, as a callable
``(rgb, boxes, labels, rng) -> (rgb, boxes, labels)``; see :class:`SSDAugmentation`. The
result is re-encoded with :func:`jpeg_deep.data.transforms.classification.encode_jpeg` at
``DetectionTransformConfig.quality`` (75 for detection) before the DCT read.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import albumentations as A
import cv2
import numpy as np

logger = logging.getLogger(__name__)

SSD_MEAN_RGB = (123, 117, 104)   # zoom-out canvas fill
CROP_MIN_IOUS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9)   # 0.0: any overlap
_INTERPOLATIONS = (cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_AREA,
                   cv2.INTER_LANCZOS4)


@dataclass(frozen=True)
class DetectionTransformConfig:
    """Network input side (square, pixels), JPEG re-encoding quality and the zoom-out fill."""

    input_size: int = 300
    quality: int = 75
    mean: tuple = SSD_MEAN_RGB
    max_expand: float = 4.0
    min_box_size: float = 1.0     # boxes narrower or lower than this (output pixels) are dropped

    def __post_init__(self):
        object.__setattr__(self, "mean", tuple(int(v) for v in self.mean))  # hashable
        if self.input_size < 1:
            raise ValueError(f"input_size must be positive, not {self.input_size}")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"JPEG quality must be in 1..100, not {self.quality}")
        if self.max_expand < 1:
            raise ValueError(f"max_expand must be >= 1, not {self.max_expand}")


def box_iou(boxes, box) -> np.ndarray:
    """IoU of each of ``boxes`` (K, 4) with one ``box`` (continuous coordinates)."""
    boxes = np.asarray(boxes, np.float64)
    iw = np.maximum(np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0]), 0)
    ih = np.maximum(np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1]), 0)
    inter = iw * ih
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / (area + (box[2] - box[0]) * (box[3] - box[1]) - inter)


def photometric_params(rng: np.random.Generator) -> dict:
    """The random parameters of :func:`photometric_distort`, drawn in its order:
    ``{"order_a": bool, "brightness": delta or None, "contrast": factor or None,
    "saturation": factor or None, "hue": shift (OpenCV hue units) or None}`` (None: step not
    applied). Shared by the RGB chain and the DCT-domain one
    (:mod:`jpeg_deep.data.transforms.ssd_dct`)."""
    order_a = rng.random() < 0.5
    p = {"order_a": bool(order_a)}
    p["brightness"] = rng.uniform(-32, 32) if rng.random() < 0.5 else None

    def contrast():
        p["contrast"] = rng.uniform(0.5, 1.5) if rng.random() < 0.5 else None

    def saturation_hue():
        do_sat, sat = rng.random() < 0.5, rng.uniform(0.5, 1.5)
        do_hue, hue = rng.random() < 0.5, rng.uniform(-18, 18)
        p["saturation"] = sat if do_sat else None
        p["hue"] = hue if do_hue else None

    if order_a:
        contrast()
        saturation_hue()
    else:
        saturation_hue()
        contrast()
    return p


def apply_photometric(rgb: np.ndarray, p: dict) -> np.ndarray:
    """:func:`photometric_distort` with the parameters ``p`` of :func:`photometric_params`."""
    def to_uint8(x):
        return np.clip(np.round(x), 0, 255).astype(np.uint8)

    def brightness(img):
        if p["brightness"] is not None:
            img = to_uint8(img.astype(np.float32) + p["brightness"])
        return img

    def contrast(img):
        if p["contrast"] is not None:
            img = to_uint8((img.astype(np.float32) - 127.5) * p["contrast"] + 127.5)
        return img

    def saturation_hue(img):
        if p["saturation"] is None and p["hue"] is None:
            return img
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        if p["saturation"] is not None:
            hsv[..., 1] = to_uint8(hsv[..., 1] * np.float32(p["saturation"]))
        if p["hue"] is not None:
            hsv[..., 0] = np.round(hsv[..., 0] + np.float32(p["hue"])).astype(np.int32) % 180
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)

    rgb = brightness(rgb)
    if p["order_a"]:
        return saturation_hue(contrast(rgb))
    return contrast(saturation_hue(rgb))


def photometric_distort(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Caffe SSD's colour distortions on a uint8 RGB image.

    With p 0.5 order A: brightness, contrast, saturation, hue; else order B: brightness,
    saturation, hue, contrast. Each step has p 0.5: brightness ``+U[-32, 32]``, contrast
    ``x U[0.5, 1.5]`` around 127.5, saturation ``x U[0.5, 1.5]``, hue ``+U[-18, 18]`` in OpenCV's
    0-180 hue units (mod 180). Values are clipped and rounded to uint8 after every step.
    (:func:`photometric_params` draws the parameters, :func:`apply_photometric` applies them.)
    """
    return apply_photometric(rgb, photometric_params(rng))


def expand_params(h: int, w: int, rng, max_ratio=4.0):
    """The random canvas of :func:`expand` for an ``h x w`` image: ``(canvas_h, canvas_w, top,
    left)``, the image's top-left pixel at ``(top, left)``."""
    ratio = rng.uniform(1, max_ratio)
    out_h, out_w = int(h * ratio), int(w * ratio)
    top, left = int(rng.integers(0, out_h - h + 1)), int(rng.integers(0, out_w - w + 1))
    return out_h, out_w, top, left


def expand(rgb, boxes, rng, max_ratio=4.0, fill=SSD_MEAN_RGB):
    """Zoom out: put the image at a random place on a ``f x`` larger canvas filled with ``fill``
    (f ~ U[1, max_ratio], same for both sides); boxes are shifted with it."""
    h, w = rgb.shape[:2]
    out_h, out_w, top, left = expand_params(h, w, rng, max_ratio)
    canvas = np.empty((out_h, out_w, 3), np.uint8)
    canvas[...] = np.asarray(fill, np.uint8)
    canvas[top:top + h, left:left + w] = rgb
    return canvas, boxes + np.array([left, top, left, top], np.float32)


def iou_crop_params(h: int, w: int, boxes, rng, min_ious=CROP_MIN_IOUS, trials=50):
    """The random patch of :func:`iou_random_crop` for an ``h x w`` image with ``boxes``:
    ``(patch, inside)`` with ``patch`` the integer ``[x0, y0, x1, y1]`` and ``inside`` the
    boolean mask of the boxes kept, or ``(None, None)`` for "keep the whole image"."""
    if len(boxes) == 0:
        return None, None
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    # few boxes: the tests of a trial in plain Python floats (the same IEEE operations as
    # box_iou, so the same decisions), much cheaper than numpy calls on 1-16 elements
    small = len(boxes) <= 16
    if small:
        box_list = np.asarray(boxes, np.float64).tolist()
        centre_list = centres.tolist()
    while True:
        choice = int(rng.integers(len(min_ious) + 1))
        if choice == len(min_ious):
            return None, None
        bound = min_ious[choice]
        for _ in range(trials):
            cw, ch = rng.uniform(0.3 * w, w), rng.uniform(0.3 * h, h)
            if not 0.5 <= cw / ch <= 2:
                continue
            left, top = rng.uniform(0, w - cw), rng.uniform(0, h - ch)
            x0, y0, x1, y1 = int(left), int(top), int(left + cw), int(top + ch)
            if x1 <= x0 or y1 <= y0:
                continue
            if small:
                if not any(_iou(b, x0, y0, x1, y1) > bound for b in box_list):
                    continue
                kept = [x0 < cx < x1 and y0 < cy < y1 for cx, cy in centre_list]
                if not any(kept):
                    continue
                return np.array([x0, y0, x1, y1]), np.array(kept)
            patch = np.array([x0, y0, x1, y1])
            if not (box_iou(boxes, patch) > bound).any():
                continue
            inside = ((centres[:, 0] > patch[0]) & (centres[:, 1] > patch[1])
                      & (centres[:, 0] < patch[2]) & (centres[:, 1] < patch[3]))
            if not inside.any():
                continue
            return patch, inside


def _iou(b, x0, y0, x1, y1) -> float:
    """:func:`box_iou` of one box (a list of 4 floats) and an integer patch, in Python."""
    iw = max(min(b[2], x1) - max(b[0], x0), 0.0)
    ih = max(min(b[3], y1) - max(b[1], y0), 0.0)
    inter = iw * ih
    return inter / ((b[2] - b[0]) * (b[3] - b[1]) + (x1 - x0) * (y1 - y0) - inter)


def crop_boxes(boxes, patch, inside):
    """The boxes of :func:`iou_random_crop` in the patch: those whose centre is ``inside``,
    clipped to the patch and shifted to its origin."""
    kept = boxes[inside].copy()
    kept[:, :2] = np.maximum(kept[:, :2], patch[:2])
    kept[:, 2:] = np.minimum(kept[:, 2:], patch[2:])
    kept -= np.array([patch[0], patch[1], patch[0], patch[1]], np.float32)
    return kept


def iou_random_crop(rgb, boxes, labels, rng, min_ious=CROP_MIN_IOUS, trials=50):
    """Caffe SSD's random crop.

    Repeat: with p 1/7 return the input; else draw a lower IoU bound from ``min_ious`` and try
    up to ``trials`` patches of sides ``U[0.3, 1]`` x the image's (aspect w/h in [0.5, 2],
    uniform position). A patch is taken when a box has an IoU with it above the bound and at
    least one box centre lies inside it; boxes whose centre is inside are kept and clipped to
    the patch, the others dropped (with their labels). (:func:`iou_crop_params` draws the
    patch.)
    """
    h, w = rgb.shape[:2]
    patch, inside = iou_crop_params(h, w, boxes, rng, min_ious, trials)
    if patch is None:
        return rgb, boxes, labels
    return (rgb[patch[1]:patch[3], patch[0]:patch[2]], crop_boxes(boxes, patch, inside),
            labels[inside])


def train_geometry(h: int, w: int, boxes, labels, rng, config) -> dict:
    """The random geometry of one SSD training sample of an ``h x w`` image, drawn after the
    photometric parameters, in the order of :class:`SSDAugmentation`: zoom-out (p 0.5,
    :func:`expand_params`), IoU crop (:func:`iou_crop_params`), flip (p 0.5), interpolation.

    Returns ``{"expand": (canvas_h, canvas_w, top, left) or None, "patch": [x0, y0, x1, y1] in
    the canvas or None, "size": (h, w) of the image after the crop, "flip": bool,
    "interpolation": cv2 flag, "boxes", "labels"}`` (boxes in the cropped image's pixels,
    before the flip and the resize; zero-sized ones dropped). Shared by the RGB chain and the
    DCT-domain one (:mod:`jpeg_deep.data.transforms.ssd_dct`)."""
    out = {"expand": None, "patch": None}
    if rng.random() < 0.5:
        out["expand"] = expand_params(h, w, rng, config.max_expand)
        h, w, top, left = out["expand"]
        boxes = boxes + np.array([left, top, left, top], np.float32)
    patch, inside = iou_crop_params(h, w, boxes, rng)
    if patch is not None:
        out["patch"] = patch
        boxes, labels = crop_boxes(boxes, patch, inside), labels[inside]
        h, w = int(patch[3] - patch[1]), int(patch[2] - patch[0])
    out["size"] = (h, w)
    out["flip"] = bool(rng.random() < 0.5)
    out["interpolation"] = _INTERPOLATIONS[int(rng.integers(len(_INTERPOLATIONS)))]
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    out["boxes"], out["labels"] = boxes[keep], labels[keep]
    return out


def clean_boxes(boxes, labels, h, w):
    """Boxes clipped to the ``h x w`` image, zero-sized ones dropped with their labels (the
    first step of :class:`SSDAugmentation`)."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    labels = np.asarray(labels)
    if len(labels) != len(boxes):
        raise ValueError(f"{len(boxes)} boxes but {len(labels)} labels")
    boxes = np.clip(boxes, 0, np.array([w, h, w, h], np.float32))
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return boxes[keep], labels[keep]


class SSDAugmentation:
    """The SSD transform of one split: ``(rgb, boxes, labels, rng) -> (rgb, boxes, labels)``.

    ``train``: photometric distortion -> zoom-out (p 0.5, ``U[1, max_expand]``, mean fill) ->
    IoU-constrained random crop -> horizontal flip (p 0.5) -> resize to ``input_size`` squared
    with an interpolation drawn from nearest, linear, cubic, area, Lanczos-4.
    ``val`` / ``test``: resize to ``input_size`` squared, bilinear. No aspect preservation.

    ``rgb``: ``(H, W, 3)`` uint8; ``boxes``: ``(K, 4)`` continuous pixel coordinates; ``labels``:
    any array whose first axis has K entries (e.g. ``np.stack([labels, difficult], 1)``), kept
    in step with the boxes. Boxes are clipped to the image and those less than
    ``min_box_size`` output pixels wide or high dropped with their labels; coordinates stay
    floats (not rounded to integers). ``rng``: a seed or a
    ``np.random.Generator`` (the same seed gives the same result); None uses the transform's own
    generator (seeded 0 at construction). The flip and the resize are albumentations transforms
    with ``BboxParams("pascal_voc")`` (its pixel boxes are continuous coordinates too).
    The random parameters come from :func:`photometric_params` (through
    :func:`photometric_distort`) and :func:`train_geometry`.
    """

    def __init__(self, split: str, config: DetectionTransformConfig = DetectionTransformConfig()):
        if split not in ("train", "val", "test"):
            raise ValueError(f"unknown split {split!r}; expected train, val or test")
        self.split, self.config = split, config
        self._rng = np.random.default_rng(0)
        self._geometry = {}   # (flip, interpolation) -> albumentations pipeline

    def _pipeline(self, flip: bool, interpolation: int) -> A.Compose:
        key = (flip, interpolation)
        if key not in self._geometry:
            size = self.config.input_size
            steps = [A.HorizontalFlip(p=1.0)] if flip else []
            steps.append(A.Resize(size, size, interpolation=interpolation))
            params = A.BboxParams(format="pascal_voc", label_fields=["index"], clip=True,
                                  min_width=self.config.min_box_size,
                                  min_height=self.config.min_box_size)
            self._geometry[key] = A.Compose(steps, bbox_params=params, seed=0)
        return self._geometry[key]

    def __call__(self, rgb, boxes, labels, rng=None):
        rng = self._rng if rng is None else np.random.default_rng(rng)
        rgb = np.ascontiguousarray(rgb, np.uint8)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got shape {rgb.shape}")
        h, w = rgb.shape[:2]
        boxes, labels = clean_boxes(boxes, labels, h, w)
        flip, interpolation = False, cv2.INTER_LINEAR
        if self.split == "train":
            rgb = photometric_distort(rgb, rng)
            g = train_geometry(h, w, boxes, labels, rng, self.config)
            if g["expand"] is not None:
                out_h, out_w, top, left = g["expand"]
                canvas = np.empty((out_h, out_w, 3), np.uint8)
                canvas[...] = np.asarray(self.config.mean, np.uint8)
                canvas[top:top + h, left:left + w] = rgb
                rgb = canvas
            if g["patch"] is not None:
                x0, y0, x1, y1 = g["patch"]
                rgb = rgb[y0:y1, x0:x1]
            boxes, labels = g["boxes"], g["labels"]
            flip, interpolation = g["flip"], g["interpolation"]
        out = self._pipeline(flip, interpolation)(image=rgb, bboxes=boxes,
                                                  index=np.arange(len(boxes)))
        index = np.asarray(out["index"], np.int64).reshape(-1)
        out_boxes = np.asarray(out["bboxes"], np.float32).reshape(-1, 4)
        return out["image"], out_boxes, labels[index]


def make_detection_transform(split: str, config: DetectionTransformConfig =
                             DetectionTransformConfig()) -> SSDAugmentation:
    """The SSD transform of ``split`` (``train``, ``val`` or ``test``): :class:`SSDAugmentation`."""
    return SSDAugmentation(split, config)
