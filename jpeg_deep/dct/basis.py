"""The 8x8 DCT itself: its matrix, the tiled layout of coefficients, blocks to pixels and back,
and level-shifted YCbCr of an RGB colour."""
from __future__ import annotations

from functools import lru_cache

import numpy as np


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


