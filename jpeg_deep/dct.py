"""Image operations on JPEG DCT coefficients, without decoding to pixels (numpy only).

Layout (the one :func:`jpeg_deep.data.readers.read_dct` returns): a *component* (Y, Cb or Cr) is
an array ``(blocks_h, blocks_w, 64)``, one 8x8 block per cell, de-quantised, in natural row-major
frequency order: channel ``8 * v + u`` holds vertical frequency ``v`` and horizontal frequency
``u``. Each block is the orthonormal 2-D DCT-II (:func:`dct_matrix`) of the *level-shifted*
pixels (value - 128), so a block's DC is ``8 * (mean pixel - 128)``. A component of ``h x w``
pixels has ``ceil(h/8) x ceil(w/8)`` blocks; the pixels of the last block row / column beyond
``h`` / ``w`` are padding. Sizes and offsets below are in pixels *of that component* (a 4:2:0
chroma component of a 500x375 image is 250x188 pixels); functions that need to know the true
size take ``size=(h, w)`` and otherwise assume whole blocks (``8 * blocks``).

Exact operations (they keep the dtype, e.g. ``int16``): :func:`flip_horizontal`,
:func:`flip_vertical` on whole blocks and block-aligned :func:`crop` -- bit-identical to
``jpegtran -flip horizontal|vertical`` and ``jpegtran -crop``.

Resampling operations (:func:`resize`, :func:`crop` at any offset, :func:`expand`, flips of a
partial block grid, :func:`to_420`, and any composition of them through :class:`AxisOp` and
:func:`resample`) are separable linear maps. If ``R`` (``n_out x n_in``) resamples the pixels of
one axis, the tiled coefficients ``M`` (``8 * blocks_h x 8 * blocks_w``; block ``(i, j)`` at rows
``8i..8i+7``, columns ``8j..8j+7``, ``M[8i + v, 8j + u] = c[i, j, 8v + u]``) become
``M' = A_h @ M @ A_w.T`` with ``A = (I (x) C8) R (I (x) C8).T``. ``A`` is block-banded: an output
block depends on the few input blocks its pixels are interpolated from, so each operator is
stored (cached per shape) as one ``(8, 8 * K)`` slice per output block row plus the index of its
first input block, and applied as a batched product over those slices only. The result equals
"inverse DCT, the same operation on float pixels (OpenCV ``cv2.resize`` / slicing / padding),
forward DCT" up to float rounding: measured at most 3e-5 on the 0..255 pixel scale in float32
and 2e-12 in float64 (the weights are OpenCV's own; see ``tests/test_dct.py``).

Outputs of resampling operations have ``ceil(n/8)`` blocks per axis for ``n`` output pixels;
when ``n`` is not a multiple of 8, the padding pixels of the last block repeat the last valid
pixel row / column (what a JPEG encoder does at the image edge), so DCs stay block means of
real content.

Output dtype of the float operations: ``float64`` for ``float64`` input, else ``float32``.
Pixel-valued arguments (``fill``, ``delta``, ``mean``) are *level-shifted* values (pixel - 128,
so 0 is mid-grey and, for Cb / Cr, no colour); :func:`ycbcr_levels` converts an RGB colour.

Speed: float32 resampling (int16 or float32 input) runs on the compiled kernel
(``jpeg_deep/_banded.c``, :func:`kernel_variant`) that the DCT-domain training transforms use,
with the operators of each size cached; float64 input, or no kernel (``kernel_variant() ==
"numpy"``), takes numpy's banded products. ``benchmarks/input_pipeline.py`` times a user's
chain (read, resize, crop, flip) against the reader alone (row 3).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

try:  # the compiled kernel (jpeg_deep/_banded.c), built at install where a C compiler is found
    from jpeg_deep import _banded
except ImportError:  # pragma: no cover - installed without a compiler: numpy products
    _banded = None

__all__ = [
    "dct_matrix",
    "blocks_to_pixels",
    "pixels_to_blocks",
    "ycbcr_levels",
    "flip_horizontal",
    "flip_vertical",
    "crop",
    "resize",
    "expand",
    "AxisOp",
    "resample",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_saturation",
    "adjust_hue",
    "quantization_table",
    "requantize",
    "to_420",
]

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
# The transform itself.


@lru_cache(maxsize=None)
def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)
    c = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))
    c[0] /= np.sqrt(2.0)
    c.setflags(write=False)
    return c


def dct_matrix(n: int = 8) -> np.ndarray:
    """The orthonormal ``n``-point DCT-II matrix (float64, a new array each call).

    ``C[k, x] = s_k * cos(pi * (2x + 1) * k / (2n))`` with ``s_0 = sqrt(1/n)`` and
    ``s_k = sqrt(2/n)`` otherwise; ``C @ C.T = I``. JPEG's 8x8 block transform is
    ``coef = C @ block @ C.T`` (rows: vertical frequency ``v``; columns: horizontal ``u``) on
    level-shifted pixels, and ``block = C.T @ coef @ C``.
    """
    return _dct_matrix(int(n)).copy()


def _float_dtype(c) -> np.dtype:
    return np.dtype(np.float64) if np.asarray(c).dtype == np.float64 else np.dtype(np.float32)


def _tiles(c: np.ndarray, dtype) -> np.ndarray:
    """``(bh, bw, 64)`` -> tiled coefficient matrix ``(8 bh, 8 bw)`` (a new array)."""
    bh, bw = c.shape[:2]
    out = np.empty((bh, 8, bw, 8), dtype)
    out[...] = c.reshape(bh, bw, 8, 8).transpose(0, 2, 1, 3)
    return out.reshape(8 * bh, 8 * bw)


def _untile(m: np.ndarray) -> np.ndarray:
    bh, bw = m.shape[0] // 8, m.shape[1] // 8
    out = np.empty((bh, bw, 8, 8), m.dtype)
    out[...] = m.reshape(bh, 8, bw, 8).transpose(0, 2, 1, 3)
    return out.reshape(bh, bw, 64)


def blocks_to_pixels(c: np.ndarray) -> np.ndarray:
    """Inverse 8x8 DCT of a whole component: ``(bh, bw, 64)`` -> float64 level-shifted pixels
    ``(8 bh, 8 bw)`` (add 128 for the 0..255 scale; no rounding, no clipping)."""
    c8 = _dct_matrix(8)
    bh, bw = c.shape[:2]
    b = np.asarray(c, np.float64).reshape(bh, bw, 8, 8)
    p = np.einsum("vx,ijvu,uy->ixjy", c8, b, c8, optimize=True)
    return p.reshape(8 * bh, 8 * bw)


def pixels_to_blocks(p: np.ndarray) -> np.ndarray:
    """Forward 8x8 DCT of level-shifted pixels ``(h, w)`` -> float64 ``(ceil(h/8), ceil(w/8), 64)``.

    A size that is not a multiple of 8 is first padded by repeating the last row / column, as a
    JPEG encoder does at the image edge.
    """
    p = np.asarray(p, np.float64)
    h, w = p.shape
    bh, bw = -(-h // 8), -(-w // 8)
    if (8 * bh, 8 * bw) != (h, w):
        p = np.pad(p, ((0, 8 * bh - h), (0, 8 * bw - w)), mode="edge")
    c8 = _dct_matrix(8)
    b = np.einsum("vx,ixjy,uy->ijvu", c8, p.reshape(bh, 8, bw, 8), c8, optimize=True)
    return b.reshape(bh, bw, 64)


def ycbcr_levels(rgb) -> np.ndarray:
    """RGB colour(s) on the 0..255 scale -> level-shifted ``(Y - 128, Cb - 128, Cr - 128)``
    (JFIF full-range BT.601, the conversion JPEG files use): e.g. the ``fill`` of
    :func:`expand` for a mean colour."""
    rgb = np.asarray(rgb, np.float64)
    m = np.array([[0.299, 0.587, 0.114],
                  [-0.168735892, -0.331264108, 0.5],
                  [0.5, -0.418687589, -0.081312411]])
    return rgb @ m.T - np.array([128.0, 0.0, 0.0])


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


# ------------------------------------------------------------------------------------------
# 1-D pixel resampling operators.


def linear_taps(n_in: int, n_out: int):
    """cv2.resize INTER_LINEAR along one axis (float images) as taps: for each output pixel the
    two input columns ``(n_out, 2)`` and their weights ``(n_out, 2)``. Half-pixel centres,
    ``src = (dst + 0.5) * n_in / n_out - 0.5``, the two neighbours weighted ``1 - f, f`` (``f``
    the fractional part); outside the image the edge pixel (weight 1)."""
    fx = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    sx = np.floor(fx).astype(np.int64)
    fx = fx - sx
    low = sx < 0
    fx[low], sx[low] = 0.0, 0
    high = sx >= n_in - 1
    fx[high], sx[high] = 0.0, n_in - 1
    cols = np.stack([sx, np.minimum(sx + 1, n_in - 1)], axis=1)
    return cols, np.stack([1.0 - fx, fx], axis=1)


def _linear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """:func:`linear_taps` as an ``(n_out, n_in)`` matrix."""
    cols, weights = linear_taps(n_in, n_out)
    r = np.zeros((n_out, n_in))
    dst = np.arange(n_out)
    r[dst, cols[:, 0]] += weights[:, 0]
    r[dst, cols[:, 1]] += weights[:, 1]
    return r


def _area_up_matrix(n_in: int, n_out: int) -> np.ndarray:
    """cv2.resize INTER_AREA along one axis when the image is enlarged along some axis
    (OpenCV then uses this two-tap formula on both axes)."""
    r = np.zeros((n_out, n_in))
    inv = n_out / n_in
    scale = 1.0 / inv  # as OpenCV computes it: n_in / n_out may differ in the last bit
    dst = np.arange(n_out)
    sx = np.floor(dst * scale).astype(np.int64)
    fx = ((dst + 1) - (sx + 1) * inv).astype(np.float32)  # OpenCV: float32 weights
    fx = np.where(fx <= 0, np.float32(0), fx - np.floor(fx))
    low = sx < 0
    fx[low], sx[low] = 0.0, 0
    high = sx >= n_in - 1
    fx[high], sx[high] = 0.0, n_in - 1
    r[dst, sx] += (np.float32(1) - fx).astype(np.float64)
    r[dst, np.minimum(sx + 1, n_in - 1)] += fx.astype(np.float64)
    return r


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """cv2.resize INTER_AREA along one axis when no axis is enlarged: each output pixel is the
    mean of the input interval ``[i * s, (i + 1) * s)``, ``s = n_in / n_out``, partial pixels
    weighted by their overlap (OpenCV's computeResizeAreaTab, weights rounded to float32 as
    OpenCV stores them)."""
    r = np.zeros((n_out, n_in))
    scale = n_in / n_out
    for dx in range(n_out):
        fsx1 = dx * scale
        fsx2 = fsx1 + scale
        cell = min(scale, n_in - fsx1)
        sx1, sx2 = math.ceil(fsx1), math.floor(fsx2)
        sx2 = min(sx2, n_in - 1)
        sx1 = min(sx1, sx2)
        if sx1 - fsx1 > 1e-3:
            r[dx, sx1 - 1] += (sx1 - fsx1) / cell
        for sx in range(sx1, sx2):
            r[dx, sx] += 1.0 / cell
        if fsx2 - sx2 > 1e-3:
            r[dx, sx2] += min(min(fsx2 - sx2, 1.0), cell) / cell
    return r.astype(np.float32).astype(np.float64)  # OpenCV keeps these weights in float32


def _halve_matrix(n_in: int) -> np.ndarray:
    """2:1 box filter, ``ceil(n/2)`` outputs, the last pixel repeated for odd ``n`` (libjpeg's
    h2v2 / h2v1 encoder downsampling, without its alternating rounding bias)."""
    n_out = -(-n_in // 2)
    r = np.zeros((n_out, n_in))
    dst = np.arange(n_out)
    r[dst, 2 * dst] += 0.5
    r[dst, np.minimum(2 * dst + 1, n_in - 1)] += 0.5
    return r


_RESIZE_KINDS = {"linear": _linear_matrix, "area": _area_matrix, "area_up": _area_up_matrix}


def area_taps(n_in: int, n_out: int, enlarged: bool = False):
    """cv2.resize INTER_AREA along one axis as taps ``(cols (n_out, T), weights (n_out, T))``
    (the matrices above; ``enlarged``: some axis of the image is enlarged, and OpenCV then
    uses its two-tap formula on both axes)."""
    r = _resize_matrix(n_in, n_out, "area_up" if enlarged else "area")
    width = max(1, int((r != 0).sum(1).max()))
    cols = np.zeros((n_out, width), np.int64)
    weights = np.zeros((n_out, width))
    for i, row in enumerate(r):
        idx = np.flatnonzero(row)
        cols[i] = idx[-1] if len(idx) else 0  # padding taps: the last column, weight 0
        cols[i, :len(idx)] = idx
        weights[i, :len(idx)] = row[idx]
    return cols, weights


@dataclass(frozen=True)
class AxisOp:
    """A chain of 1-D pixel resamplings along one axis, starting from ``size_in`` pixels.

    Build it by chaining (each call returns a new, hashable operator)::

        rows = AxisOp(375).resize(256).window(16, 224)          # resize, then crop
        cols = AxisOp(500).resize(341).window(60, 224).flip()    # ... and mirror
        y224 = resample(y, rows, cols)                           # one product per axis

    Steps: ``resize(n, kind)`` (``"linear"``: cv2 INTER_LINEAR; ``"area"``: cv2 INTER_AREA
    when no axis of the image is enlarged; ``"area_up"``: what cv2 INTER_AREA does on *both*
    axes when some axis is enlarged), ``window(start, length)`` (crop; pixels outside the
    current extent take the ``fill`` of :func:`resample`, so a negative ``start`` pads: zoom
    out), ``flip()``, ``halve()`` (2:1 box filter, edge repeated). :meth:`matrix` is the
    ``(size_out, size_in)`` pixel matrix ``R`` (cached); a row of zeros means "fill".
    """

    size_in: int
    steps: tuple = ()

    @property
    def size_out(self) -> int:
        n = self.size_in
        for step in self.steps:
            if step[0] == "resize":
                n = step[1]
            elif step[0] == "window":
                n = step[2]
            elif step[0] == "halve":
                n = -(-n // 2)
        return n

    def _then(self, *step) -> "AxisOp":
        return AxisOp(self.size_in, self.steps + (step,))

    def resize(self, n: int, kind: str = "linear") -> "AxisOp":
        if kind not in _RESIZE_KINDS:
            raise ValueError(f"unknown resize kind {kind!r}; known: {sorted(_RESIZE_KINDS)}")
        if n < 1:
            raise ValueError(f"resize to {n} pixels")
        return self._then("resize", int(n), kind)

    def window(self, start: int, length: int) -> "AxisOp":
        if length < 1:
            raise ValueError(f"window of {length} pixels")
        return self._then("window", int(start), int(length))

    def flip(self) -> "AxisOp":
        return self._then("flip")

    def halve(self) -> "AxisOp":
        return self._then("halve")

    def matrix(self) -> np.ndarray:
        """``R`` (float64, read-only), ``size_out x size_in``: output pixels = ``R @ input``."""
        return _axis_matrix(self)


@lru_cache(maxsize=256)
def _resize_matrix(n_in: int, n_out: int, kind: str) -> np.ndarray:
    r = _RESIZE_KINDS[kind](n_in, n_out)
    r.setflags(write=False)
    return r


@lru_cache(maxsize=64)
def _axis_matrix(op: AxisOp) -> np.ndarray:
    r = None  # identity
    n = op.size_in
    for step in op.steps:
        if step[0] == "resize":
            m = _resize_matrix(n, step[1], step[2])
            r = m if r is None else m @ r
        elif step[0] == "halve":
            m = _halve_matrix(n)
            r = m if r is None else m @ r
        elif step[0] == "window":
            start, length = step[1], step[2]
            idx = np.arange(start, start + length)
            inside = (idx >= 0) & (idx < n)
            out = np.zeros((length, op.size_in))
            if r is None:
                out[np.flatnonzero(inside), idx[inside]] = 1.0
            else:
                out[inside] = r[idx[inside]]
            r = out
        elif step[0] == "flip":
            r = np.eye(n)[::-1] if r is None else r[::-1]
        n = r.shape[0]
    if r is None:
        r = np.eye(n)
    r = np.ascontiguousarray(r)
    r.setflags(write=False)
    return r


@dataclass(frozen=True)
class _BandOp:
    start: np.ndarray   # (nb_out,) first input block of each output block
    band: np.ndarray    # (nb_out, 8, 8 * k) float64
    band32: np.ndarray  # the same, float32
    nb_in: int
    nb_out: int
    k: int


@lru_cache(maxsize=4096)
def _band_operator(op: AxisOp, nb_in: int) -> _BandOp:
    """``A = (I (x) C8) R (I (x) C8).T`` of ``op`` for an input of ``nb_in`` blocks, stored as
    the non-zero band of each output block row: ``A[8I:8I+8, 8s:8s+8k] = band[I]`` with
    ``s = start[I]``, zero elsewhere."""
    if op.size_in > 8 * nb_in or op.size_in <= 8 * nb_in - 8:
        raise ValueError(f"{op.size_in} pixels do not fit {nb_in} blocks")
    r = _axis_matrix(op)
    n_out = r.shape[0]
    nb_out = -(-n_out // 8)
    rows = np.minimum(np.arange(8 * nb_out), n_out - 1)  # padding repeats the last pixel
    nz = r != 0
    any_nz = nz.any(1)
    first = np.where(any_nz, nz.argmax(1), 0)[rows] // 8
    last = np.where(any_nz, r.shape[1] - 1 - nz[:, ::-1].argmax(1), 0)[rows] // 8
    has = any_nz[rows].reshape(nb_out, 8)
    first = np.where(has, first.reshape(nb_out, 8), nb_in).min(1)
    last = np.where(has, last.reshape(nb_out, 8), -1).max(1)
    first = np.where(has.any(1), first, 0)
    last = np.where(has.any(1), last, 0)
    k = int(min(nb_in, max(1, (last - first + 1).max())))
    start = np.minimum(first, nb_in - k)
    padded = np.zeros((n_out, 8 * nb_in))
    padded[:, : r.shape[1]] = r
    cols = 8 * start[:, None] + np.arange(8 * k)                         # (nb_out, 8k)
    sub = padded[rows.reshape(nb_out, 8)[:, :, None], cols[:, None, :]]  # (nb_out, 8, 8k)
    c8 = _dct_matrix(8)
    band = np.ascontiguousarray(np.matmul(c8, sub) @ np.kron(np.eye(k), c8.T))
    band32 = band.astype(np.float32)
    for a in (start, band, band32):
        a.setflags(write=False)
    return _BandOp(start, band, band32, nb_in, nb_out, k)


def kernel_variant() -> str:
    """Which code applies the banded operators: ``"avx512"`` or ``"avx2"`` (the compiled
    kernel's build for this processor), or ``"numpy"`` (the kernel was not built, the processor
    has no AVX2, or ``JPEG_DEEP_KERNEL=numpy``). The results agree to float32 rounding."""
    if _banded is None or os.environ.get("JPEG_DEEP_KERNEL") == "numpy":
        return "numpy"
    v = _banded.variant()
    return "numpy" if v == "none" else v


_KERNEL = kernel_variant()


@dataclass(frozen=True, eq=False)
class KernelPlan:
    """An axis plan for the compiled kernel: output block ``I`` reads input blocks
    ``start[I] .. start[I] + k - 1``; ``band`` is ``(n, 8, 8k)`` for the first (vertical) pass,
    transposed to ``(n, 8k, 8)`` for the second (horizontal)."""

    start: np.ndarray  # int64
    band: np.ndarray   # float32, C-contiguous
    k: int
    sub: np.ndarray    # (n, 2) int64: each output block's nonzero sub-bands [first, last + 1)

    @classmethod
    def of(cls, plan, cols: bool) -> "KernelPlan":
        start, band = plan
        band = np.asarray(band, np.float32)
        n, k = len(band), band.shape[2] // 8
        nz = (band.reshape(n, 8, k, 8) != 0).any(axis=(1, 3))  # (n, k)
        sub = np.stack([nz.argmax(1), k - nz[:, ::-1].argmax(1)], 1) * nz.any(1)[:, None]
        if cols:
            band = band.transpose(0, 2, 1)
        return cls(np.ascontiguousarray(start, np.int64), np.ascontiguousarray(band), k,
                   np.ascontiguousarray(sub, np.int64))


def apply_kernel(comps, rows: KernelPlan, cols: KernelPlan, out=None):
    """Resample same-shaped components ``(bh, bw, 64)`` (int16 read directly, others as
    float32) with the compiled kernel: float32 ``(L, out_bh, out_bw, 64)``, or, with ``out``
    (one float32 array per component; C-contiguous ones are written directly), the list of
    them."""
    shape = (len(rows.start), len(cols.start), 64)
    whole = np.empty((len(comps),) + shape, np.float32) if out is None else None
    results = []
    for i, c in enumerate(comps):
        o = None if out is None else out[i]
        direct = (o is not None and o.shape == shape and o.dtype == np.float32
                  and o.flags.c_contiguous)
        target = whole[i] if o is None else o if direct else np.empty(shape, np.float32)
        c = np.asarray(c)
        if c.dtype != np.int16:
            c = c.astype(np.float32, copy=False)
        c = np.ascontiguousarray(c)
        _banded.apply(c, c.dtype == np.float32, c.shape[0], c.shape[1], rows.start, rows.band,
                      rows.k, rows.sub, cols.start, cols.band, cols.k, cols.sub, target)
        if o is not None and not direct:
            o[...] = target
        results.append(target if o is None else o)
    return whole if out is None else results


# ------------------------------------------------------------------------------------------
# Fast operator construction: the pixel matrix R of an AxisOp chain kept as a few taps per row,
# so that building the banded DCT operator of a new size costs ~0.1 ms instead of the dense
# compositions of _band_operator (milliseconds). Used here for the compiled kernel's plans,
# by jpeg_deep.data.dct_transforms and by jpeg_deep.data.dct_detection.


@lru_cache(maxsize=512)
def cached_linear_taps(n_in: int, n_out: int):
    """:func:`linear_taps` (cv2 INTER_LINEAR), read-only for the caches."""
    cols, w = linear_taps(n_in, n_out)
    cols.setflags(write=False)
    w.setflags(write=False)
    return cols, w


@lru_cache(maxsize=512)
def halve_taps(n: int):
    dst = np.arange(-(-n // 2))
    mc = np.empty((len(dst), 2), np.int64)
    mc[:, 0], mc[:, 1] = 2 * dst, np.minimum(2 * dst + 1, n - 1)
    return mc, np.full(mc.shape, 0.5)


def compose_taps(cols, w, mc, mw):
    """Taps of ``m @ r``: ``(m @ r)[i] = sum_t mw[i, t] * r[mc[i, t]]``."""
    return cols[mc].reshape(len(mc), -1), (mw[:, :, None] * w[mc]).reshape(len(mc), -1)


def axis_taps(op: "AxisOp"):
    """``op.matrix()`` as taps ``(cols, weights)``, each ``(size_out, T)`` (a row's taps may
    repeat a column: they add up), or None for steps not handled here (non-linear resize
    kinds: the caller falls back to the dense path). Composing two tap matrices multiplies
    their tap counts (chroma chains: 8), never builds an ``n x n`` array."""
    n = op.size_in
    cols, w = np.arange(n)[:, None], np.ones((n, 1))
    for step in op.steps:
        if step[0] == "resize":
            if step[2] != "linear":
                return None
            mc, mw = cached_linear_taps(n, step[1])
        elif step[0] == "halve":
            mc, mw = halve_taps(n)
        elif step[0] == "window":
            idx = np.arange(step[1], step[1] + step[2])
            inside = (idx >= 0) & (idx < n)
            mc = np.where(inside, idx, 0)[:, None]
            mw = inside.astype(np.float64)[:, None]
        elif step[0] == "flip":
            mc, mw = np.arange(n)[::-1, None], np.ones((n, 1))
        else:  # pragma: no cover - future step kinds
            return None
        cols, w = compose_taps(cols, w, mc, mw)
        n = len(mc)
    return cols, w


@lru_cache(maxsize=8)
def _idct_right(k: int) -> np.ndarray:
    return np.kron(np.eye(k), dct_matrix(8).T)


def band_from_taps(cols, w, nb_in: int, *, compiled: bool = True):
    """``(start, band32)`` of the pixel matrix given by its taps, on ``nb_in`` input blocks:
    the same operator as :func:`_band_operator` (to float64 rounding) without its dense
    compositions (by the compiled kernel when ``compiled`` and it is in use, else numpy)."""
    if compiled and _KERNEL != "numpy":
        cols = np.ascontiguousarray(cols, np.int64)
        w = np.ascontiguousarray(w, np.float64)
        start = np.empty(-(-len(cols) // 8), np.int64)
        k = _banded.band_start(cols, w, cols.shape[0], cols.shape[1], nb_in, start)
        band = np.empty((len(start), 8, 8 * k), np.float32)
        _banded.band_fill(cols, w, cols.shape[0], cols.shape[1], nb_in, start, k,
                          _dct_matrix(8), band)
        return start, band
    n_out = len(cols)
    nb_out = -(-n_out // 8)
    rows = np.minimum(np.arange(8 * nb_out), n_out - 1)  # padding repeats the last pixel
    cols, w = cols[rows], w[rows]                          # (8 nb_out, T)
    nz = w != 0
    blocks = cols // 8
    has = nz.any(1).reshape(nb_out, 8)
    first = np.where(nz, blocks, nb_in).min(1).reshape(nb_out, 8).min(1)
    last = np.where(nz, blocks, -1).max(1).reshape(nb_out, 8).max(1)
    any_row = has.any(1)
    first = np.where(any_row, first, 0)
    last = np.where(any_row, last, 0)
    k = int(min(nb_in, max(1, (last - first + 1).max())))
    start = np.minimum(first, nb_in - k)
    # scatter-add the taps into the (nb_out, 8, 8k) slices: row q of the padded output sits
    # in block q // 8, its column c at c - 8 * start[q // 8]
    q = np.broadcast_to(np.arange(8 * nb_out)[:, None], cols.shape)[nz]
    flat = q * (8 * k) + cols[nz] - 8 * start[q // 8]
    sub = np.bincount(flat, w[nz], minlength=64 * nb_out * k).reshape(nb_out, 8, 8 * k)
    band = np.matmul(_dct_matrix(8), sub) @ _idct_right(k)
    return start, band.astype(np.float32)


def banded_operator(op: "AxisOp", nb_in: int, *, compiled: bool = True):
    """``(start, band32)`` of ``op`` for ``nb_in`` input blocks: from the pixel matrix's taps
    (:func:`band_from_taps`, ~0.1 ms) where the chain has them, else (area resizes) the dense
    composition of :func:`_band_operator` (milliseconds); the same operator to float64
    rounding."""
    taps = axis_taps(op)
    if taps is None:
        b = _band_operator(op, nb_in)
        return b.start, b.band32
    if op.size_in > 8 * nb_in or op.size_in <= 8 * nb_in - 8:
        raise ValueError(f"{op.size_in} pixels do not fit {nb_in} blocks")
    return band_from_taps(*taps, nb_in, compiled=compiled)


@lru_cache(maxsize=4096)
def _kernel_axis(op, nb: int, cols: bool) -> KernelPlan:
    """The kernel's plan of ``op`` on ``nb`` blocks (None: the identity)."""
    if op is None:
        band = np.broadcast_to(np.eye(8, dtype=np.float32), (nb, 8, 8))
        return KernelPlan.of((np.arange(nb), band), cols)
    return KernelPlan.of(banded_operator(op, nb), cols)


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


def _apply(m: np.ndarray, b: _BandOp, band: np.ndarray) -> np.ndarray:
    """``A @ m`` along axis -2 of a stack of tiled matrices ``m`` ``(L, 8 nb_in, W)`` (any
    strides) -> ``(L, 8 nb_out, W)``: the ``k`` input block rows each output block row needs
    are gathered (one copy), then one batched ``(8, 8k) @ (8k, W)`` product per block row."""
    lead, _, w = m.shape
    blocks = m.reshape(lead, b.nb_in, 8, w)  # splitting an axis: a view, whatever the strides
    g = blocks[:, b.start[:, None] + np.arange(b.k)]  # (L, nb_out, k, 8, W)
    out = np.matmul(band, g.reshape(lead, b.nb_out, 8 * b.k, w))
    return out.reshape(lead, 8 * b.nb_out, w)


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
    coefficients agree (see ``tests/test_dct.py``)."""
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
