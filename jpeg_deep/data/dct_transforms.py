"""The classification transforms of :mod:`jpeg_deep.data.augmentation`, in the DCT domain.

:func:`make_dct_transform` returns a callable ``(y, cb, cr, rng, size=None) -> (y, cb, cr)`` on
the reader's layout (:func:`jpeg_deep.data.readers.read_dct`: ``(ceil(h/8), ceil(w/8), 64)``
components, 4:2:0 chroma). It draws the same random parameters, with the same formulas, as the
albumentations pipeline of :func:`jpeg_deep.data.augmentation.make_transform`:

============  ===========================================================================
split         geometry (one banded resampling per axis and component)
============  ===========================================================================
``train``     SmallestMaxSize(resize) -> RandomCrop(crop) -> HorizontalFlip(p=0.5)
              (or, with ``random_resized_crop``, RandomResizedCrop(crop, scale, ratio) ->
              HorizontalFlip), then optional JPEG-quality augmentation (requantisation)
``val``       SmallestMaxSize(resize) -> CenterCrop(crop)
``test``      SmallestMaxSize(resize) (full image, any size)
============  ===========================================================================

The output is float32 and lays out like the reader's output for a JPEG of the transformed size
(``train`` / ``val``: Y ``(crop/8, crop/8, 64)``, Cb / Cr ``(crop/16, crop/16, 64)``), so
:func:`jpeg_deep.data.layout.dct_layout` works unchanged.

Geometry of the chroma: what decoding, transforming the RGB image and re-encoding it as 4:2:0
does, without its rounding: chroma upsampled 2x (``cv2.resize`` INTER_LINEAR, which is libjpeg's
"fancy" triangle upsampling), the luma geometry applied at full resolution, then the 2:1 box
filter of a 4:2:0 encoder -- all composed into one operator per axis.

Accuracy (``tests/test_dct_transforms.py``): equal to "inverse DCT of the input, the same cv2 /
slicing / flip operations on float Y, Cb, Cr planes, forward DCT" within 1e-3 on the 0..255
pixel scale (float32 rounding, measured <= 5e-5); against the real re-encoding path (decode,
albumentations, JPEG q95 4:2:0 re-encode, read) the pixels differ by quantisation and 8-bit
rounding only: mean absolute difference ~1.0 grey level for Y, ~0.9 for Cb / Cr (tested below
1.5 / 1.25), worst pixel <= 9 (tested below 16).

Speed: the operators of a training crop are cached per (input size, resized size, crop offset
modulo the block size, flip): the crop is then a slice of the block rows of one cached resize
operator, in the kernel's form, without a copy, so a new crop offset costs nothing and a
dataset with a few image sizes never rebuilds operators. Memory per process: at most 1024 such
operators (luma and chroma, rows and columns together; 40-90 KB each at ImageNet sizes) and
1024 phase plans of about 25 KB: about 120 MB at most, reached only on datasets of hundreds of
sizes (least recently used ones are dropped). A random-resized crop composes its window's
operators from the resize's cached taps (:func:`_window_taps`; band, flip, transpose in two
compiled calls). :meth:`DCTTransform.read` draws the geometry before reading, so the
reader stops entropy decoding below the last row the operators read, and the results can be
written straight into a batch's arrays. Both passes run in the compiled kernel
``jpeg_deep/_banded.c`` where it was built (:func:`kernel_variant`: its AVX-512 or AVX2 build,
chosen at run time): per output block row, the vertical pass reads the int16 coefficients
directly (rows of 8 past a block's last nonzero row skipped), the horizontal pass writes the
output blocks in place, with 8 x 8 accumulators in vector registers; it also builds a new image
size's operators. Measured speeds are in ``docs/results/input_pipeline.md``.
Without the kernel (no C compiler at install, no AVX2,
or ``JPEG_DEEP_KERNEL=numpy``) numpy does the products: the first (vertical) pass is one batched
float32 product per output block row, ``(8, 8k) @ (8k, W)``, on the k input block rows gathered
while tiling (or on a sliding-window view where that is cheaper: upscaling); the second
(horizontal) pass contracts the tile's contiguous axis, which BLAS runs at half speed when each
product is 8 columns wide, so nearby output blocks share one wider window and are computed 2 per
product (``_Grouped``). Both give the same results to float32 rounding (tested).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np

from jpeg_deep import dct
from jpeg_deep.data import readers
from jpeg_deep.data.augmentation import SPLITS, TransformConfig

try:  # the compiled kernel (jpeg_deep/_banded.c), built at install where a C compiler is found
    from jpeg_deep import _banded
except ImportError:  # pragma: no cover - installed without a compiler: numpy products
    _banded = None


kernel_variant = dct.kernel_variant
_KERNEL = kernel_variant()
# the compiled kernel's axis plans and their application live with the operators, in dct
_KernelPlan = dct.KernelPlan
_apply_kernel = dct.apply_kernel

__all__ = ["DCTTransformConfig", "make_dct_transform", "train_params", "DCTTransform"]

# Sign of each output row of an 8x8 block under a mirror: odd frequencies are negated.
_FLIP_SIGN = np.array([1, -1] * 4, np.float32)[:, None]


@dataclass(frozen=True)
class DCTTransformConfig:
    """:class:`TransformConfig`'s sizes plus the DCT-domain-only options.

    ``quality`` is only used by the re-encoding path (kept so a ``TransformConfig`` converts
    without loss). ``random_resized_crop``: the train crop is albumentations'
    ``RandomResizedCrop(crop, scale, ratio)`` (on the original image) instead of
    ``SmallestMaxSize(resize) -> RandomCrop(crop)``. ``quality_range=(lo, hi)``: with probability
    ``quality_p`` the train output is re-quantised to a JPEG quality drawn uniformly in
    ``lo..hi`` (:func:`jpeg_deep.dct.requantize`). ``flip_p``: probability of the horizontal flip.
    """

    resize: int = 256
    crop: int = 224
    quality: int = 95
    random_resized_crop: bool = False
    scale: tuple = (0.08, 1.0)
    ratio: tuple = (3 / 4, 4 / 3)
    quality_range: tuple | None = None
    quality_p: float = 1.0
    flip_p: float = 0.5

    def __post_init__(self):
        TransformConfig(self.resize, self.crop, self.quality)  # same checks
        if self.crop % 8:
            raise ValueError(f"crop ({self.crop}) must be a multiple of 8 (whole blocks)")
        if self.quality_range is not None:
            lo, hi = self.quality_range
            if not 1 <= lo <= hi <= 100:
                raise ValueError(f"quality_range {self.quality_range} not within 1..100")
        if not (0 < self.scale[0] <= self.scale[1] and 0 < self.ratio[0] <= self.ratio[1]):
            raise ValueError(f"bad scale {self.scale} / ratio {self.ratio}")

    @classmethod
    def of(cls, config) -> "DCTTransformConfig":
        if isinstance(config, cls):
            return config
        if config is None:
            return cls()
        return cls(**{f.name: getattr(config, f.name) for f in fields(TransformConfig)})


# ------------------------------------------------------------------------------------------
# Random parameters: albumentations 2.0's formulas.


def smallest_max_size(h: int, w: int, resize: int) -> tuple[int, int]:
    """``SmallestMaxSize(resize)``: ``scale = resize / min(h, w)``, ``round(h * scale)``, ...
    (albumentations 2.0's ``MaxSizeTransform.apply``; ``int`` would be one pixel short where
    ``h * scale`` falls just below an integer)."""
    scale = resize / min(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def train_params(h: int, w: int, config, rng) -> dict:
    """The random parameters of one training sample of an ``h x w`` image:
    ``{"window": (top, left, height, width) in the original image or None, "size": resized
    (height, width), "offset": (top, left) of the crop in the resized image, "flip": bool}``.

    ``config``: a :class:`DCTTransformConfig` or a ``TransformConfig`` (no random-resized crop,
    flip probability 0.5). The re-encoding path draws its parameters here too
    (:class:`jpeg_deep.data.pipeline.ClassificationTransform`), so a seed gives both paths the
    same crop and flip."""
    crop, flip_p = config.crop, getattr(config, "flip_p", 0.5)
    if getattr(config, "random_resized_crop", False):
        top, left, ch, cw = _random_resized_crop(h, w, config, rng)
        return {"window": (top, left, ch, cw), "size": (crop, crop), "offset": (0, 0),
                "flip": bool(rng.random() < flip_p)}
    rh, rw = smallest_max_size(h, w, config.resize)
    rh, rw = max(rh, crop), max(rw, crop)  # a guard: crop <= resize <= both sides
    top = int((rh - crop + 1) * rng.random())  # albumentations get_crop_coords
    left = int((rw - crop + 1) * rng.random())
    return {"window": None, "size": (rh, rw), "offset": (top, left),
            "flip": bool(rng.random() < flip_p)}


def _random_resized_crop(h, w, config, rng):
    """albumentations 2.0 ``RandomResizedCrop`` (torchvision's algorithm): 10 tries of a
    random area and log-uniform aspect ratio, else the centre crop of the clamped ratio."""
    area = h * w
    log_ratio = (math.log(config.ratio[0]), math.log(config.ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(*config.scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        cw = int(round(math.sqrt(target * aspect)))
        ch = int(round(math.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            top = int((h - ch + 1) * rng.random())  # get_crop_coords
            left = int((w - cw + 1) * rng.random())
            return top, left, ch, cw
    in_ratio = w / h
    if in_ratio < config.ratio[0]:
        cw, ch = w, int(round(w / config.ratio[0]))
    elif in_ratio > config.ratio[1]:
        ch, cw = h, int(round(h * config.ratio[1]))
    else:
        ch, cw = h, w
    return (h - ch) // 2, (w - cw) // 2, ch, cw


# ------------------------------------------------------------------------------------------
# Fast operator construction (jpeg_deep.dct's: one implementation): the pixel matrix R of an
# AxisOp chain kept as a few taps per row, so that building the banded DCT operator of a new
# image size costs ~0.1 ms instead of the dense compositions (milliseconds: they dominate on
# datasets of many sizes).

_linear_taps, _halve_taps = dct.cached_linear_taps, dct.halve_taps
_compose_taps, _axis_taps = dct.compose_taps, dct.axis_taps


def _band(op: dct.AxisOp, nb_in: int):
    """:func:`jpeg_deep.dct.banded_operator`, compiled where this module's kernel is in use."""
    return dct.banded_operator(op, nb_in, compiled=_KERNEL != "numpy")


def _band_from_taps(cols, w, nb_in: int):
    """:func:`jpeg_deep.dct.band_from_taps`, compiled where this module's kernel is in use."""
    return dct.band_from_taps(cols, w, nb_in, compiled=_KERNEL != "numpy")


# ------------------------------------------------------------------------------------------
# Operators of one axis: (start, band) -- output block I = band[I] @ input blocks
# start[I] .. start[I] + k - 1 (k = band.shape[2] // 8), float32.


def _luma_op(n_in: int) -> dct.AxisOp:
    return dct.AxisOp(n_in)


def _chroma_op(n_in: int) -> dct.AxisOp:
    """Chroma of an ``n_in``-pixel axis brought to full resolution: ``ceil(n/2)`` pixels
    upsampled 2x (cv2 INTER_LINEAR = libjpeg fancy upsampling), cut to ``n_in``."""
    cn = -(-n_in // 2)
    return dct.AxisOp(cn).resize(2 * cn).window(0, n_in)


@lru_cache(maxsize=1024)  # ~25 KB each
def _phase_plan(n_in: int, n_res: int, phase: int, chroma: bool):
    """Resize ``n_in -> n_res`` then keep whole output blocks from pixel ``phase`` on (chroma:
    then halve): the operator whose block rows ``(offset - phase) // B ..`` are the crop at
    ``offset`` (``B`` = 8 for luma, 16 for chroma). The resize's taps (chroma: halved, for
    either parity of the phase) are shared by the phases."""
    return _band_from_taps(*_phase_taps(n_in, n_res, phase, chroma))


def _phase_taps(n_in: int, n_res: int, phase: int, chroma: bool):
    """``(cols, weights, nb_in)``: the taps of :func:`_phase_plan`'s operator."""
    unit = 16 if chroma else 8
    nb = (n_res - phase) // unit
    if chroma:  # pixels phase + 2i, phase + 2i + 1 averaged: pairs from the phase's parity on
        cols, w = _halved_taps(n_in, n_res, phase % 2)
        return (cols[phase // 2: phase // 2 + 8 * nb], w[phase // 2: phase // 2 + 8 * nb],
                -(-(-(-n_in // 2)) // 8))
    cols, w = _resize_taps(n_in, n_res, False)
    return cols[phase: phase + 8 * nb], w[phase: phase + 8 * nb], -(-n_in // 8)


@lru_cache(maxsize=512)  # 2-16 KB each
def _resize_taps(n_in: int, n_res: int, chroma: bool):
    op = (_chroma_op(n_in) if chroma else _luma_op(n_in)).resize(n_res)
    return _axis_taps(op)


@lru_cache(maxsize=512)
def _halved_taps(n_in: int, n_res: int, parity: int):
    """The chroma resize's taps from pixel ``parity`` on, then the 2:1 box filter (a last odd
    pixel repeated; a crop's pairs are always whole)."""
    cols, w = _resize_taps(n_in, n_res, True)
    return _compose_taps(cols[parity:], w[parity:], *_halve_taps(n_res - parity))


def _flipped(start, band):
    return start[::-1], band[::-1] * _FLIP_SIGN


def _crop_plan(n_in, n_res, offset, crop, flip, chroma, cols, kernel):
    """The crop at ``offset`` of the resize ``n_in -> n_res`` (then flipped): for the compiled
    kernel, a slice of its phase's whole plan (:func:`_phase_kernel`, cached), no copy; for
    numpy, built from the phase plan and cached."""
    if not kernel:
        return _crop_plan_numpy(n_in, n_res, offset, crop, flip, chroma, cols)
    unit = 16 if chroma else 8
    phase = offset % unit
    whole = _phase_kernel(n_in, n_res, phase, chroma, cols, flip)
    i0, n = (offset - phase) // unit, crop // unit
    if flip:  # the reversed plan's blocks, from the far end
        i0 = len(whole.start) - i0 - n
    return _KernelPlan(whole.start[i0: i0 + n], whole.band[i0: i0 + n], whole.k,
                       whole.sub[i0: i0 + n])


@lru_cache(maxsize=1024)  # the kernel's form of a phase plan: 40-90 KB each
def _phase_kernel(n_in, n_res, phase, chroma, cols, flip):
    """The whole plan of one phase (:func:`_phase_plan`), flipped if asked (reversed, odd
    output frequencies negated), in the kernel's form: every crop of that phase is a
    contiguous slice of it, so a new crop offset costs no operator building."""
    return _kernel_plan_from_taps(*_phase_taps(n_in, n_res, phase, chroma), flip, cols)


@lru_cache(maxsize=1024)  # 20-45 KB each; rebuilt from a phase plan in 0.03-0.07 ms
def _crop_plan_numpy(n_in, n_res, offset, crop, flip, chroma, cols):
    unit = 16 if chroma else 8
    phase = offset % unit
    start, band = _phase_plan(n_in, n_res, phase, chroma)
    i0 = (offset - phase) // unit
    start, band = start[i0: i0 + crop // unit], band[i0: i0 + crop // unit]
    return _prepared(_flipped(start, band) if flip else (start, band), cols, False)


@lru_cache(maxsize=512)
def _chain_plan(op: dct.AxisOp, nb_in: int, cols, kernel):
    return _prepared(_band(op, nb_in), cols, kernel)


def _window_plan(n_in, top, size, n_out, flip, chroma, cols, kernel):
    if kernel:  # taps -> band -> flipped / transposed kernel form: all compiled
        taps, nb_in = _window_taps(n_in, top, size, n_out, chroma)
        return _kernel_plan_from_taps(*taps, nb_in, flip, cols)
    return _prepared(_window_band(n_in, top, size, n_out, flip, chroma), cols, kernel)


def _kernel_plan_from_taps(cols, w, nb_in, flip, transpose) -> "_KernelPlan":
    """The compiled kernel's plan of the pixel matrix given by its taps, flipped (whole output
    blocks reversed, odd frequencies negated) and transposed (second pass) as asked: the
    same arrays as ``_KernelPlan.of(_flipped(*_band_from_taps(...)))`` without the numpy
    temporaries (a random-resized crop builds four of these per sample)."""
    start, band = _band_from_taps(cols, w, nb_in)
    n, k = len(band), band.shape[2] // 8
    out = np.empty((n, 8 * k, 8) if transpose else band.shape, np.float32)
    sub = np.empty((n, 2), np.int64)
    _banded.band_finish(band, n, k, flip, transpose, out, sub)
    return _KernelPlan(np.ascontiguousarray(start[::-1]) if flip else start, out, k, sub)


def _window_taps(n_in, top, size, n_out, chroma):
    """``((cols, weights), nb_in)``: the taps of a window of the image (``top``, ``size``
    pixels) resized to ``n_out``, composed directly from the resize's cached taps (chroma:
    through the 2x-upsampled plane, then the 2:1 box filter)."""
    rc, rw = _linear_taps(size, n_out)
    x = rc + top                                   # full-resolution input pixels
    if chroma:  # through the 2x-upsampled chroma plane, then the 2:1 box filter
        uc, uw = _linear_taps(-(-n_in // 2), 2 * -(-n_in // 2))
        c4, w4 = uc[x].reshape(n_out, 4), (rw[:, :, None] * uw[x]).reshape(n_out, 4)
        return (c4.reshape(n_out // 2, 8), (0.5 * w4).reshape(n_out // 2, 8)), \
            -(-(-(-n_in // 2)) // 8)
    return (x, rw), -(-n_in // 8)


def _window_band(n_in, top, size, n_out, flip, chroma):
    """A window of the image (``top``, ``size`` pixels) resized to ``n_out`` (random-resized
    crop: a new window per sample, so nothing to cache but the resize's taps): the taps of
    :func:`_axis_taps` for that chain, composed directly (the same float64 products: its other
    steps multiply by 1), then the flip on whole output blocks as for a crop."""
    taps, nb_in = _window_taps(n_in, top, size, n_out, chroma)
    plan = _band_from_taps(*taps, nb_in)
    return _flipped(*plan) if flip else plan


def _prepared(plan, cols: bool, kernel: bool):
    """A ``(start, band)`` axis plan in the form :func:`apply_plans` applies: the compiled
    kernel's (:class:`_KernelPlan`), or numpy's (:class:`_Grouped` for the second pass,
    :class:`_Positional` for the first)."""
    if kernel:
        return _KernelPlan.of(plan, cols)
    return _grouped(plan) if cols else _positional(plan)


def _axis_plan(n_in, window, n_res, offset, crop, flip, chroma, cols=False):
    """Plan of one axis: [window] -> resize to ``n_res`` -> [crop at ``offset``] -> [flip]
    (chroma: from upsampled chroma, halved at the end); ``cols``: the plan of the second
    (horizontal) pass, else of the first (vertical)."""
    kernel = _KERNEL != "numpy"
    if window is None and crop is not None and crop % (16 if chroma else 8) == 0:
        return _crop_plan(n_in, n_res, offset, crop, flip, chroma, cols, kernel)
    if (window is not None and crop == n_res and offset == 0 and n_res % (16 if chroma else 8) == 0
            and 0 <= window[0] and window[0] + window[1] <= n_in):
        return _window_plan(n_in, window[0], window[1], n_res, flip, chroma, cols, kernel)
    op = _chroma_op(n_in) if chroma else _luma_op(n_in)
    if window is not None:
        op = op.window(*window)
    op = op.resize(n_res)
    if crop is not None and (offset, crop) != (0, n_res):
        op = op.window(offset, crop)
    if flip:
        op = op.flip()
    if chroma:
        op = op.halve()
    nb_in = -(-(-(-n_in // 2) if chroma else n_in) // 8)
    return _chain_plan(op, nb_in, cols, kernel)


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
# product (about 1.5x faster for the usual downscaling by 1-2x; zero bands where a group has
# fewer outputs).

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
    if isinstance(plan, _KernelPlan):
        return int(plan.start.max()) + plan.k
    if isinstance(plan, _Positional):
        return plan.hi
    start, band = plan
    return int(np.max(start)) + band.shape[2] // 8


def apply_plans(comps, rows, cols, out=None):
    """Resample same-shaped components ``(bh, bw, 64)`` with the axis plans ``rows`` and
    ``cols`` (``(start, band)``, :class:`_KernelPlan`, or :class:`_Positional` /
    :class:`_Grouped`) -> float32 ``(L, out_bh, out_bw, 64)``.

    With :class:`_KernelPlan` s, the compiled kernel (``jpeg_deep/_banded.c``) does both passes
    for each component in one call, reading the int16 coefficients directly. Otherwise, numpy:
    only the input blocks the plans read are tiled (one cast + transpose copy). Vertical pass:
    ``(8, 8k) @ (8k, W)`` per output block row on its gathered input rows (or per position on
    a sliding-window view, then the wanted rows picked); horizontal pass:
    ``(R, 8kw) @ (8kw, 8m)`` per window of :class:`_Grouped` on a strided view of the last
    axis; the wanted columns are picked while untiling (one copy).

    ``out``: one float32 array per component to write the results into (the kernel writes
    C-contiguous ones directly, e.g. a slot of a batch array; others get a copy); the return
    value is then a list of them."""
    if isinstance(rows, _KernelPlan):
        return _apply_kernel(comps, rows, cols, out)
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


# ------------------------------------------------------------------------------------------
# The transform.


class DCTTransform:
    """``(y, cb, cr, rng, size=None) -> (y, cb, cr)`` float32 (see the module docstring).

    ``size`` is the image's ``(height, width)`` (the JPEG header's; :class:`JpegInfo`); by
    default the whole Y block grid (``8 * blocks``), which counts the encoder's edge padding as
    image. ``rng`` is a ``numpy.random.Generator`` (or a seed); only ``train`` draws from it.
    Picklable (for worker processes)."""

    def __init__(self, split: str, config=None):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        self.split = split
        self.config = DCTTransformConfig.of(config)

    def __repr__(self):
        return f"DCTTransform({self.split!r}, {self.config})"

    def params(self, h: int, w: int, rng) -> dict:
        """Geometry of one sample (the train parameters are random)."""
        cfg = self.config
        if self.split == "train":
            return train_params(h, w, cfg, rng)
        rh, rw = smallest_max_size(h, w, cfg.resize)
        if self.split == "test":
            return {"window": None, "size": (rh, rw), "offset": (0, 0), "flip": False,
                    "crop": None}
        rh, rw = max(rh, cfg.crop), max(rw, cfg.crop)
        return {"window": None, "size": (rh, rw), "flip": False,
                "offset": ((rh - cfg.crop) // 2, (rw - cfg.crop) // 2)}  # CenterCrop

    def plans(self, h, w, p, chroma):
        crop = p.get("crop", self.config.crop)
        win = p["window"]
        rows = _axis_plan(h, None if win is None else (win[0], win[2]), p["size"][0],
                          p["offset"][0], crop, False, chroma)
        cols = _axis_plan(w, None if win is None else (win[1], win[3]), p["size"][1],
                          p["offset"][1], crop, p["flip"], chroma, cols=True)
        return rows, cols

    def prepare(self, h: int, w: int, rng) -> "Prepared":
        """Draw the geometry of one ``h x w`` image and get its operators (cached): what
        :meth:`apply` needs, and the pixel rows the operators read
        (:attr:`Prepared.rows_needed`: a reader may stop entropy decoding below them)."""
        p = self.params(h, w, rng)
        luma, chroma = self.plans(h, w, p, False), self.plans(h, w, p, True)
        rows = max(8 * _rows_read(luma[0]), 16 * _rows_read(chroma[0]))
        return Prepared(p, luma, chroma, rows)

    def apply(self, prepared: "Prepared", y, cb, cr, rng=None, out=None):
        """The transform of :meth:`prepare` on the coefficients; ``rng`` draws the JPEG-quality
        augmentation after the geometry (as :meth:`__call__` does). ``out``: ``(y, cb, cr)``
        float32 arrays to write into (slots of a batch), or None."""
        y_out = apply_plans([y], *prepared.luma, None if out is None else out[:1])[0]
        cb_out, cr_out = apply_plans([cb, cr], *prepared.chroma,
                                     None if out is None else out[1:])
        q = self.config.quality_range
        if self.split == "train" and q is not None and rng.random() < self.config.quality_p:
            quality = int(rng.integers(q[0], q[1] + 1))
            new = (dct.requantize(y_out, quality, "luma"), dct.requantize(cb_out, quality, "chroma"),
                   dct.requantize(cr_out, quality, "chroma"))
            if out is None:
                return new
            for o, n in zip(out, new):
                o[...] = n
            return tuple(out)
        return y_out, cb_out, cr_out

    def __call__(self, y, cb, cr, rng=None, size=None, out=None):
        if not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(rng)
        h, w = (8 * y.shape[0], 8 * y.shape[1]) if size is None else (int(size[0]),
                                                                      int(size[1]))
        return self.apply(self.prepare(h, w, rng), y, cb, cr, rng, out)

    def read(self, data: bytes, rng=None, *, info=None, backend=None, out=None, name=None):
        """Read a JPEG's coefficients and transform them: the reader stops entropy decoding
        below the last pixel row the operators read (``read_dct(..., stop_rows=...)``: our
        reader, single-scan files). ``info``: :func:`inspect_jpeg` of ``data`` if already
        made; ``out`` as in :meth:`apply`."""
        if not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(rng)
        if info is None:
            info = readers.inspect_jpeg(data, name or "<bytes>")
        prepared = self.prepare(info.height, info.width, rng)
        y, cb, cr = readers.read_dct(data, backend or readers.DEFAULT_BACKEND, info=info,
                                     stop_rows=prepared.rows_needed)
        return self.apply(prepared, y, cb, cr, rng, out)


@dataclass(frozen=True)
class Prepared:
    """One sample's geometry (:meth:`DCTTransform.params`), its axis plans (rows, cols) for
    luma and chroma, and the number of pixel rows of the input they read."""

    params: dict
    luma: tuple
    chroma: tuple
    rows_needed: int


def make_dct_transform(split: str, config=None) -> DCTTransform:
    """The DCT-domain transform of ``split`` (``train``, ``val``, ``test``) for a
    :class:`TransformConfig` or :class:`DCTTransformConfig` (default sizes 256 / 224)."""
    return DCTTransform(split, config)
