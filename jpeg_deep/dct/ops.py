"""The operations on coefficients (:mod:`jpeg_deep.dct` documents them): exact flips and
crops, resampling (resize, crop, expand, any :class:`~jpeg_deep.dct.axis.AxisOp` chain),
photometric changes, re-quantisation and chroma subsampling."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from jpeg_deep.dct.axis import AxisOp
from jpeg_deep.dct.banded import (_KERNEL, _apply, _band_operator, _kernel_axis, apply_kernel)
from jpeg_deep.dct.basis import _float_dtype

_STD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
])
_STD_CHROMA = np.array([
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    *([99] * 32),
])


# ------------------------------------------------------------------------------------------
# Exact operations.


def flip_horizontal(c: np.ndarray, width: int | None = None) -> np.ndarray:
    """Mirror left-right.

    On whole blocks (``width`` None or ``8 * blocks_w``) this is exact and keeps the dtype:
    the block columns are reversed and the coefficients of odd horizontal frequency negated
    (``x -> 7 - x`` multiplies the DCT basis of frequency ``u`` by ``(-1)**u``); bit-identical
    to ``jpegtran -flip horizontal`` on images whose width is a multiple of the MCU. With a
    ``width`` that ends inside the last block the valid pixels are shifted too, so it is done
    by resampling (float output).
    """
    if width is None or width == 8 * c.shape[-2]:
        return np.multiply(c[..., ::-1, :], _flip_signs(np.asarray(c).dtype, False))
    return resample(c, None, AxisOp(width).flip())


def flip_vertical(c: np.ndarray, height: int | None = None) -> np.ndarray:
    """Mirror top-bottom: reverse the block rows and negate the coefficients of odd vertical
    frequency (exact, bit-identical to ``jpegtran -flip vertical`` on whole blocks; ``height``
    ending inside the last block -> resampling, as in :func:`flip_horizontal`)."""
    if height is None or height == 8 * c.shape[-3]:
        return np.multiply(c[..., ::-1, :, :], _flip_signs(np.asarray(c).dtype, True))
    return resample(c, AxisOp(height).flip(), None)


@lru_cache(maxsize=32)
def _flip_signs(dtype, vertical: bool) -> np.ndarray:
    """``(64,)`` of ``dtype``: -1 at the channels a mirror negates (``8 v + u`` with ``v`` odd
    for a vertical one, ``u`` odd for a horizontal one), 1 elsewhere: one multiplication
    instead of a copy and a strided negation."""
    odd = np.arange(64) // 8 if vertical else np.arange(64) % 8
    signs = np.where(odd % 2 == 1, -1, 1).astype(dtype)
    signs.setflags(write=False)
    return signs


def _size(c, size):
    bh, bw = c.shape[-3:-1]
    if size is None:
        return 8 * bh, 8 * bw
    h, w = int(size[0]), int(size[1])
    if not (8 * bh - 8 < h <= 8 * bh and 8 * bw - 8 < w <= 8 * bw):
        raise ValueError(f"size {tuple(size)} does not fit a component of {(bh, bw)} blocks")
    return h, w


def crop(c: np.ndarray, top: int, left: int, height: int, width: int, *, size=None,
         fill: float = 0.0) -> np.ndarray:
    """The ``height x width`` window whose top-left pixel is ``(top, left)``.

    When ``top`` and ``left`` are multiples of 8 and the window lies inside the component, this
    is slicing of whole blocks (exact, dtype kept, a view; like ``jpegtran -crop WxH+X+Y``, a
    last partial block keeps the source pixels beyond the window). Otherwise the window is
    resampled (float output, padding as in the module docstring); window pixels outside the
    image (``size``, default whole blocks) take the level-shifted value ``fill``.
    """
    h, w = _size(c, size)
    if (top % 8 == 0 and left % 8 == 0 and top >= 0 and left >= 0 and height > 0 and width > 0
            and top + height <= h and left + width <= w):
        i, j = top // 8, left // 8
        return c[..., i: i + -(-height // 8), j: j + -(-width // 8), :]
    return resample(c, AxisOp(h).window(top, height), AxisOp(w).window(left, width), fill=fill)


def expand(c: np.ndarray, height: int, width: int, top: int, left: int, fill: float = 0.0, *,
           size=None) -> np.ndarray:
    """Zoom out: put the component (``size``, default whole blocks) on a ``height x width``
    canvas of the level-shifted value ``fill`` with its top-left pixel at ``(top, left)``.
    Equal to ``canvas = full(fill); canvas[top:top+h, left:left+w] = pixels`` then forward DCT
    (float output). For a colour use :func:`ycbcr_levels` and one call per component (chroma
    offsets / sizes in chroma pixels)."""
    h, w = _size(c, size)
    return resample(c, AxisOp(h).window(-top, height), AxisOp(w).window(-left, width), fill=fill)


def _resample_kernel(c: np.ndarray, rows, cols, fill: float) -> np.ndarray:
    lead = c.shape[:-3]
    bh, bw = c.shape[-3:-1]
    rp, cp = _kernel_axis(rows, bh, False), _kernel_axis(cols, bw, True)
    flat = c.reshape(-1, bh, bw, 64)
    if fill:  # R (P - fill) R.T + fill: the DCs carry the level (8 x the block mean)
        flat = flat.astype(np.float32)
        flat[..., 0] -= 8.0 * fill
    out = np.empty((len(flat), len(rp.start), len(cp.start), 64), np.float32)
    apply_kernel(list(flat), rp, cp, out=list(out))
    if fill:
        out[..., 0] += 8.0 * fill
    return out.reshape(*lead, *out.shape[1:])



def resample(c: np.ndarray, rows: AxisOp | None, cols: AxisOp | None, *,
             fill: float = 0.0) -> np.ndarray:
    """Apply the pixel resampling ``rows`` (vertical axis) and ``cols`` (horizontal axis) to a
    component, in the DCT domain: ``M' = A_h @ M @ A_w.T`` as banded products. ``None`` keeps
    an axis. ``rows.size_in`` / ``cols.size_in`` is the component's true size (it must end in
    the last block). Output pixels that the operator leaves empty (windows outside the image)
    take the level-shifted value ``fill``: the result is ``R_h (P - fill) R_w.T + fill``, the
    exact resampling of an image on an infinite canvas of ``fill``.

    ``c`` may carry leading axes ``(..., blocks_h, blocks_w, 64)`` (e.g. Cb and Cr stacked, or
    a batch of same-sized images): they all get the same operators, in one product.
    """
    c = np.asarray(c)
    dtype = _float_dtype(c)
    if dtype == np.float32 and _KERNEL != "numpy" and c.ndim >= 3:
        return _resample_kernel(c, rows, cols, fill)
    lead = c.shape[:-3]
    bh, bw = c.shape[-3:-1]
    ops = []
    if rows is not None:
        ops.append((0, rows, bh))
    if cols is not None:
        ops.append((1, cols, bw))
    # Tiled matrices M (L, 8 bh, 8 bw); the vertical operator first, then the horizontal one
    # on the transpose (measured faster than any other order of copies on a 500x375 image).
    m = np.empty((int(np.prod(lead, dtype=int)), bh, 8, bw, 8), dtype)
    m[...] = c.reshape(-1, bh, bw, 8, 8).transpose(0, 1, 3, 2, 4)
    m = m.reshape(-1, 8 * bh, 8 * bw)
    transposed = False
    if fill:
        m[:, ::8, ::8] -= 8.0 * fill
    for axis, op, nb in ops:
        b = _band_operator(op, nb)
        band = b.band if dtype == np.float64 else b.band32
        if (axis == 1) != transposed:  # bring the axis to transform to the rows
            m = np.ascontiguousarray(m.swapaxes(1, 2))
            transposed = not transposed
        m = _apply(m, b, band)
    if fill:
        m[:, ::8, ::8] += 8.0 * fill
    if transposed:
        m = m.swapaxes(1, 2)
    oh, ow = m.shape[1] // 8, m.shape[2] // 8
    out = np.empty((m.shape[0], oh, ow, 8, 8), dtype)
    out[...] = m.reshape(-1, oh, 8, ow, 8).swapaxes(2, 3)
    return out.reshape(*lead, oh, ow, 64)


def resize(c: np.ndarray, height: int, width: int, interpolation: str = "linear", *,
           size=None) -> np.ndarray:
    """Resize a component (true size ``size``, default whole blocks) to ``height x width``
    pixels: equal to "inverse DCT, ``cv2.resize(..., (width, height), interpolation=
    INTER_LINEAR | INTER_AREA)`` on float pixels, forward DCT" (``"linear"`` / ``"area"``),
    any ratio up or down, without pixels; the operator cost depends on the sizes only (no
    gcd). Output: ``ceil(height/8) x ceil(width/8)`` blocks (padding: module docstring)."""
    h, w = _size(c, size)
    if interpolation == "linear":
        kh = kw = "linear"
    elif interpolation == "area":
        kh = kw = "area" if (height <= h and width <= w) else "area_up"
    else:
        raise ValueError(f"interpolation must be 'linear' or 'area', not {interpolation!r}")
    return resample(c, AxisOp(h).resize(height, kh), AxisOp(w).resize(width, kw))


# ------------------------------------------------------------------------------------------
# Photometric operations (pixel-domain equivalents on level-shifted YCbCr, no clipping).


def adjust_brightness(y: np.ndarray, delta: float) -> np.ndarray:
    """``Y + delta`` (pixel levels): adds ``8 * delta`` to every DC (the 8x8 DC is 8 x mean)."""
    out = np.array(y, _float_dtype(y))
    out[..., 0] += 8.0 * delta
    return out


def adjust_contrast(y: np.ndarray, factor: float, mean: float | None = None) -> np.ndarray:
    """``mean + factor * (Y - mean)``: AC coefficients scaled by ``factor``, DC scaled about
    ``8 * mean``. ``mean`` (level-shifted) defaults to the mean of Y over the whole block grid
    (the mean of the DCs / 8, padding pixels included); pass ``mean=-0.5`` for SSD's "about
    127.5"."""
    out = np.array(y, _float_dtype(y))
    if mean is None:
        mean = out[..., 0].mean(axis=(-2, -1), keepdims=True) / 8.0  # per component
    out *= factor
    out[..., 0] += 8.0 * mean * (1.0 - factor)
    return out


def adjust_saturation(cb: np.ndarray, cr: np.ndarray, factor: float):
    """``(factor * Cb, factor * Cr)`` (level-shifted, every coefficient). For JPEG's YCbCr this
    equals blending RGB with its luma, ``Y + factor * (RGB - Y)`` (PIL ``ImageEnhance.Color``),
    Y unchanged, before clipping."""
    dt = _float_dtype(cb)
    return np.asarray(cb, dt) * factor, np.asarray(cr, dt) * factor


def adjust_hue(cb: np.ndarray, cr: np.ndarray, degrees: float):
    """Rotate the chroma vector of every pixel by ``degrees`` (from +Cb towards +Cr):
    ``Cb' = cos t Cb - sin t Cr``, ``Cr' = sin t Cb + cos t Cr`` applied to all coefficients
    (linear, so per pixel too). A hue change in YCbCr, not the HSV hue of RGB."""
    t = np.deg2rad(degrees)
    dt = _float_dtype(cb)
    cb, cr = np.asarray(cb, dt), np.asarray(cr, dt)
    co, si = dt.type(np.cos(t)), dt.type(np.sin(t))
    return co * cb - si * cr, si * cb + co * cr


# ------------------------------------------------------------------------------------------
# Quantisation.


def quantization_table(quality: int, component: str = "luma", *,
                       force_baseline: bool = True) -> np.ndarray:
    """The 64 quantisation steps (natural order, int32) libjpeg's ``jpeg_set_quality`` writes:
    the standard (JPEG Annex K) table scaled by ``5000 / q`` for ``q < 50`` and ``200 - 2q``
    otherwise, ``(t * scale + 50) // 100`` clipped to ``[1, 255]`` (``[1, 32767]`` without
    ``force_baseline``)."""
    q = int(quality)
    if not 1 <= q <= 100:
        raise ValueError(f"quality must be in 1..100, not {quality}")
    std = {"luma": _STD_LUMA, "chroma": _STD_CHROMA}[component]
    scale = 5000 // q if q < 50 else 200 - 2 * q
    t = (std * scale + 50) // 100
    return np.clip(t, 1, 255 if force_baseline else 32767).astype(np.int32)


def requantize(c: np.ndarray, quality: int, component: str = "luma") -> np.ndarray:
    """The de-quantised coefficients a JPEG of ``quality`` would store for these coefficients:
    each rounded (half away from zero, as libjpeg does) to a multiple of its step in
    :func:`quantization_table`. Integer input (the reader's ``int16``) keeps its dtype, float
    input gives float (module rules). The pixel-domain rounding and clipping of a real decode
    and re-encode are not modelled: against PIL decoding and re-encoding a photo, 99 % of the
    coefficients agree (see ``tests/dct/test_ops.py``)."""
    table = quantization_table(quality, component).astype(np.float64)
    x = np.asarray(c)
    q = np.sign(x) * np.floor(np.abs(x.astype(np.float64)) / table + 0.5) * table
    if np.issubdtype(x.dtype, np.integer):
        return q.astype(x.dtype)
    return q.astype(_float_dtype(x))


# ------------------------------------------------------------------------------------------
# Chroma subsampling.


def to_420(y: np.ndarray, cb: np.ndarray | None, cr: np.ndarray | None, sampling: str, *,
           size=None):
    """Bring a file's components to the networks' 4:2:0 layout, in the DCT domain.

    ``sampling`` is the file's (``JpegInfo.subsampling``): ``"4:2:0"`` (returned unchanged),
    ``"4:4:4"``, ``"4:2:2"`` (chroma full height, half width), ``"4:4:0"`` (half height, full
    width) or ``"gray"`` (``cb`` / ``cr`` ignored, may be None). ``size`` is the image's
    ``(height, width)`` (default: Y's whole blocks). Chroma is halved along each full-resolution
    axis by a 2:1 box filter with the last pixel repeated for an odd size -- a JPEG encoder's
    4:2:0 downsampling; for even sizes it equals ``cv2.resize`` INTER_AREA (and INTER_LINEAR) to
    half size. Output chroma: ``ceil(H/16) x ceil(W/16)`` blocks, float; grayscale gives zero
    coefficients (Cb = Cr = 128, neutral). Y is returned as given.
    """
    h, w = _size(y, size)
    out_shape = (-(-h // 16), -(-w // 16), 64)
    if sampling == "4:2:0":
        return y, cb, cr
    if sampling == "gray":
        zeros = np.zeros(out_shape, np.float32)
        return y, zeros, zeros.copy()
    halve = {"4:4:4": (True, True), "4:2:2": (True, False), "4:4:0": (False, True)}
    if sampling not in halve:
        raise ValueError(f"unsupported sampling {sampling!r}")
    vertical, horizontal = halve[sampling]
    ch = h if vertical else -(-h // 2)   # chroma size in the file
    cw = w if horizontal else -(-w // 2)
    rows = AxisOp(ch).halve() if vertical else None
    cols = AxisOp(cw).halve() if horizontal else None
    outs = []
    for comp in (cb, cr):
        _size(comp, (ch, cw))  # checks the grid
        outs.append(resample(comp, rows, cols))
    return (y, *outs)

