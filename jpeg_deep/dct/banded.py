"""The banded DCT-domain operator, defined once: an axis's pixel matrix (dense, or as taps:
:func:`axis_taps`) -> the band of each output block (:func:`banded_operator`,
:func:`band_from_taps`) -> applied to the coefficients, by the compiled kernel
(``jpeg_deep/_banded.c``: :class:`KernelPlan`, :func:`apply_kernel`) or numpy
(:func:`apply_plans`, which also dispatches to the kernel). :mod:`jpeg_deep.dct.ops`, the
training transforms (:mod:`jpeg_deep.data.transforms.classification_dct`), the SSD chain
(:mod:`jpeg_deep.data.transforms.ssd_dct`) and the Keras layers (:mod:`jpeg_deep.dct.layers`) all
build and apply their operators here."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

try:  # the compiled kernel (jpeg_deep/_banded.c), built at install where a C compiler is found
    from jpeg_deep import _banded
except ImportError:  # pragma: no cover - installed without a compiler: numpy products
    _banded = None

from jpeg_deep.dct.axis import AxisOp, _axis_matrix, linear_taps
from jpeg_deep.dct.basis import _dct_matrix, dct_matrix


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
    (one float32 array per component), the list of them. The kernel writes an ``out`` array
    directly when its blocks are 64 contiguous floats at one stride (C-contiguous, or a slot
    of a batch array that holds Cb and Cr side by side on its last axis); others get a copy."""
    shape = (len(rows.start), len(cols.start), 64)
    whole = np.empty((len(comps),) + shape, np.float32) if out is None else None
    results = []
    for i, c in enumerate(comps):
        o = None if out is None else out[i]
        direct = o is not None and _writable_directly(o, shape)
        target = whole[i] if o is None else o if direct else np.empty(shape, np.float32)
        if not (type(c) is np.ndarray and c.dtype == np.int16 and c.flags.c_contiguous):
            c = np.asarray(c)
            c = np.ascontiguousarray(c if c.dtype == np.int16 else c.astype(np.float32,
                                                                            copy=False))
        _banded.apply(c, c.dtype == np.float32, c.shape[0], c.shape[1], rows.start, rows.band,
                      rows.k, rows.sub, cols.start, cols.band, cols.k, cols.sub, target)
        if o is not None and not direct:
            o[...] = target
        results.append(target if o is None else o)
    return whole if out is None else results


def _writable_directly(o, shape) -> bool:
    """Whether the kernel can write ``o`` in place: float32 ``shape``, blocks of 64 contiguous
    floats at one stride (see ``_banded.c``)."""
    if o.dtype != np.float32 or o.shape != shape:
        return False
    s0, s1, s2 = o.strides
    return s2 == 4 and s1 >= 256 and s1 % 4 == 0 and s0 == shape[1] * s1


# ------------------------------------------------------------------------------------------
# Fast operator construction: the pixel matrix R of an AxisOp chain kept as a few taps per row,
# so that building the banded DCT operator of a new size is cheap next to the dense
# compositions of _band_operator. Used here for the compiled kernel's plans,
# by jpeg_deep.data.transforms.classification_dct and by jpeg_deep.data.transforms.ssd_dct.


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
    (:func:`band_from_taps`, cheap) where the chain has them, else (area resizes) the dense
    composition of :func:`_band_operator` (slower); the same operator to float64
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



def _apply(m: np.ndarray, b: _BandOp, band: np.ndarray) -> np.ndarray:
    """``A @ m`` along axis -2 of a stack of tiled matrices ``m`` ``(L, 8 nb_in, W)`` (any
    strides) -> ``(L, 8 nb_out, W)``: the ``k`` input block rows each output block row needs
    are gathered (one copy), then one batched ``(8, 8k) @ (8k, W)`` product per block row."""
    lead, _, w = m.shape
    blocks = m.reshape(lead, b.nb_in, 8, w)  # splitting an axis: a view, whatever the strides
    g = blocks[:, b.start[:, None] + np.arange(b.k)]  # (L, nb_out, k, 8, W)
    out = np.matmul(band, g.reshape(lead, b.nb_out, 8 * b.k, w))
    return out.reshape(lead, 8 * b.nb_out, w)




# ------------------------------------------------------------------------------------------
# Application: one banded product per axis, Cb and Cr together.
#
# The tiled coefficients M (8 x 8 blocks side by side, float32) become A_rows @ M @ A_cols.T,
# as two batched BLAS calls. The first (vertical) pass has the shape (8, 8k) @ (8k, W), which
# BLAS runs at full speed, on each output's k input block rows gathered while tiling (or, when
# upscaling, on a sliding-window view over every position, then picked). The second
# (horizontal) pass contracts the contiguous axis on a strided view, (R, 8kw) @ (8kw, 8m), and
# runs at half speed when its output is 8 wide (m = 1), so its plan groups the output blocks
# whose windows start within ``s`` blocks of each other: one wider window, m = 2 outputs per
# product (faster for the usual downscaling by 1-2x; zero bands where a group has fewer
# outputs).

_V16 = np.dtype((np.void, 16))  # 8 int16 coefficients: one row of a block
_V32 = np.dtype((np.void, 32))  # 8 float32 coefficients


def _tile(comps, r0, r1, c0, c1, take=None):
    """Blocks ``[r0:r1, c0:c1]`` of each component -> float32 tiled ``(L, 8 nr, 8 nc)``;
    blocks past the component's last row / column (the second pass's last window may reach
    one block past it) are zeros. ``take``: block rows (relative to ``r0``, repeats allowed)
    to return instead of all, gathered before the cast."""
    nr, nc = r1 - r0, c1 - c0
    first = np.asarray(comps[0])
    vr, vc = min(r1, first.shape[0]) - r0, min(c1, first.shape[1]) - c0
    if first.dtype == np.int16:  # transpose rows of 8 coefficients as 16-byte units, then cast
        tmp = np.empty((len(comps), nr, 8, nc, 8), np.int16)
        if (vr, vc) != (nr, nc):
            tmp[:, vr:] = 0
            tmp[:, :, :, vc:] = 0
        units = tmp.view(_V16)[..., 0]
        for i, c in enumerate(comps):
            units[i, :vr, :, :vc] = c[r0:r1, c0:c1].view(_V16).transpose(0, 2, 1)
        if take is not None:
            tmp = tmp.take(take, axis=1)
        return tmp.astype(np.float32).reshape(len(comps), -1, 8 * nc)
    out = np.zeros((len(comps), nr, 8, nc, 8), np.float32)
    for i, c in enumerate(comps):
        c = np.asarray(c)[r0:r1, c0:c1]
        out[i, :vr, :, :vc] = c.reshape(vr, vc, 8, 8).transpose(0, 2, 1, 3)
    if take is not None:
        out = out.take(take, axis=1)
    return out.reshape(len(comps), -1, 8 * nc)


@dataclass(frozen=True, eq=False)
class _Positional:
    """A first-pass (vertical) axis plan re-indexed by input position: output block ``I``
    reads input blocks ``s_I .. s_I + k - 1``; ``layers[l]`` is ``(p0, bands)`` with
    ``bands[p - p0]`` the band of the output block whose start is ``p`` (zero where none), so
    one layer is a single batched product over a *strided sliding-window view* of the input
    (no gather copy). Outputs with the same start (upscaling) go to different layers.
    ``pick[I] = (layer, p - p0)``."""

    k: int
    lo: int        # first input block read
    hi: int        # one past the last input block read
    layers: tuple  # ((p0, bands (npos, 8, 8k) float32), ...)
    pick_layer: np.ndarray
    pick_pos: np.ndarray
    identity: bool  # one layer whose positions are exactly the outputs, in order
    # or, where it is cheaper (downscaling: most positions between the outputs' starts are
    # not outputs), gather each output's k input block rows while tiling: rows (nbo * k,)
    # relative to ``lo``, band (nbo, 8, 8k)
    rows: np.ndarray | None = None
    band: np.ndarray | None = None


def _positional(plan) -> _Positional:
    start, band = plan
    k = band.shape[2] // 8
    start = np.asarray(start, np.int64)
    layer = np.zeros(len(start), np.int64)
    if len(np.unique(start)) < len(start):  # repeated starts (upscaling): several layers
        seen: dict = {}
        for i, s in enumerate(start.tolist()):
            layer[i] = seen.get(s, 0)
            seen[s] = layer[i] + 1
    layers, pos = [], np.zeros(len(start), np.int64)
    for l in range(int(layer.max()) + 1):
        idx = np.flatnonzero(layer == l)
        p0 = int(start[idx].min())
        bands = np.zeros((int(start[idx].max()) - p0 + 1, 8, 8 * k), np.float32)
        bands[start[idx] - p0] = band[idx]
        pos[idx] = start[idx] - p0
        layers.append((p0, bands))
    identity = len(layers) == 1 and np.array_equal(pos, np.arange(len(layers[0][1])))
    lo, hi = int(start.min()), int(start.max()) + k
    rows = band32 = None
    # Cost model (us per block row of a 336-wide tile, measured): a product over one position
    # 1.3, picking an output 0.3, gathering and casting one more block row 0.45.
    npos = sum(len(b) for _, b in layers)
    nbo = len(start)
    if (0.45 * (k * nbo - (hi - lo)) + 1.3 * nbo < 1.3 * npos + (0 if identity else 0.3 * nbo)):
        rows = ((start - lo)[:, None] + np.arange(k)).ravel()
        band32 = np.ascontiguousarray(band, np.float32)
        layers = []  # not used: half the memory in the caches
    return _Positional(k, lo, hi, tuple(layers), layer, pos, bool(identity), rows, band32)


@dataclass(frozen=True, eq=False)
class _Grouped:
    """A second-pass (horizontal) axis plan: window ``q`` covers input blocks
    ``lo + s q .. lo + s q + kw - 1`` and holds the (up to) ``m`` output blocks whose start
    falls in ``lo + s q .. lo + s q + s - 1``; ``bands_t[q]`` ``(8 kw, 8 m)`` maps the window
    to their 8 columns each (transposed bands, zero where a group has fewer outputs). Output
    block ``J`` is column group ``pick_slot[J]`` of window ``pick_pos[J]``."""

    s: int
    kw: int
    m: int
    lo: int
    hi: int         # one past the last input block read (may be past the image: zeros)
    bands_t: np.ndarray  # (npos, 8 kw, 8 m) float32
    pick_pos: np.ndarray
    pick_slot: np.ndarray


def _group_cost(start, k, s):
    q = (start - start.min()) // s
    m = int(np.bincount(q).max())
    npos = int(q.max()) + 1
    # BLAS runs (R, K) @ (K, 8) at about half the speed per product of (R, K) @ (K, 16)
    return npos * (k + s - 1) * 8 * m * (2 if m == 1 else 1) * (1 if m <= 2 else 2)


def _grouped(plan) -> _Grouped:
    start, band = plan
    k = band.shape[2] // 8
    start = np.asarray(start, np.int64)
    s = min((1, 2, 3, 4), key=lambda s: _group_cost(start, k, s))
    lo = int(start.min())
    q = (start - lo) // s
    order = np.argsort(q, kind="stable")
    slot = np.empty(len(start), np.int64)  # rank of each output within its window
    slot[order] = np.arange(len(q)) - np.searchsorted(q[order], q[order])
    m, kw, npos = int(slot.max()) + 1, k + s - 1, int(q.max()) + 1
    bands_t = np.zeros((npos, 8 * kw, 8 * m), np.float32)
    off = 8 * (start - lo - s * q)
    bands_t[q[:, None, None], off[:, None, None] + np.arange(8 * k)[:, None],
            8 * slot[:, None, None] + np.arange(8)] = np.asarray(band).transpose(0, 2, 1)
    return _Grouped(s, kw, m, lo, lo + s * (npos - 1) + kw, bands_t, q, slot)


def _view(base, offset, shape, strides):
    """A read-only strided view into the C-contiguous array ``base`` (cheaper than
    ``as_strided``), ``offset`` in elements."""
    v = np.ndarray(shape, base.dtype, base, offset * base.itemsize, strides)
    v.flags.writeable = False
    return v


def _windows(m, p0, npos, k):
    """Sliding windows of ``k`` block rows over axis 1 of the C-contiguous ``m``
    ``(L, 8 n, W)``, starting at block ``p0``: a view ``(L, npos, 8k, W)``."""
    s = m.strides
    return _view(m, 8 * p0 * m.shape[2], (m.shape[0], npos, 8 * k, m.shape[2]),
                 (s[0], 8 * s[1], s[1], s[2]))


def _pass(m, pp: _Positional):
    """``A @ m`` along axis 1 for each layer -> list of ``(L, npos, 8, W)``."""
    return [np.matmul(bands, _windows(m, p0 - pp.lo, len(bands), pp.k))
            for p0, bands in pp.layers]


def _pick(results, pp: _Positional, axis: int):
    """The output blocks, in order, from the per-layer results (positions on ``axis``)."""
    if len(results) == 1:
        if pp.identity:
            return results[0]
        return np.take(results[0], pp.pick_pos, axis=axis)
    idx = [np.flatnonzero(pp.pick_layer == l) for l in range(len(results))]
    cat = np.concatenate([np.take(r, pp.pick_pos[i], axis=axis)
                          for r, i in zip(results, idx)], axis=axis)
    return np.take(cat, np.argsort(np.concatenate(idx), kind="stable"), axis=axis)


def _rows_read(plan) -> int:
    """One past the last input block row an axis plan of the first (vertical) pass reads."""
    if isinstance(plan, KernelPlan):
        return int(plan.start.max()) + plan.k
    if isinstance(plan, _Positional):
        return plan.hi
    start, band = plan
    return int(np.max(start)) + band.shape[2] // 8


def apply_plans(comps, rows, cols, out=None):
    """Resample same-shaped components ``(bh, bw, 64)`` with the axis plans ``rows`` and
    ``cols`` (``(start, band)``, :class:`KernelPlan`, or :class:`_Positional` /
    :class:`_Grouped`) -> float32 ``(L, out_bh, out_bw, 64)``.

    With :class:`KernelPlan` s, the compiled kernel (``jpeg_deep/_banded.c``) does both passes
    for each component in one call, reading the int16 coefficients directly. Otherwise, numpy:
    only the input blocks the plans read are tiled (one cast + transpose copy). Vertical pass:
    ``(8, 8k) @ (8k, W)`` per output block row on its gathered input rows (or per position on
    a sliding-window view, then the wanted rows picked); horizontal pass:
    ``(R, 8kw) @ (8kw, 8m)`` per window of :class:`_Grouped` on a strided view of the last
    axis; the wanted columns are picked while untiling (one copy).

    ``out``: one float32 array per component to write the results into (the kernel writes
    C-contiguous ones directly, e.g. a slot of a batch array; others get a copy); the return
    value is then a list of them."""
    if isinstance(rows, KernelPlan):
        return apply_kernel(comps, rows, cols, out)
    if out is not None:
        results = apply_plans(comps, rows, cols)
        for o, r in zip(out, results):
            o[...] = r
        return list(out)
    pr = rows if isinstance(rows, _Positional) else _positional(rows)
    pc = cols if isinstance(cols, _Grouped) else _grouped(cols)
    if pr.rows is not None:                                 # gathered windows
        m = _tile(comps, pr.lo, pr.hi, pc.lo, pc.hi, pr.rows)  # (L, nbo * 8k, 8 nc)
        n, w = m.shape[0], m.shape[2]
        t = np.matmul(pr.band, m.reshape(n, len(pr.band), 8 * pr.k, w))
    else:
        m = _tile(comps, pr.lo, pr.hi, pc.lo, pc.hi)        # (L, 8 nr, 8 nc)
        n, w = m.shape[0], m.shape[2]
        t = _pick(_pass(m, pr), pr, 1)                      # (L, nbo, 8, W) contiguous
    nbo = t.shape[1]
    st = t.strides
    npos = len(pc.bands_t)
    v = _view(t, 0, (n, npos, 8 * nbo, 8 * pc.kw), (st[0], 8 * pc.s * st[3], st[2], st[3]))
    o = np.matmul(v, pc.bands_t)                            # (L, npos, (I, v'), (slot, u'))
    if pc.m == 1:
        out = o.reshape(n, npos, nbo, 64).transpose(0, 2, 1, 3)[:, :, pc.pick_pos]
    else:  # rows of 8 coefficients moved as 32-byte units (twice as fast as float32 items)
        o = o.view(_V32).reshape(n, npos, nbo, 8, pc.m).transpose(0, 2, 1, 4, 3)
        out = o[:, :, pc.pick_pos, pc.pick_slot].view(np.float32)
    return out.reshape(n, nbo, len(pc.pick_pos), 64)
