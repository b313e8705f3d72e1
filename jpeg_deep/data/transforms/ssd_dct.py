"""The SSD transforms of :mod:`jpeg_deep.data.datasets`, in the DCT domain, boxes included.

:class:`SSDDCTAugmentation` is ``(y, cb, cr, boxes, labels, rng, size) -> (y, cb, cr, boxes,
labels)`` on the reader's layout (:func:`jpeg_deep.codec.readers.read_dct`: Y ``(ceil(h/8),
ceil(w/8), 64)``, Cb / Cr ``(ceil(h/16), ceil(w/16), 64)``, 4:2:0). It draws its random
parameters with the RGB chain's own code (:func:`~jpeg_deep.data.transforms.ssd.photometric_params`,
then :func:`~jpeg_deep.data.transforms.ssd.train_geometry`: zoom-out, IoU-constrained crop, flip,
interpolation), so for one seed both chains take the same parameters and give the same boxes
(tested to float rounding), and it never decodes the image:

``train``  photometric distortions, zoom-out onto a canvas of the mean colour (p 0.5, up to
           ``max_expand``), IoU-constrained random crop, horizontal flip (p 0.5), resize to
           ``input_size`` squared with the drawn interpolation (nearest, linear, cubic, area,
           Lanczos-4: the same cv2 kernel on each axis)
``val``,   resize to ``input_size`` squared, bilinear
``test``

Output: float32, Y ``(ceil(S/8), ceil(S/8), 64)`` and Cb / Cr ``(ceil(S/16), ceil(S/16), 64)``
for ``S = input_size`` (300: 38 and 19 blocks): the layout the RGB chain's re-encoded JPEG reads
back as, so :func:`jpeg_deep.data.transforms.layout.dct_layout` works unchanged.

Geometry: one resampling per axis and component. Zoom-out and crop are one window of the image
(pixels outside it are the fill), then the flip and the resize; the chroma is upsampled 2x
first (cv2 INTER_LINEAR: libjpeg's "fancy" upsampling) and box-filtered 2:1 at the end (a 4:2:0
encoder), as decoding, transforming the RGB image and re-encoding it would -- all composed as
taps of the pixel matrix (the window and the flip only re-index the resize's taps), turned into
a banded DCT-domain operator (:func:`jpeg_deep.dct.band_from_taps`, compiled where the
kernel is in use) and
applied, only to the output blocks the image reaches, as one gather and one batched
``(8, 8k)`` product per axis. The fill costs little: the output is ``R(P) + fill * (1 -
R(1))`` and ``R(1)`` (the share of image in each output pixel) is a rank-one image per
component whose 8x8 DCT is an outer product of two short vectors (nothing at all when the
window lies inside the image). Accuracy
(``tests/data/transforms/test_ssd_dct.py``): equal to "inverse DCT, the same operations on float32 Y, Cb,
Cr planes with OpenCV (``cv2.resize`` with the same interpolation flag) / numpy (canvas,
slicing, flip), forward DCT" within ``2e-2`` on the 0..255 pixel scale for cubic (OpenCV keeps
its cubic weights in float32: measured <= 1.2e-2 on noise images) and ``2e-3`` for the other
kernels (measured <= 2e-4).

Photometric distortions, on the output coefficients (the algebra moves them through the linear
geometry; the canvas fill is not distorted, as in the RGB chain where they come before the
zoom-out). Same probabilities, ranges and draws as
:func:`~jpeg_deep.data.transforms.ssd.photometric_distort`:

============  ================================================  ============================
step          in the DCT domain (level-shifted Y, Cb, Cr)        vs the RGB chain
============  ================================================  ============================
brightness    ``Y + delta`` (every DC + 8 delta),                exact (RGB + delta keeps
``U[-32,32]`` Cb, Cr unchanged                                   Cb, Cr), before clipping
contrast      ``Y -> f (Y + 0.5) - 0.5`` (about 127.5),          exact (the chroma of a
``U[.5,1.5]`` ``Cb, Cr -> f Cb, f Cr``                            contrast change scales by
                                                                  f), before clipping
saturation    ``Cb, Cr -> s Cb, s Cr``, Y kept                   approximate: HSV scales S
``U[.5,1.5]``                                                    and keeps V = max(R, G, B),
                                                                  this keeps the luma
hue           chroma vector rotated by ``2 h`` degrees           approximate: HSV's hue
``U[-18,18]`` (+Cb towards +Cr: the direction of increasing       circle is not the CbCr
(OpenCV       HSV hue)                                            circle (close, not equal)
units)
============  ================================================  ============================

Without pixels there is no per-pixel clipping to 0..255 after each step (the RGB chain rounds
and clips after every step); only the block means of Y are kept in 0..255 (DC clipped). In
YCbCr, without clipping, the two orders of the RGB chain (contrast first or last) give the same
result, so the order drawn only keeps the random stream in step.

Boxes: those of :func:`~jpeg_deep.data.transforms.ssd.train_geometry` (zoom-out shift, crop), then
the flip, the scale to the output and albumentations' rules of the RGB chain: clipped to the
image, dropped when narrower or lower than ``min_box_size`` (after the flip in the cropped
image's pixels, as albumentations checks after each transform, then in output pixels).
"""
from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from jpeg_deep import dct
from jpeg_deep.data.transforms import classification_dct as _dt
from jpeg_deep.data.transforms.ssd import (
    DetectionTransformConfig,
    clean_boxes,
    photometric_params,
    train_geometry,
)

__all__ = ["SSDDCTAugmentation", "make_detection_dct_transform", "resize_taps", "axis_taps"]

_EPS = 1e-7  # albumentations' filter_bboxes tolerance


# ------------------------------------------------------------------------------------------
# cv2.resize kernels along one axis as taps: (cols (n_out, T) int64, weights (n_out, T)).


def _centres(n_in, n_out):
    """cv2's source coordinate of each output pixel (half-pixel centres, computed in float32
    as cv2 does) -> integer part, fractional part."""
    fx = ((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5).astype(np.float32).astype(np.float64)
    sx = np.floor(fx)
    return sx.astype(np.int64), fx - sx


def _nearest(n_in, n_out):
    """cv2 INTER_NEAREST: ``floor(dst * n_in / n_out)`` (no half-pixel shift), the scale
    computed as OpenCV does (``1 / (n_out / n_in)``: exact multiples may round down)."""
    sx = np.floor(np.arange(n_out) * (1.0 / (n_out / n_in))).astype(np.int64)
    return np.minimum(sx, n_in - 1)[:, None], np.ones((n_out, 1))


def _linear(n_in, n_out):
    return dct.linear_taps(n_in, n_out)


def _cubic(n_in, n_out, a=-0.75):
    """cv2 INTER_CUBIC (Keys, ``A = -0.75``), edge pixels repeated."""
    sx, x = _centres(n_in, n_out)
    x = x.astype(np.float32)
    c0 = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a
    c1 = ((a + 2) * x - (a + 3)) * x * x + 1
    c2 = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1
    w = np.stack([c0, c1, c2, 1 - c0 - c1 - c2], 1).astype(np.float64)
    return np.clip(sx[:, None] + np.arange(-1, 3), 0, n_in - 1), w


def _lanczos4(n_in, n_out):
    """cv2 INTER_LANCZOS4: ``sinc(d) sinc(d / 4)`` on 8 taps, normalised, edges repeated."""
    sx, x = _centres(n_in, n_out)
    d = x[:, None] + 3 - np.arange(8)
    w = np.sinc(d) * np.sinc(d / 4)
    return np.clip(sx[:, None] + np.arange(-3, 5), 0, n_in - 1), w / w.sum(1, keepdims=True)


def _area(n_in, n_out):
    """cv2 INTER_AREA when no axis is enlarged: the mean over ``[i s, (i + 1) s)``."""
    return dct.area_taps(n_in, n_out)


def _area_up(n_in, n_out):
    """cv2 INTER_AREA when some axis is enlarged (then on both axes): two taps."""
    return dct.area_taps(n_in, n_out, enlarged=True)


_KERNELS = {cv2.INTER_NEAREST: _nearest, cv2.INTER_LINEAR: _linear, cv2.INTER_CUBIC: _cubic,
            cv2.INTER_LANCZOS4: _lanczos4}


@lru_cache(maxsize=1024)
def resize_taps(n_in: int, n_out: int, interpolation: int, enlarged: bool = False):
    """``cv2.resize`` of float images along one axis, ``n_in -> n_out`` pixels, as taps
    ``(cols, weights)``; ``enlarged``: some axis of the image is enlarged (INTER_AREA then uses
    its two-tap formula on both axes). Read-only arrays (cached)."""
    if interpolation == cv2.INTER_AREA:
        cols, w = (_area_up if enlarged else _area)(n_in, n_out)
    else:
        cols, w = _KERNELS[interpolation](n_in, n_out)
    cols, w = np.ascontiguousarray(cols, np.int64), np.ascontiguousarray(w, np.float64)
    cols.setflags(write=False)
    w.setflags(write=False)
    return cols, w


@lru_cache(maxsize=64)
def _upsample_taps(n_in: int):
    """Chroma of an ``n_in``-pixel axis at full resolution: ``ceil(n_in / 2)`` pixels, 2x cv2
    INTER_LINEAR (libjpeg's fancy upsampling), cut to ``n_in``: taps ``(n_in, 2)``."""
    cn = -(-n_in // 2)
    return tuple(a[:n_in] for a in resize_taps(cn, 2 * cn, cv2.INTER_LINEAR))


def axis_taps(n_in: int, chroma: bool, window, flip: bool, n_out: int, interpolation: int,
              enlarged: bool = False):
    """Taps of one axis of the SSD geometry on an image axis of ``n_in`` pixels: [window
    ``(start, length)``: the zoom-out and the crop, outside pixels empty] -> [flip] -> resize to
    ``n_out`` -> for chroma, from the upsampled chroma (``ceil(n_in / 2)`` pixels, 2x
    INTER_LINEAR, cut to ``n_in``) and halved (2:1 box) at the end. Rows whose weights sum to
    less than 1 read the fill for the rest. The window and the flip only re-index the resize's
    taps (a tap outside the image gets weight 0)."""
    start, length = (0, n_in) if window is None else window
    cols, w = resize_taps(length, n_out, interpolation, enlarged)
    if flip:
        cols = length - 1 - cols
    if start or length != n_in:
        cols = cols + start
        inside = (cols >= 0) & (cols < n_in)
        cols, w = np.where(inside, cols, 0), np.where(inside, w, 0.0)
    if chroma:  # from the upsampled chroma, then the 2:1 box (last row repeated)
        cols, w = dct.compose_taps(*_upsample_taps(n_in), cols, w)
        cols, w = dct.compose_taps(cols, w, *dct.halve_taps(len(cols)))
    return cols, w


# ------------------------------------------------------------------------------------------
# Plans: the banded operator of an axis and the DCT of its row sums (for the fill).


class _AxisPlan:
    """The banded DCT operator of one axis, restricted to the output blocks the image reaches
    (the others are pure fill): output block ``i0 + j`` = ``band[j] @ input blocks start[j] ..
    start[j] + k - 1``; ``mask`` is the blockwise 8-point DCT ``(nb_out, 8)`` of the operator's
    row sums (the share of image in each output pixel; edge padding repeated)."""

    __slots__ = ("nb_out", "i0", "i1", "start", "band", "k", "lo", "hi", "mask")

    def __init__(self, cols, w, nb_in):
        start, band = _dt.band_from_taps(cols, w, nb_in)
        n = len(cols)
        self.nb_out = nb = -(-n // 8)
        rows = np.minimum(np.arange(8 * nb), n - 1)
        sums = w.sum(1)[rows].reshape(nb, 8)
        active = np.flatnonzero((w != 0).any(1)[rows].reshape(nb, 8).any(1))
        self.i0, self.i1 = (int(active[0]), int(active[-1]) + 1) if len(active) else (0, 0)
        self.start = start[self.i0:self.i1]
        self.band = band[self.i0:self.i1]
        self.k = band.shape[2] // 8
        self.lo = int(self.start.min()) if len(active) else 0
        self.hi = int(self.start.max()) + self.k if len(active) else 0
        self.mask = (sums @ dct.dct_matrix(8).T).astype(np.float32)
def _apply(comps, rows: _AxisPlan, cols: _AxisPlan) -> np.ndarray:
    """Resample same-shaped components with two axis plans -> float32 ``(L, nb_h, nb_w, 64)``
    (zero outside the blocks the image reaches), by :func:`jpeg_deep.dct.apply_plans` (the
    compiled kernel where it is in use, else numpy)."""
    n = len(comps)
    out = np.zeros((n, rows.nb_out, cols.nb_out, 8, 8), np.float32)
    nbr, nbc = rows.i1 - rows.i0, cols.i1 - cols.i0
    if not (nbr and nbc):
        return out.reshape(n, rows.nb_out, cols.nb_out, 64)
    row_plan, col_plan = (rows.start, rows.band), (cols.start, cols.band)
    if _dt.kernel_in_use():
        row_plan, col_plan = dct.KernelPlan.of(row_plan, False), dct.KernelPlan.of(col_plan, True)
    out[:, rows.i0:rows.i1, cols.i0:cols.i1] = dct.apply_plans(
        comps, row_plan, col_plan).reshape(n, nbr, nbc, 8, 8)
    return out.reshape(n, rows.nb_out, cols.nb_out, 64)


@lru_cache(maxsize=256)
def _eval_plan(n_in: int, n_out: int, chroma: bool):
    """The val / test axis (bilinear resize only), cached per size."""
    cols, w = axis_taps(n_in, chroma, None, False, n_out, cv2.INTER_LINEAR)
    nb_in = -(-(-(-n_in // 2) if chroma else n_in) // 8)
    return _AxisPlan(cols, w, nb_in)


def _fill_image(mask_rows, mask_cols):
    """The 8x8 DCT ``(nb_h, nb_w, 64)`` of the image ``R(1)`` from the two axes' masks."""
    return (mask_rows[:, None, :, None] * mask_cols[None, :, None, :]).reshape(
        len(mask_rows), len(mask_cols), 64)


# ------------------------------------------------------------------------------------------
# Boxes after train_geometry: flip, resize, albumentations' clip and filter.


def _keep(boxes, min_size):
    """albumentations' filter_bboxes (clip=True): area > 0, sides >= ``min_size``."""
    wh = boxes[:, 2:] - boxes[:, :2]
    return ((wh[:, 0] * wh[:, 1] >= _EPS) & (wh[:, 0] >= min_size - _EPS)
            & (wh[:, 1] >= min_size - _EPS))


def final_boxes(boxes, labels, size, flip: bool, out_size: int, min_size: float):
    """Boxes in the ``size = (h, w)`` image -> flipped (when ``flip``) and scaled to the
    ``out_size`` squared output, clipped, the small ones dropped with their labels, as the RGB
    chain's albumentations ``HorizontalFlip`` + ``Resize`` with ``BboxParams(clip=True,
    min_width=min_size, min_height=min_size)`` do."""
    h, w = size
    b = np.asarray(boxes, np.float64).reshape(-1, 4) / np.array([w, h, w, h])
    b = np.clip(b, 0, 1)
    keep = _keep(b * [w, h, w, h], 0.0)
    b, labels = b[keep], labels[keep]
    if flip:
        b = np.stack([1 - b[:, 2], b[:, 1], 1 - b[:, 0], b[:, 3]], 1)
        keep = _keep(b * [w, h, w, h], min_size)
        b, labels = b[keep], labels[keep]
    b = b * out_size
    keep = _keep(b, min_size)
    return b[keep].astype(np.float32), labels[keep]


# ------------------------------------------------------------------------------------------
# The transform.


class SSDDCTAugmentation:
    """The SSD transform of one split on DCT coefficients (see the module docstring):
    ``(y, cb, cr, boxes, labels, rng=None, size=None) -> (y, cb, cr, boxes, labels)``.

    ``size`` is the image's ``(height, width)`` (the JPEG header's), by default the whole Y
    block grid. ``boxes`` ``(K, 4)`` continuous pixel coordinates, ``labels`` any array with K
    rows (kept in step); output boxes in network-input pixels. ``rng``: a seed or a
    ``numpy.random.Generator``: the same seed draws the same parameters as
    :class:`~jpeg_deep.data.transforms.ssd.SSDAugmentation` (None: the transform's own generator,
    seeded 0). Picklable."""

    def __init__(self, split: str, config: DetectionTransformConfig = DetectionTransformConfig()):
        if split not in ("train", "val", "test"):
            raise ValueError(f"unknown split {split!r}; expected train, val or test")
        self.split, self.config = split, config
        self._rng = np.random.default_rng(0)
        self.fill = dct.ycbcr_levels(config.mean)   # level-shifted Y, Cb, Cr of the mean

    def __repr__(self):
        return f"SSDDCTAugmentation({self.split!r}, {self.config})"

    def params(self, h, w, boxes, labels, rng) -> dict:
        """The random parameters of one training sample (boxes cleaned first), in the RGB
        chain's order: ``{"photometric": ..., **train_geometry(...)}``."""
        boxes, labels = clean_boxes(boxes, labels, h, w)
        photometric = photometric_params(rng)
        return {"photometric": photometric, **train_geometry(h, w, boxes, labels, rng,
                                                             self.config)}

    def __call__(self, y, cb, cr, boxes, labels, rng=None, size=None):
        rng = self._rng if rng is None else np.random.default_rng(rng)
        h, w = (8 * y.shape[0], 8 * y.shape[1]) if size is None else (int(size[0]),
                                                                      int(size[1]))
        s = self.config.input_size
        if self.split != "train":
            boxes, labels = clean_boxes(boxes, labels, h, w)
            y_out = _apply([y], _eval_plan(h, s, False), _eval_plan(w, s, False))[0]
            cb_out, cr_out = _apply([cb, cr], _eval_plan(h, s, True), _eval_plan(w, s, True))
            boxes, labels = final_boxes(boxes, labels, (h, w), False, s,
                                        self.config.min_box_size)
            return y_out, cb_out, cr_out, boxes, labels
        p = self.params(h, w, boxes, labels, rng)
        y_out, cb_out, cr_out = self.coefficients(y, cb, cr, h, w, p)
        boxes, labels = final_boxes(p["boxes"], p["labels"], p["size"], p["flip"], s,
                                    self.config.min_box_size)
        return y_out, cb_out, cr_out, boxes, labels

    def coefficients(self, y, cb, cr, h, w, p):
        """The training output coefficients of parameters ``p`` (:meth:`params`)."""
        s = self.config.input_size
        top = left = 0
        if p["expand"] is not None:
            _, _, top, left = p["expand"]
        ph, pw = p["size"]
        oy, ox = -top, -left                       # the window's origin in the image
        if p["patch"] is not None:
            ox, oy = ox + int(p["patch"][0]), oy + int(p["patch"][1])
        rows_win = None if (oy, ph) == (0, h) else (oy, ph)
        cols_win = None if (ox, pw) == (0, w) else (ox, pw)
        interp, enlarged = p["interpolation"], s > ph or s > pw
        # a window inside the image reads no fill: R(1) = 1, no mask needed
        inside = oy >= 0 and ox >= 0 and oy + ph <= h and ox + pw <= w
        outs, masks = [], None if inside else []
        for chroma, comps in ((False, [y]), (True, [cb, cr])):
            nb_h, nb_w = comps[0].shape[:2]
            rows = _AxisPlan(*axis_taps(h, chroma, rows_win, False, s, interp, enlarged), nb_h)
            cols = _AxisPlan(*axis_taps(w, chroma, cols_win, p["flip"], s, interp, enlarged),
                             nb_w)
            outs.append(_apply(comps, rows, cols))
            if masks is not None:
                masks.append(_fill_image(rows.mask, cols.mask))
        (y_out,), (cb_out, cr_out) = outs
        return self._photometric(y_out, cb_out, cr_out, masks, p["photometric"])

    def _photometric(self, y, cb, cr, masks, p):
        """Output = photometric(R(P)) + fill (1 - R(1)): Y ``a R(Y) + (b - f) R(1) + f``,
        chroma ``M R(C) - f_c R(1) + f_c`` (``R(1)`` in ``masks``, DCs of a constant: 8x;
        ``masks`` None: the window lies inside the image, ``R(1) = 1``)."""
        a, b = 1.0, 0.0
        if p["brightness"] is not None:
            b = p["brightness"]
        c = 1.0
        if p["contrast"] is not None:
            c = p["contrast"]
            a, b = c, c * (b + 0.5) - 0.5
        scale = c * (1.0 if p["saturation"] is None else p["saturation"])
        angle = 0.0 if p["hue"] is None else np.deg2rad(2.0 * p["hue"])
        fy, fcb, fcr = (float(v) for v in self.fill)
        if masks is None:   # no fill in the output
            fy = fcb = fcr = 0.0
        if a != 1.0:
            y *= np.float32(a)
        if masks is not None:
            y += np.float32(b - fy) * masks[0]
            y[..., 0] += np.float32(8 * fy)
        elif b:
            y[..., 0] += np.float32(8 * b)
        np.clip(y[..., 0], -1024.0, 1016.0, out=y[..., 0])   # block means within 0..255
        m00 = m11 = scale * math.cos(angle)
        m10 = scale * math.sin(angle)
        m01 = -m10
        if angle:
            cb, cr = (np.float32(m00) * cb + np.float32(m01) * cr,
                      np.float32(m10) * cb + np.float32(m11) * cr)
        elif scale != 1.0:
            cb *= np.float32(scale)
            cr *= np.float32(scale)
        for comp, f in ((cb, fcb), (cr, fcr)):
            if masks is not None and f:
                comp -= np.float32(f) * masks[1]
                comp[..., 0] += np.float32(8 * f)
        return y, cb, cr


def make_detection_dct_transform(split: str, config: DetectionTransformConfig =
                                 DetectionTransformConfig()) -> SSDDCTAugmentation:
    """The DCT-domain SSD transform of ``split`` (``train``, ``val`` or ``test``)."""
    return SSDDCTAugmentation(split, config)
