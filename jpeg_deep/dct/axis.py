"""1-D pixel resampling operators: :class:`AxisOp` (a chain of resize / halve / window / flip
steps on one axis) and its pixel matrix, with OpenCV's interpolation weights."""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np



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

