"""The classification transforms of :mod:`jpeg_deep.data.transforms.classification`, in the DCT
domain.

:func:`make_dct_transform` returns a callable ``(y, cb, cr, rng, size=None) -> (y, cb, cr)`` on
the reader's layout (:func:`jpeg_deep.codec.readers.read_dct`: ``(ceil(h/8), ceil(w/8), 64)``
components, 4:2:0 chroma). It draws the same random parameters, with the same formulas, as the
albumentations pipeline of :func:`jpeg_deep.data.transforms.classification.make_transform`:

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
:func:`jpeg_deep.data.transforms.layout.dct_layout` works unchanged.

Geometry of the chroma: what decoding, transforming the RGB image and re-encoding it as 4:2:0
does, without its rounding: chroma upsampled 2x (``cv2.resize`` INTER_LINEAR, which is libjpeg's
"fancy" triangle upsampling), the luma geometry applied at full resolution, then the 2:1 box
filter of a 4:2:0 encoder -- all composed into one operator per axis.

Accuracy (``tests/data/transforms/test_classification_dct.py``): equal to "inverse DCT of the input, the same cv2 /
slicing / flip operations on float Y, Cb, Cr planes, forward DCT" within 1e-3 on the 0..255
pixel scale (float32 rounding, measured <= 5e-5); against the real re-encoding path (decode,
albumentations, JPEG q95 4:2:0 re-encode, read) the pixels differ by quantisation and 8-bit
rounding only: mean absolute difference ~1.0 grey level for Y, ~0.9 for Cb / Cr (tested below
1.5 / 1.25), worst pixel <= 9 (tested below 16).

Speed: :meth:`DCTTransform.read` with an integer seed (what the loader passes) does a ``val``
or ``train`` sample (shorter-side or random-resized crop, no JPEG-quality augmentation) in one
compiled call, :meth:`DCTTransform.read_seeded` (:func:`jpeg_deep.codec.readers.read_crop`):
header, numpy's ``default_rng(seed)`` draws reproduced in C, the plans below (crops' from a
cache in ``_banded.c``: at most 1024, emptied when full), the read and both passes, with the
same numbers as the Python path (tested bit for bit). Otherwise (a ``Generator``, the ``test``
split, quality augmentation, our reader or the kernel not built), Python draws the geometry and
each axis plan of a sample (rows and columns, luma and chroma) is built straight from the
geometry in one C call (``_banded.window_plan``: taps,
band, flip, transpose: 5-6 us whatever the image size), so a new image size, crop offset or
random-resized-crop window costs no more than a known one; training crops' plans are also
kept (at most 1024, 5-60 KB each: at most ~60 MB per process, reached only on datasets of
many sizes; least recently used ones are dropped). Without the kernel, numpy builds a
phase's whole plan from the resize's cached taps and slices crops from it (1024 phase plans
of about 25 KB and 1024 crop plans at most). :meth:`DCTTransform.read` draws the geometry
before reading, so the reader stops entropy decoding below the last row the operators read,
and the results can be written straight into a batch's arrays (Cb and Cr side by side
included). Both passes run in the compiled kernel
``jpeg_deep/_banded.c`` where it was built (:func:`kernel_variant`: its AVX-512 or AVX2 build,
chosen at run time): per output block row, the vertical pass reads the int16 coefficients
directly (rows of 8 past a block's last nonzero row skipped), the horizontal pass writes the
output blocks in place, with 8 x 8 accumulators in vector registers. Measured speeds are in
``docs/results/input_pipeline.md``.
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
from jpeg_deep.codec import readers
from jpeg_deep.data.transforms.classification import SPLITS, TransformConfig
from jpeg_deep.dct.banded import (_dct_matrix, _grouped, _positional, _rows_read, _writable_directly,
                                  apply_plans)

try:  # the compiled kernel (jpeg_deep/_banded.c), built at install where a C compiler is found
    from jpeg_deep import _banded
except ImportError:  # pragma: no cover - installed without a compiler: numpy products
    _banded = None


kernel_variant = dct.kernel_variant
_KERNEL = kernel_variant()
# the compiled kernel's axis plans and their application live with the operators, in dct
_KernelPlan = dct.KernelPlan


def kernel_in_use() -> bool:
    """Whether the DCT-domain transforms apply their operators with the compiled kernel (the
    SSD chain follows this module's choice)."""
    return _KERNEL != "numpy"

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
    (:class:`jpeg_deep.data.loader.ClassificationTransform`), so a seed gives both paths the
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
# image size is cheap: the dense compositions would dominate on datasets of many sizes.

_linear_taps, _halve_taps = dct.cached_linear_taps, dct.halve_taps
_compose_taps, _axis_taps = dct.compose_taps, dct.axis_taps


def _band(op: dct.AxisOp, nb_in: int):
    """:func:`jpeg_deep.dct.banded_operator`, compiled where this module's kernel is in use."""
    return dct.banded_operator(op, nb_in, compiled=_KERNEL != "numpy")


def band_from_taps(cols, w, nb_in: int):
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
    return band_from_taps(*_phase_taps(n_in, n_res, phase, chroma))


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
    kernel, built for this crop in one call (:func:`_direct_plan`) and cached; for numpy,
    built from the phase plan and cached."""
    if not kernel:
        return _crop_plan_numpy(n_in, n_res, offset, crop, flip, chroma, cols)
    return _crop_plan_kernel(n_in, n_res, offset, crop, flip, chroma, cols)


@lru_cache(maxsize=1024)  # 5-60 KB each (k = 2-8 input blocks per output block)
def _crop_plan_kernel(n_in, n_res, offset, crop, flip, chroma, cols):
    """A training crop's plan for the kernel, built for this crop alone (5-6 us), kept for the
    next sample of the same size, offset and flip (a few hundred per image size)."""
    return _direct_plan(n_in, 0, n_in, n_res, offset, crop, flip, chroma, cols)


@lru_cache(maxsize=1024)  # 20-45 KB each; cheap to rebuild from a phase plan
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
    if kernel:  # geometry -> taps -> band -> flipped / transposed kernel form: one C call
        return _direct_plan(n_in, top, size, n_out, 0, n_out, flip, chroma, cols)
    return _prepared(_window_band(n_in, top, size, n_out, flip, chroma), cols, kernel)


_DCT8 = _dct_matrix(8)


def _direct_plan(n_in, top, size, n_res, o0, n, flip, chroma, cols) -> "_KernelPlan":
    """The kernel's plan of input pixels ``top .. top + size - 1`` resized to ``n_res``, output
    pixels ``o0 .. o0 + n - 1`` kept (chroma: through the upsampled plane, then halved),
    flipped and transposed as asked, built by ``_banded.window_plan`` in one call: the taps of
    :func:`_window_taps` / :func:`_phase_taps` and the bands of :func:`band_from_taps`, with
    no cache (a few microseconds, whatever the image size)."""
    start, band, sub, k = _banded.window_plan(n_in, top, size, n_res, o0, n, chroma, flip,
                                              cols, _DCT8)
    nb = n // (16 if chroma else 8)
    band = np.frombuffer(band, np.float32).reshape((nb, 8 * k, 8) if cols else (nb, 8, 8 * k))
    return _KernelPlan(np.frombuffer(start, np.int64), band, k,
                       np.frombuffer(sub, np.int64).reshape(nb, 2))


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
    plan = band_from_taps(*taps, nb_in)
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
        self._mode = self._one_call_mode()

    def _one_call_mode(self):
        """The crop mode of :func:`jpeg_deep.codec.readers.read_crop` for this transform, or
        None where it takes no sample of it (see :meth:`one_call`)."""
        cfg = self.config
        if (not kernel_in_use() or readers.DEFAULT_BACKEND != "libjpeg" or cfg.crop % 16
                or self.split == "test" or (self.split == "train"
                                            and cfg.quality_range is not None)):
            return None
        if self.split == "val":
            return "center"
        return "random_resized" if cfg.random_resized_crop else "random"

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
        made; ``out`` as in :meth:`apply`.

        With an integer seed as ``rng`` (what the loader passes), a transform
        :meth:`read_seeded` takes runs in one compiled call, with the same results."""
        if not isinstance(rng, np.random.Generator):
            if backend in (None, readers.DEFAULT_BACKEND) and self.one_call(rng):
                done = self.read_seeded(data, rng, out=out, name=name)
                if done is not None:
                    return done
            rng = np.random.default_rng(rng)
        if info is None:
            info = readers.inspect_jpeg(data, name or "<bytes>")
        prepared = self.prepare(info.height, info.width, rng)
        y, cb, cr = readers.read_dct(data, backend or readers.DEFAULT_BACKEND, info=info,
                                     stop_rows=prepared.rows_needed)
        return self.apply(prepared, y, cb, cr, rng, out)


    def one_call(self, seed) -> bool:
        """Whether :meth:`read_seeded` can take a sample of this transform with this seed:
        the compiled kernel and our reader built; ``val``, or ``train`` (shorter-side or
        random-resized crop, no JPEG-quality augmentation) with an integer seed in
        ``0 .. 2**64 - 1``; a crop of whole chroma blocks (a multiple of 16)."""
        mode = self._mode
        return mode is not None and (mode == "center" or (
            isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
            and 0 <= seed < 2 ** 64))

    def read_seeded(self, data: bytes, seed=None, *, out=None, name=None):
        """:meth:`read` in one compiled call (:func:`jpeg_deep.codec.readers.read_crop`:
        header, the draws of ``numpy.random.default_rng(seed)``, geometry, cached plans, read,
        kernel): the same numbers as the Python path (tested). ``out`` as in :meth:`apply`
        (default: new arrays). None where :meth:`one_call` says no, or for a file the general
        path should take (another subsampling, a file with a problem: :meth:`read` then names
        it)."""
        if not self.one_call(seed):
            return None
        cfg = self.config
        args = (data, 0 if seed is None else seed, self._mode, cfg.resize, cfg.crop, cfg.flip_p)
        tail = (_DCT8, cfg.scale, cfg.ratio, name or "<bytes>")
        if out is not None:
            try:  # written in place: Y and the Cb / Cr slots of a batch
                return tuple(out) if readers.read_crop(*args, out, *tail) else None
            except ValueError:  # a layout the compiled call does not write: through new arrays
                if all(_writable_directly(o, o.shape) for o in out):
                    raise
        n8, n16 = cfg.crop // 8, cfg.crop // 16
        targets = (np.empty((n8, n8, 64), np.float32),
                   *np.empty((2, n16, n16, 64), np.float32))
        if not readers.read_crop(*args, targets, *tail):
            return None
        if out is None:
            return targets
        for o, t in zip(out, targets):
            o[...] = t
        return tuple(out)


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
