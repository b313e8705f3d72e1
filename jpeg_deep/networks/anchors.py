"""SSD anchor (prior) boxes, generated once from the feature-map sizes a built model has.

The same array serves the model output (its head outputs are flattened in the same order) and
the target encoder, so the grid is written in one place.

Rules (SSD300, 300x300 input, maps 38, 19, 10, 5, 3, 1 -> 8732 anchors):

* Per source map k with scale ``s_k`` (a fraction of ``size = min(image height, width)``) and
  aspect ratios ``r``: a box ``w = s_k*size*sqrt(r)``, ``h = s_k*size/sqrt(r)`` per ratio, and
  after the ratio-1 box an extra square ``1'`` of side ``sqrt(s_k*s_{k+1})*size``. Per-cell
  order: ``[1, 1', 2, 1/2, 3, 1/3]`` (the ratio list with ``1'`` right after ``1``).
  The scales list has one more entry than there are maps; the last (1.05) only sizes the ``1'``
  box of the last map. With 300 px the ``1'`` sides are 42.4, 81.6, 134.1, 185.8, 237.1, 288.4.
* Centres: ``cx = (j + offset)*step_x``, ``cy = (i + offset)*step_y`` pixels, offset 0.5, then
  divided by the image width / height. Steps 8, 16, 32, 64 px for the first four maps (38*8 =
  304 > 300: the grid is not centred on the image, as in Caffe SSD), 100 and 300 for the last two.
* Flattening order: row, column, box within the cell (row-major), maps in order. This equals a
  head's ``Conv(n_boxes*C) -> Reshape(-1, C)`` output, concatenated over the maps.
* Coordinates are normalised centroids ``(cx, cy, w, h)``; anchors are not clipped.
* Variances ``(0.1, 0.1, 0.2, 0.2)``.

Other input sizes: scales are fractions of the image, so they carry over unchanged. A step of
``None`` means ``image size / map size`` per axis. In the SSD300 configs the first four maps have
fixed steps 8, 16, 32, 64: they are the strides of those maps in the network (stride-2 layers),
true for any input size; the last two maps come from unstrided valid convolutions, so their step
is ``None`` (300/3 = 100 and 300/1 = 300 at 300 px, 512/6 and 512/4 for a 512 input). A model
with a different number of source maps needs a config with as many entries.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

VARIANCES = (0.1, 0.1, 0.2, 0.2)


@dataclass(frozen=True)
class AnchorConfig:
    """What the anchors of each source map are (one entry per map, in source order)."""

    scales: tuple[float, ...]                   # one per map, plus one for the last map's 1'
    aspect_ratios: tuple[tuple[float, ...], ...]  # per map, without the extra 1'
    steps: tuple[float | None, ...]             # pixels; None -> image size / map size
    offset: float = 0.5                         # cell-centre offset, in steps
    extra_square: bool = True                   # add the 1' box after ratio 1
    variances: tuple[float, float, float, float] = VARIANCES
    clip: bool = False                          # clip corners to the image (SSD300 does not)

    def __post_init__(self):
        n = len(self.aspect_ratios)
        if len(self.scales) != n + 1 or len(self.steps) != n:
            raise ValueError(
                f"AnchorConfig: {n} maps need {n + 1} scales and {n} steps, got "
                f"{len(self.scales)} scales and {len(self.steps)} steps")

    def boxes_per_cell(self) -> tuple[int, ...]:
        """Anchors per cell of each map (the head's ``n_boxes``)."""
        return tuple(len(r) + (self.extra_square and 1 in r) for r in self.aspect_ratios)


_RATIOS_4 = (1.0, 2.0, 0.5)
_RATIOS_6 = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)

#: SSD300 for Pascal VOC (Caffe SSD300 min sizes 30, 60, 111, 162, 213, 264 px).
SSD300_ANCHORS = AnchorConfig(
    scales=(0.1, 0.2, 0.37, 0.54, 0.71, 0.88, 1.05),
    aspect_ratios=(_RATIOS_4, _RATIOS_6, _RATIOS_6, _RATIOS_6, _RATIOS_4, _RATIOS_4),
    steps=(8, 16, 32, 64, None, None),
)
#: SSD300 for MS-COCO: smaller scales, same grid.
SSD300_COCO_ANCHORS = dataclasses.replace(
    SSD300_ANCHORS, scales=(0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05))


@dataclass(frozen=True, eq=False)
class Anchors:
    """Anchors of one model: ``boxes`` (N, 4) float32 normalised ``(cx, cy, w, h)``,
    ``variances`` (4,) float32, ``image_size`` (height, width) in pixels."""

    boxes: np.ndarray
    variances: np.ndarray
    image_size: tuple[int, int]

    def __len__(self):
        return len(self.boxes)


def _pair(v):
    return (v, v) if np.isscalar(v) else tuple(v)


def make_anchors(image_size, feature_map_sizes, config: AnchorConfig = SSD300_ANCHORS) -> Anchors:
    """Anchors for an input of ``image_size`` (int or (height, width)) whose source maps have
    ``feature_map_sizes`` (ints or (height, width) pairs, in source order)."""
    img_h, img_w = _pair(image_size)
    if len(feature_map_sizes) != len(config.aspect_ratios):
        raise ValueError(
            f"{len(feature_map_sizes)} feature maps {list(feature_map_sizes)} but the anchor "
            f"config describes {len(config.aspect_ratios)}: give a config with one entry per map")
    size = min(img_h, img_w)
    per_map = []
    for k, (fmap, ratios, step) in enumerate(
            zip(feature_map_sizes, config.aspect_ratios, config.steps)):
        fh, fw = _pair(fmap)
        step_y, step_x = (img_h / fh, img_w / fw) if step is None else _pair(step)
        scale, next_scale = config.scales[k], config.scales[k + 1]
        wh = []
        for r in ratios:
            wh.append((scale * size * np.sqrt(r), scale * size / np.sqrt(r)))
            if r == 1 and config.extra_square:
                side = np.sqrt(scale * next_scale) * size
                wh.append((side, side))
        wh = np.array(wh)                                         # (n_boxes, 2) pixels
        cy = (np.arange(fh) + config.offset) * step_y
        cx = (np.arange(fw) + config.offset) * step_x
        cyy, cxx = np.meshgrid(cy, cx, indexing="ij")             # (fh, fw): row-major cells
        boxes = np.empty((fh, fw, len(wh), 4))
        boxes[..., 0] = cxx[..., None]
        boxes[..., 1] = cyy[..., None]
        boxes[..., 2] = wh[:, 0]
        boxes[..., 3] = wh[:, 1]
        per_map.append(boxes.reshape(-1, 4))
    boxes = np.concatenate(per_map) / np.array([img_w, img_h, img_w, img_h])
    if config.clip:
        corners = np.clip(centroids_to_corners(boxes), 0.0, 1.0)
        boxes = corners_to_centroids(corners)
    return Anchors(boxes.astype(np.float32), np.array(config.variances, np.float32),
                   (int(img_h), int(img_w)))


def centroids_to_corners(boxes):
    """``(cx, cy, w, h)`` -> ``(xmin, ymin, xmax, ymax)`` (numpy, last axis)."""
    boxes = np.asarray(boxes)
    half = boxes[..., 2:4] / 2
    return np.concatenate([boxes[..., :2] - half, boxes[..., :2] + half], axis=-1)


def corners_to_centroids(boxes):
    """``(xmin, ymin, xmax, ymax)`` -> ``(cx, cy, w, h)`` (numpy, last axis)."""
    boxes = np.asarray(boxes)
    return np.concatenate([(boxes[..., :2] + boxes[..., 2:4]) / 2,
                           boxes[..., 2:4] - boxes[..., :2]], axis=-1)
