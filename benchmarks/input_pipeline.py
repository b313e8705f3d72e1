"""Images per second of the input paths on the same JPEG files, measured in one run, one process,
one thread, with each path's ratio to the floor (0) and to the tf.data anchor (8).

(0) the floor: entropy decoding only          (``jpeg_deep._jpegread.entropy_decode``: libjpeg's
                                               jpeg_read_header + jpeg_read_coefficients, nothing
                                               else: the issue's floor, the ratios' base); and the
                                               same in raw mode (``entropy_decode(data, True)``,
                                               single-scan files: each MCU left in libjpeg's MCU
                                               buffer, no whole-image coefficient array, as our
                                               reader decodes them): the least any coefficient
                                               reader can do
(1) full RGB decode                           (cv2.imdecode, on OpenCV's own libjpeg-turbo; the
                                               TurboJPEG API of the system libjpeg-turbo, the
                                               library of (0) and (2), through ctypes;
                                               tf.io.decode_jpeg in tf.data, on TensorFlow's own
                                               libjpeg-turbo, its default dct_method), and cv2
                                               decode + shorter-side resize + centre crop (an
                                               RGB network's val loader)
(2) DCT read, jpeg2dct (and jpeglib*)         (``read_dct(data, "jpeg2dct")``; jpeglib reads
                                               through a temporary file: its API takes paths)
(3) DCT read, our reader                      (``read_dct(data, "libjpeg")``), and a user's chain
                                               of the public ``jpeg_deep.dct`` functions on it:
                                               resize (shorter side), crop (random, whole blocks)
                                               and horizontal flip of Y and of Cb + Cr stacked;
                                               and the same chain composed into one resample
                                               per component (AxisOp resize -> window -> flip)
(4) re-encoding train transform               (SampleLoader: decode, shorter-side resize, random
                                               crop, flip, JPEG q95 re-encode, DCT read, layout)
(5) DCT-domain train transform                (SampleLoader.sample with the sample's integer
                                               seed into a batch slot, as training runs it: one
                                               compiled call for header, draws, geometry, cached
                                               plans, read and kernel; shorter-side resize +
                                               random crop + flip)
(6) DCT-domain train transform, RRC           (the same with random_resized_crop=True: the
                                               window's plans built in the same call, per
                                               sample)
(7) SSD training transform*                   (detection: the RGB chain of
                                               jpeg_deep.data.datasets, re-encoded at q75 and
                                               read, vs the DCT-domain chain of
                                               jpeg_deep.data.transforms.ssd_dct; --ssd-size, --no-ssd)
(8) tf.data random-resized crop: the anchor   (extract_jpeg_shape, sample_distorted_bounding_box,
                                               decode_and_crop_jpeg, resize to crop x crop, random
                                               flip)
(9) tf.data shorter-side resize               (decode_jpeg, resize to shorter side = resize,
                                               random crop, random flip)

A row whose code is not built here says n/a: (0) without ``jpeg_deep/_jpegread``, (3) without
the ``"libjpeg"`` backend (then run with ``--backend jpeg2dct``). The rows marked * are the
slowest: they run on the data sets of ``--slow-rows`` only (default: photos and --data, not mix),
which keeps the default run short. Off by default: ``--workers`` (the DCT-domain path in batches
of 32, 1 process vs 2 forked worker processes, with a pure-CPU control) and ``--gpu`` (the Keras
DCT layers on a GPU, when TensorFlow sees one).

    python benchmarks/input_pipeline.py                     # photos (200 files) and mix (1500)
    python benchmarks/input_pipeline.py --sets mix --mix-count 500 --repeats 2 --json out.json
    python benchmarks/input_pipeline.py --data demo_data/imagenet/train [--size 256 224]

Data sets (``--sets``): ``photos``, the photos that scikit-image ships as 500x375 4:2:0 JPEGs
(q88-92, each photo cycled with different crops and flips, ``--photos-count`` files), and
``mix``, an ImageNet-like mix of sizes, qualities and chroma subsamplings (:data:`SIZE_MIX`,
printed at start; ``--mix-count`` files); ``--data DIR`` adds the ``.jpg`` files of a folder
(the set ``data``).

How it is measured. Every file's bytes are read into memory once; every row reads them from
there (tf.data through ``Dataset.from_tensor_slices`` of the list of byte strings; the
SampleLoader rows through its module's ``open``, pointed at those bytes). One thread per process:
OpenCV, BLAS and TensorFlow (1 intra-op and 1 inter-op thread, and a private tf.data thread pool
of 1 thread, one map call at a time, no prefetch). A pass reads each file once (an epoch).
``cold``: the first pass of each path, with the operator caches of the DCT-domain modules emptied
just before it, as in a fresh process (after one untimed call on two files for the imports);
``warm``: the best of ``--repeats`` passes after that, the paths timed in turn within each pass
so that all get the same chances on a shared machine. The ratios are of the warm rates. The
random rows draw new seeds every pass, the same seeds for every path of a pass.
"""
import argparse
import builtins
import contextlib
import ctypes
import ctypes.util
import datetime
import functools
import io
import itertools
import json
import math
import mmap
import os
import platform
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

# Before any TensorFlow op (and before Keras, which jpeg_deep imports): afterwards the thread
# pools exist and these calls fail.
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from jpeg_deep import dct  # noqa: E402
from jpeg_deep.codec import readers  # noqa: E402
from jpeg_deep.data.transforms import (ssd_dct as dct_detection,
                                       classification_dct as dct_transforms)
from jpeg_deep.data import loader as data_loader  # noqa: E402
from jpeg_deep.codec.jpeg import decode_rgb, encode_jpeg  # noqa: E402
from jpeg_deep.data.transforms.classification import TransformConfig  # noqa: E402
from jpeg_deep.data.transforms.classification_dct import DCTTransformConfig  # noqa: E402
from jpeg_deep.data.transforms.layout import dct_layout  # noqa: E402
from jpeg_deep.data.loader import SampleLoader
from jpeg_deep.data.parallel import ordered_map  # noqa: E402
from jpeg_deep.codec.readers import inspect_jpeg, read_dct  # noqa: E402

try:  # the floor rows: n/a where the reader was not built
    from jpeg_deep import _jpegread
except ImportError:
    _jpegread = None
entropy_decode = getattr(_jpegread, "entropy_decode", None)
RAW_FLOOR = hasattr(_jpegread, "raw_mode")  # entropy_decode(data, raw) came with it

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina",
          "hubble_deep_field", "camera", "brick", "grass", "gravel", "page", "cat")
COLOUR_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina",
                 "hubble_deep_field")
GREY_PHOTOS = ("camera", "brick", "grass", "gravel", "moon", "coins")

# The ``mix`` data set: an ImageNet-like spread of sizes, qualities and chroma subsamplings.
SIZE_MIX = {
    "long_side_500": 0.70,  # share of files 500 px on the long side (ImageNet's usual size)
    "long_side_log_uniform": (150, 1600),  # the others: long side log-uniform in this range, px
    "aspect_w_h": {"4:3": 0.50, "3:4": 0.35, "1:1": 0.15},  # of every file
    "quality": (75, 95),  # uniform integer, both ends included
    "subsampling": {"4:2:0": 0.80, "4:4:4": 0.12, "grey": 0.05, "4:2:2": 0.03},
    "encoder": "PIL Image.save (baseline, no optimize); grey: mode L",
    "content": "scikit-image photos, random crop of 60-100% of the largest window of the "
               "aspect, random flip, cv2 resize (INTER_AREA down, INTER_CUBIC up); colour "
               "files from the colour photos, grey files from all",
}
_PIL_SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}
_OPERATOR_CACHE_MODULES = (dct, dct_transforms, dct_detection)


# --------------------------------------------------------------------------------------------
# Data sets.


def _photo(name):
    """One scikit-image photo as RGB uint8 (grey ones stacked to 3 channels), or None where
    this scikit-image version lacks it."""
    from skimage import data

    try:
        img = getattr(data, name)()
    except Exception:  # noqa: BLE001 - a photo missing from this scikit-image version
        return None
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return np.ascontiguousarray(img[..., :3]).astype(np.uint8)


def _random_view(img, aspect, rng, min_area=0.6):
    """A random crop of ``img`` of ``aspect`` (w / h) covering ``min_area``..1 of the largest
    window of that aspect, flipped left-right half of the time."""
    h, w = img.shape[:2]
    ch, cw = (h, round(h * aspect)) if w / h >= aspect else (round(w / aspect), w)
    s = math.sqrt(rng.uniform(min_area, 1.0))
    ch, cw = max(8, round(ch * s)), max(8, round(cw * s))
    top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    view = img[top:top + ch, left:left + cw]
    return view[:, ::-1] if rng.random() < 0.5 else view


def _resized(img, w, h):
    down = w * h <= img.shape[0] * img.shape[1]
    return cv2.resize(np.ascontiguousarray(img), (w, h),
                      interpolation=cv2.INTER_AREA if down else cv2.INTER_CUBIC)


def write_photos(folder: Path, size=(500, 375), quality=90, count=200, sources=8, seed=0):
    """``count`` JPEGs of ``size`` (w, h), 4:2:0, from the first ``sources`` scikit-image photos
    in turn: each file a different random crop (and flip) of its photo, at quality ``quality``
    -2..+2, so that no two files are the same."""
    rng = np.random.default_rng(seed)
    photos = [(n, p) for n, p in ((n, _photo(n)) for n in PHOTOS) if p is not None][:sources]
    paths = []
    for k in range(count):
        name, img = photos[k % len(photos)]
        view = _resized(_random_view(img, size[0] / size[1], rng, min_area=0.7), *size)
        path = folder / f"{name}_{k:04d}.jpg"
        path.write_bytes(encode_jpeg(view, quality + (0, -2, 2, -1, 1)[k // len(photos) % 5]))
        paths.append(path)
    return paths


def write_size_mix(folder: Path, n=1500, seed=0):
    """``n`` JPEGs drawn from :data:`SIZE_MIX`: the file sizes, aspects, qualities and chroma
    subsamplings of a typical ImageNet-like training set, whose mix changes how much each path
    costs (a 1600 px file is 10x the pixels of a 500 px one; 4:4:4 doubles the chroma)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    colour = [p for p in map(_photo, COLOUR_PHOTOS) if p is not None]
    grey = colour + [p for p in map(_photo, GREY_PHOTOS) if p is not None]
    aspects = list(SIZE_MIX["aspect_w_h"])
    kinds = list(SIZE_MIX["subsampling"])
    lo, hi = SIZE_MIX["long_side_log_uniform"]
    paths = []
    for k in range(n):
        if rng.random() < SIZE_MIX["long_side_500"]:
            long_side = 500
        else:
            long_side = round(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        a, b = map(int, aspects[rng.choice(len(aspects),
                                           p=list(SIZE_MIX["aspect_w_h"].values()))].split(":"))
        w, h = (long_side, round(long_side * b / a)) if a >= b else (round(long_side * a / b),
                                                                       long_side)
        kind = kinds[rng.choice(len(kinds), p=list(SIZE_MIX["subsampling"].values()))]
        quality = int(rng.integers(SIZE_MIX["quality"][0], SIZE_MIX["quality"][1] + 1))
        sources = grey if kind == "grey" else colour
        img = _resized(_random_view(sources[int(rng.integers(len(sources)))], w / h, rng), w, h)
        path = folder / f"mix_{k:05d}.jpg"
        if kind == "grey":
            Image.fromarray(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), "L").save(
                path, "JPEG", quality=quality)
        else:
            Image.fromarray(img).save(path, "JPEG", quality=quality,
                                      subsampling=_PIL_SUBSAMPLING[kind])
        paths.append(path)
    return paths


def describe(blobs) -> dict:
    """What the headers of a data set say: file count, median size, megabytes, subsamplings."""
    infos = [inspect_jpeg(b) for b in blobs]
    kinds = {}
    for info in infos:
        kinds[info.subsampling] = kinds.get(info.subsampling, 0) + 1
    return {"files": len(blobs),
            "median_width": int(np.median([i.width for i in infos])),
            "median_height": int(np.median([i.height for i in infos])),
            "mean_megapixels": round(float(np.mean([i.width * i.height for i in infos])) / 1e6, 4),
            "megabytes": round(sum(map(len, blobs)) / 1e6, 1),
            "subsampling": dict(sorted(kinds.items(), key=lambda kv: -kv[1]))}


# --------------------------------------------------------------------------------------------
# Timing.


def timed(fn, items, repeats):
    """Images/s of ``fn`` called on every item: the best of ``repeats`` passes."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - start)
    return len(items) / best


def timed_dataset(ds, n, repeats):
    """Images/s of iterating the whole tf.data dataset ``ds`` of ``n`` images: the best of
    ``repeats`` passes (each a new iterator over the dataset built once)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in ds:
            pass
        best = min(best, time.perf_counter() - start)
    return n / best


def clear_operator_caches() -> int:
    """Empty every ``functools.lru_cache`` of the DCT-domain modules (found by scanning their
    attributes for ``cache_clear``): the operators a fresh process has not built yet. Returns
    how many caches were emptied."""
    count = 0
    if getattr(dct_transforms, "_banded", None) is not None:  # the one-call path's plans
        dct_transforms._banded.cache_clear()
        count += 1
    for module in _OPERATOR_CACHE_MODULES:
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
                count += 1
    return count


@dataclass
class Row:
    """One path of the table: ``rate(items) -> images/s`` of one pass over ``items`` (``(file
    index, seed)`` pairs), ``warm_up(items)`` the untimed first call; ``missing`` says why a
    path cannot run here (then both are None)."""

    label: str
    rate: Optional[Callable] = None
    warm_up: Optional[Callable] = None
    missing: str = ""
    cold: Optional[float] = None
    warm: Optional[float] = None


def python_row(label, fn, missing=""):
    """A row calling ``fn(index, seed)`` once per file."""
    if missing:
        return Row(label, missing=missing)

    def warm_up(items):
        for item in items[:2]:
            fn(*item)

    return Row(label, lambda items: timed(lambda item: fn(*item), items, 1), warm_up)


def dataset_row(label, ds, n):
    """A row iterating the tf.data dataset ``ds`` (of the ``n`` files) once per pass."""

    def warm_up(_):
        for _ in ds.take(2):
            pass

    return Row(label, lambda _: timed_dataset(ds, n, 1), warm_up)


def measure(rows, n, repeats, seeds):
    """Fill ``cold`` and ``warm`` of ``rows``, each pass over the ``n`` files."""
    live = [r for r in rows if r.rate is not None]
    items = [(i, next(seeds)) for i in range(n)]
    for row in live:
        row.warm_up(items)
    for row in live:
        clear_operator_caches()
        row.cold = row.rate(items)
    for _ in range(repeats):
        items = [(i, next(seeds)) for i in range(n)]
        for row in live:
            row.warm = max(row.warm or 0.0, row.rate(items))


# --------------------------------------------------------------------------------------------
# The paths.


def turbojpeg_decoder():
    """``decode(data) -> RGB uint8`` through the TurboJPEG API of the system's libjpeg-turbo
    (the library that ``_jpegread`` and jpeg2dct link), default flags (accurate integer inverse
    DCT, fancy upsampling); None where ``libturbojpeg`` is not installed."""
    name = ctypes.util.find_library("turbojpeg")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    c_int_p = ctypes.POINTER(ctypes.c_int)
    lib.tjInitDecompress.restype = ctypes.c_void_p
    lib.tjDecompressHeader3.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong,
                                        c_int_p, c_int_p, c_int_p, c_int_p]
    lib.tjDecompress2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong,
                                  ctypes.c_void_p] + [ctypes.c_int] * 5
    lib.tjGetErrorStr2.restype = ctypes.c_char_p
    lib.tjGetErrorStr2.argtypes = [ctypes.c_void_p]
    handle = lib.tjInitDecompress()
    tjpf_rgb = 0

    def decode(data: bytes) -> np.ndarray:
        w, h, sub, space = (ctypes.c_int() for _ in range(4))
        if lib.tjDecompressHeader3(handle, data, len(data), ctypes.byref(w), ctypes.byref(h),
                                   ctypes.byref(sub), ctypes.byref(space)):
            raise ValueError(lib.tjGetErrorStr2(handle).decode())
        out = np.empty((h.value, w.value, 3), np.uint8)
        if lib.tjDecompress2(handle, data, len(data), out.ctypes.data, w.value, 0, h.value,
                             tjpf_rgb, 0):
            raise ValueError(lib.tjGetErrorStr2(handle).decode())
        return out

    return decode


def tf_datasets(blobs, resize, crop):
    """The tf.data rows, each dataset built once over the byte strings already in memory:
    ``(decode only, random-resized crop + flip, shorter-side resize + random crop + flip)``.

    One map call at a time (``num_parallel_calls=1``), no prefetch, on a private pool of 1
    thread; the optimisations that would add parallelism or prefetching are off. The crop
    follows torchvision / albumentations' RandomResizedCrop, as row (6) does: area 0.08..1 of
    the image, aspect 3/4..4/3, 10 tries, no object to cover (``min_object_covered=0``), the
    whole image when every try fails (TensorFlow's fallback; theirs is a centre crop)."""
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.threading.max_intra_op_parallelism = 1
    options.autotune.enabled = False
    options.experimental_optimization.map_parallelization = False
    options.experimental_optimization.inject_prefetch = False
    options.deterministic = True
    files = tf.data.Dataset.from_tensor_slices(blobs).with_options(options)

    def decode(data):
        return tf.io.decode_jpeg(data, channels=3)

    def random_resized_crop(data):
        begin, size, _ = tf.image.sample_distorted_bounding_box(
            tf.image.extract_jpeg_shape(data), bounding_boxes=tf.zeros([1, 0, 4]),
            min_object_covered=0.0, aspect_ratio_range=(3 / 4, 4 / 3), area_range=(0.08, 1.0),
            max_attempts=10, use_image_if_no_bounding_boxes=True)
        window = tf.stack([begin[0], begin[1], size[0], size[1]])
        img = tf.io.decode_and_crop_jpeg(data, window, channels=3)
        return tf.image.random_flip_left_right(tf.image.resize(img, [crop, crop]))

    def shorter_side(data):
        img = tf.io.decode_jpeg(data, channels=3)
        hw = tf.cast(tf.shape(img)[:2], tf.float32)
        size = tf.maximum(tf.cast(tf.round(hw * (resize / tf.reduce_min(hw))), tf.int32), crop)
        img = tf.image.random_crop(tf.image.resize(img, size), [crop, crop, 3])
        return tf.image.random_flip_left_right(img)

    return tuple(files.map(fn, num_parallel_calls=1, deterministic=True)
                 for fn in (decode, random_resized_crop, shorter_side))


@contextlib.contextmanager
def files_in_memory(blobs_by_path: dict):
    """SampleLoader opens its file: point the ``open`` of :mod:`jpeg_deep.data.loader` at the
    bytes already in memory, so that its rows read the files as every other row does (no file
    system call). Any other file opens as usual."""

    def _open(file, mode="r", *args, **kwargs):
        if mode == "rb" and os.fspath(file) in blobs_by_path:
            return io.BytesIO(blobs_by_path[os.fspath(file)])
        return builtins.open(file, mode, *args, **kwargs)

    data_loader.open = _open
    try:
        yield
    finally:
        del data_loader.open


_BATCH = 32  # the DCT rows write each sample into a slot of a batch array, as the loader does


def _chain_read(data, seed, resize, crop, backend):
    """The read and the geometry of the user's chains: ``(y, cb, cr)``, the true size, the
    shorter side resized to ``resize``, a random block-aligned ``crop`` offset."""
    rng = np.random.default_rng(seed)
    info = readers.inspect_jpeg(data)
    comps = read_dct(data, backend, info=info)
    h, w = info.height, info.width
    s = resize / min(h, w)
    rh, rw = max(resize, round(h * s)), max(resize, round(w * s))
    top = 16 * int(rng.integers(0, (rh - crop) // 16 + 1))
    left = 16 * int(rng.integers(0, (rw - crop) // 16 + 1))
    return comps, (h, w), (rh, rw), (top, left)


def dct_chain(data, seed, resize, crop, backend):
    """What a user writes with the public ``jpeg_deep.dct`` functions: read, resize the
    shorter side to ``resize``, crop ``crop`` at a random block-aligned offset, flip (Y, and
    Cb + Cr stacked)."""
    (y, cb, cr), (h, w), (rh, rw), (top, left) = _chain_read(data, seed, resize, crop, backend)
    y = dct.flip_horizontal(dct.crop(dct.resize(y, rh, rw, size=(h, w)), top, left, crop, crop))
    c = dct.resize(np.stack([cb, cr]), -(-rh // 2), -(-rw // 2),
                   size=(-(-h // 2), -(-w // 2)))
    return y, dct.flip_horizontal(dct.crop(c, top // 2, left // 2, crop // 2, crop // 2))


def dct_chain_composed(data, seed, resize, crop, backend):
    """The same chain as :func:`dct_chain` (the same draws, the same output to float32
    rounding), written as :mod:`jpeg_deep.dct` documents for a resize followed by a crop: one
    :func:`~jpeg_deep.dct.resample` per component with composed
    :class:`~jpeg_deep.dct.AxisOp` chains (resize -> window -> flip), so only the crop's
    blocks are made."""
    (y, cb, cr), (h, w), (rh, rw), (top, left) = _chain_read(data, seed, resize, crop, backend)
    y = dct.resample(y, dct.AxisOp(h).resize(rh).window(top, crop),
                     dct.AxisOp(w).resize(rw).window(left, crop).flip())
    c = dct.resample(np.stack([cb, cr]),
                     dct.AxisOp(-(-h // 2)).resize(-(-rh // 2)).window(top // 2, crop // 2),
                     dct.AxisOp(-(-w // 2)).resize(-(-rw // 2)).window(left // 2, crop // 2)
                     .flip())
    return y, c


def _batch_slots(crop):
    y = np.empty((_BATCH, crop // 8, crop // 8, 64), np.float32)
    cbcr = np.empty((_BATCH, crop // 16, crop // 16, 128), np.float32)
    return [(y[i], cbcr[i]) for i in range(_BATCH)]


def _dct_loader(config, backend):
    """The loader of a DCT-domain training transform, as training makes it."""
    return SampleLoader("y_cbcr", "train", config, backend=backend,
                        transform_factory=data_loader.ClassificationDCTTransform)


def _dct_sample(loader, data, seed, slots=None, i=0):
    """One training sample of a DCT-domain transform through
    :meth:`jpeg_deep.data.loader.SampleLoader.sample` with the sample's integer seed, written
    into batch slot ``i`` (as :class:`jpeg_deep.data.batches.Batches` does): one compiled call
    (header, draws, plans, read, kernel) where the transform allows it, else header, the
    transform's geometry, the read (stopping below the rows the operators need) and the banded
    operators."""
    return loader.sample(data, None, seed, out=None if slots is None else slots[i % _BATCH])[0]


def ssd_rows(paths, blobs, size, backend):
    """Rows (7): the SSD training transform through the detection loader, RGB chain (decode,
    photometric, zoom-out, IoU crop, flip, resize, JPEG q75 re-encode, DCT read) vs the
    DCT-domain chain (DCT read, the same chain on the coefficients), three boxes per image at
    fixed fractions of it. Both rows get the same seeds: the cost depends on the random zoom-out
    and crop, so both paths must draw the same ones."""
    from jpeg_deep.data.datasets.detection import DetectionSample
    from jpeg_deep.data.transforms.ssd import DetectionTransformConfig
    from jpeg_deep.tasks.detection.task import (DetectionDCTSampleTransform,
                                                DetectionSampleTransform)

    boxes = np.array([[0.1, 0.1, 0.5, 0.6], [0.4, 0.3, 0.9, 0.9], [0.6, 0.05, 0.8, 0.3]])
    samples = []
    for path, data in zip(paths, blobs):
        info = inspect_jpeg(data)
        w, h = info.width, info.height
        samples.append(DetectionSample(Path(path), path.stem, w, h,
                                       (boxes * [w, h, w, h]).astype(np.float32),
                                       np.array([1, 2, 3], np.int32), np.zeros(3, bool)))
    config = DetectionTransformConfig(input_size=size, quality=75)
    rows = []
    for label, factory in ((f"(7) SSD train transform to {size}, RGB + re-encoding",
                            DetectionSampleTransform),
                           (f"(7) SSD train transform to {size}, DCT domain",
                            DetectionDCTSampleTransform)):
        loader = SampleLoader("y_cbcr", "train", config, backend=backend,
                              transform_factory=factory, encoder=lambda t: t)
        rows.append(python_row(label, lambda i, seed, loader=loader: loader.sample(
            samples[i].path, samples[i], seed)))
    return rows


def build_rows(paths, blobs, args, slow=True):
    """The rows of the table for one data set, in the order of the module docstring (``slow``:
    with the jpeglib read and the SSD rows)."""
    resize, crop, backend = args.size[0], args.size[1], args.backend
    config = TransformConfig(resize=resize, crop=crop, quality=95)
    transform = _dct_loader(DCTTransformConfig.of(config), backend)
    rrc = _dct_loader(DCTTransformConfig(resize, crop, random_resized_crop=True), backend)
    loader = SampleLoader("y_cbcr", "train", config, backend=backend)
    slots = _batch_slots(crop)
    libs = libjpeg_versions()
    turbo = turbojpeg_decoder()
    decoded, tf_rrc, tf_short = tf_datasets(blobs, resize, crop)
    flags = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION

    def rgb_val(i, _):
        img = decode_rgb(blobs[i])
        h, w = img.shape[:2]
        s = resize / min(h, w)
        img = cv2.resize(img, (max(crop, round(w * s)), max(crop, round(h * s))))
        y0, x0 = (img.shape[0] - crop) // 2, (img.shape[1] - crop) // 2
        return img[y0:y0 + crop, x0:x0 + crop]

    rows = [
        python_row(f"(0) floor: entropy decoding only, _jpegread ({libs['system']})",
                   lambda i, _: entropy_decode(blobs[i]),
                   "" if entropy_decode is not None else "n/a (not built)"),
        python_row(f"(0) entropy decoding only, raw mode: no coefficient arrays "
                   f"({libs['system']})", lambda i, _: entropy_decode(blobs[i], True),
                   "" if RAW_FLOOR else "n/a (not built)"),
        python_row(f"(1) RGB decode, cv2.imdecode ({libs['cv2']})",
                   lambda i, _: cv2.imdecode(np.frombuffer(blobs[i], np.uint8), flags)),
        python_row(f"(1) RGB decode, TurboJPEG via ctypes ({libs['system']})",
                   lambda i, _: turbo(blobs[i]), "" if turbo else "n/a (no libturbojpeg)"),
        dataset_row(f"(1) RGB decode, tf.io.decode_jpeg in tf.data ({libs['tensorflow']})",
                    decoded, len(blobs)),
        python_row(f"(1) RGB decode + resize {resize} + centre crop {crop}, cv2", rgb_val),
        python_row("(2) DCT read, jpeg2dct", lambda i, _: read_dct(blobs[i], "jpeg2dct")),
        python_row("(2) DCT read, jpeglib", lambda i, _: read_dct(blobs[i], "jpeglib"))
        if slow else None,
        python_row(f"(3) jpeg_deep.dct chain: read, resize {resize}, crop {crop}, flip "
                   f"({backend})", lambda i, seed: dct_chain(blobs[i], seed, resize, crop,
                                                            backend)),
        python_row(f"(3) jpeg_deep.dct chain composed: read, resample(resize {resize} -> "
                   f"crop {crop} -> flip) ({backend})",
                   lambda i, seed: dct_chain_composed(blobs[i], seed, resize, crop, backend)),
        python_row("(3) DCT read, libjpeg (ours)", lambda i, _: read_dct(blobs[i], "libjpeg"),
                   "" if "libjpeg" in readers.backends() else "n/a (no 'libjpeg' backend)"),
        python_row(f"(4) re-encoding train transform (q95, {backend})",
                   lambda i, seed: loader(paths[i], seed)),
        python_row(f"(5) DCT train transform: resize {resize} + crop {crop} + flip ({backend})",
                   lambda i, seed: _dct_sample(transform, blobs[i], seed, slots, i)),
        python_row(f"(6) DCT train transform: random resized crop {crop} + flip ({backend})",
                   lambda i, seed: _dct_sample(rrc, blobs[i], seed, slots, i)),
    ]
    if slow and not args.no_ssd:
        rows += ssd_rows(paths, blobs, args.ssd_size, backend)
    rows += [
        dataset_row(f"(8) tf.data: random resized crop {crop} + flip (anchor)", tf_rrc,
                    len(blobs)),
        dataset_row(f"(9) tf.data: decode + resize {resize} + random crop {crop} + flip",
                    tf_short, len(blobs)),
    ]
    return [r for r in rows if r is not None]


# --------------------------------------------------------------------------------------------
# Off by default: worker processes, GPU.

_FORKED = {}  # what the forked workers inherit instead of receiving it with every task


def _dct_batch(batch):
    """One batch of the DCT-domain path (what a loader process returns)."""
    index, items = batch
    loader, blobs = _FORKED["loader"], _FORKED["blobs"]
    samples = [_dct_sample(loader, blobs[i], index * 1000 + i) for i in items]
    return tuple(np.stack(p) for p in zip(*samples))


def _busy_loop(n):
    """Pure-CPU control task: how well 2 processes scale on this machine right now."""
    s = 0
    for i in range(n):
        s += i
    return s


def _ready_batch(_):
    """A batch already made: what moving results from the workers to the parent costs."""
    return _FORKED["batch"]


def worker_scaling(fn, batches, images, repeats, control_items=24, control_n=400_000):
    """Images/s of ``fn`` over ``batches`` in this process and on 2 forked worker processes
    (:func:`ordered_map`, as the loader runs it), and the same ratio for a pure-CPU control
    loop, all measured in turn within each repeat (best of ``repeats``). The pool is forked
    once, after the caches are warm, and kept open: a training epoch lasts long enough that
    forking is negligible, and this measures the steady state, not process start-up.
    Also times the 2 workers returning batches already made (no work): the images/s at which
    results move from the workers to the parent, a ceiling for the 2-worker row.
    Returns ``(one, two, control_ratio, transfer)``."""
    import multiprocessing

    best = {"one": float("inf"), "two": float("inf"), "c1": float("inf"), "c2": float("inf"),
            "move": float("inf")}
    _FORKED["batch"] = fn(batches[0])
    control = [control_n] * control_items

    def run(key, f, items, pool):
        start = time.perf_counter()
        for _ in ordered_map(f, items, 1 if pool is None else 2, max_pending=8, pool=pool):
            pass
        best[key] = min(best[key], time.perf_counter() - start)

    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(_busy_loop, [1] * 8)  # both workers started
        for _ in range(repeats):
            run("one", fn, batches, None)
            run("two", fn, batches, pool)
            run("c1", _busy_loop, control, None)
            run("c2", _busy_loop, control, pool)
            run("move", _ready_batch, batches, pool)
    return (images / best["one"], images / best["two"], best["c1"] / best["c2"],
            images / best["move"])


def report_workers(blobs, args) -> dict:
    """``--workers``: the DCT-domain train transform in batches of 32 (the loader's unit of
    work), 1 process vs 2 forked workers, printed; returns the numbers."""
    resize, crop = args.size
    _FORKED.update(loader=_dct_loader(DCTTransformConfig(resize, crop), args.backend),
                   blobs=blobs)
    batch = 32
    order = [i % len(blobs) for i in range(args.rounds * len(blobs))]
    batches = [(k, order[k: k + batch]) for k in range(0, len(order), batch)]
    for b in batches[: -(-len(blobs) // batch)]:  # operators of every size built once
        _dct_batch(b)
    one, two, control, move = worker_scaling(_dct_batch, batches, len(order),
                                             max(1, args.repeats))
    batch_mb = sum(a.nbytes for a in _FORKED["batch"]) / 1e6
    print(f"\nDCT-domain path, batches of 32: 1 process {one:.0f} images/s, 2 worker processes "
          f"{two:.0f} images/s ({two / one:.2f}x); a pure-CPU loop on this machine now, timed "
          f"the same way: {control:.2f}x (below ~1.9x: the cores are not free; load average "
          f"{os.getloadavg()[0]:.1f} over the last minute on {os.cpu_count()} CPUs); the DCT "
          f"path's scaling relative to the loop's: {two / one / control:.2f}.\n"
          f"Moving finished batches of 32 from 2 workers to the parent (no work, {batch_mb:.1f} "
          f"MB each): {move:.0f} images/s, a ceiling for the 2-worker row (moving them takes "
          f"time on the same cores)")
    return {"one_process": one, "two_workers": two, "control_ratio": control, "transfer": move}


def gpu_rate(blobs, resize, crop, backend, batch=128, steps=20):
    """The DCT layers on a GPU: a fixed resize + centre-crop operator and a random flip on a
    batch of same-sized coefficient tensors already on the device. None without a GPU."""
    if not tf.config.list_physical_devices("GPU"):
        return None
    from jpeg_deep.dct.layers import DCTRandomFlip, DCTResample

    info = inspect_jpeg(blobs[0])
    h, w = info.height, info.width
    same = [read_dct(b, backend) for b in blobs
            if (inspect_jpeg(b).height, inspect_jpeg(b).width) == (h, w)]
    rh, rw = make_dct_transform("val", TransformConfig(resize, crop)).params(h, w, None)["size"]
    top, left = (rh - crop) // 2, (rw - crop) // 2
    layers = []
    for chroma, (ih, iw) in ((False, (h, w)), (True, (-(-h // 2), -(-w // 2)))):
        f = 2 if chroma else 1
        rows = dct.AxisOp(ih).resize(rh // f).window(top // f, crop // f)
        cols = dct.AxisOp(iw).resize(rw // f).window(left // f, crop // f)
        layers.append(DCTResample(rows, cols))
    flip = DCTRandomFlip(seed=0)
    reps = -(-batch // len(same))
    y = np.stack([c[0] for c in same] * reps)[:batch].astype(np.float32)
    cbcr = np.stack([np.concatenate(c[1:], -1) for c in same] * reps)[:batch].astype(np.float32)
    with tf.device("/GPU:0"):
        y, cbcr = tf.constant(y), tf.constant(cbcr)

        @tf.function(jit_compile=False)
        def step(y, cbcr):
            return flip([layers[0](y), layers[1](cbcr)], training=True)

        out = step(y, cbcr)
        _ = [o.numpy() for o in out]
        start = time.perf_counter()
        for _ in range(steps):
            out = step(y, cbcr)
        _ = [o.numpy() for o in out]
    return batch * steps / (time.perf_counter() - start)


# --------------------------------------------------------------------------------------------
# Machine and libraries.


def _version_string(code: int) -> str:
    return f"{code // 1_000_000}.{code // 1000 % 1000}.{code % 1000}"


def _embedded_libjpeg(path) -> Optional[str]:
    """The version in the ``libjpeg-turbo version X (build Y)`` string compiled into a shared
    library, or None."""
    key = b"libjpeg-turbo version "
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            at = m.find(key)
            if at < 0:
                return None
            return m[at + len(key): m.find(b" ", at + len(key))].decode(errors="replace")
    except (OSError, ValueError):
        return None


@functools.lru_cache(maxsize=1)
def libjpeg_versions() -> dict:
    """The libjpeg-turbo of each decoder: ``system`` (``_jpegread`` and jpeg2dct link the
    system's libjpeg.so.62, and libturbojpeg is the same release), ``cv2`` (bundled in
    opencv-python), ``tensorflow`` (compiled into TensorFlow) and ``PIL`` (bundled in Pillow,
    the encoder of the ``mix`` files)."""
    out = {}
    try:
        from jpeg_deep import _jpegread

        code = _jpegread.version()
        out["system"] = f"libjpeg-turbo {_version_string(code)}" if code else "libjpeg"
    except (ImportError, AttributeError):
        out["system"] = "system libjpeg"
    line = [s for s in cv2.getBuildInformation().splitlines() if s.strip().startswith("JPEG:")]
    found = re.search(r"(libjpeg-turbo).*?(\d+\.\d+\.\d+)", line[0]) if line else None
    out["cv2"] = "OpenCV's " + (" ".join(found.groups()) if found else "libjpeg")
    tf_dir = Path(tf.__file__).parent
    found = [v for v in map(_embedded_libjpeg, sorted(tf_dir.glob("libtensorflow*.so*"))) if v]
    out["tensorflow"] = "TensorFlow's " + (f"libjpeg-turbo {found[0]}" if found else "libjpeg")
    try:
        from PIL import features

        out["PIL"] = f"Pillow's libjpeg-turbo {features.version_feature('libjpeg_turbo')}"
    except Exception:  # noqa: BLE001 - an old Pillow: the version is informative only
        out["PIL"] = "Pillow's libjpeg"
    return out


def machine_info() -> dict:
    """Where and with what the numbers were measured."""
    def run(*cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                                  cwd=Path(__file__).resolve().parent).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    model = [s.split(":", 1)[1].strip() for s in run("lscpu").splitlines()
             if s.startswith("Model name:")]
    import PIL

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": model[0] if model else platform.processor(),
        "processor": platform.processor(),
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average_1min": os.getloadavg()[0],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "cv2": cv2.__version__,
        "pillow": PIL.__version__,
        "libjpeg_turbo": libjpeg_versions(),
        "dct_kernel": dct_transforms.kernel_variant(),
        # before any row: every row (the floor included) runs with the same malloc settings
        "malloc_keeps_heap": readers.keep_heap(),
        "reader_backends": readers.backends(),
        "git_commit": run("git", "rev-parse", "HEAD"),
        "git_dirty": bool(run("git", "status", "--porcelain", "--untracked-files=no")),
    }


# --------------------------------------------------------------------------------------------
# Output.


def ratios(rows) -> list:
    """``(x floor, x tf.data RRC)`` of each row's warm rate; None where either is missing."""
    floor = next((r.warm for r in rows if r.label.startswith("(0)")), None)
    anchor = next((r.warm for r in rows if r.label.startswith("(8)")), None)
    return [tuple(None if r.warm is None or not base else r.warm / base
                  for base in (floor, anchor)) for r in rows]


def markdown_table(rows) -> str:
    lines = ["| path | cold img/s | warm img/s | x floor | x tf.data RRC |",
             "|---|---:|---:|---:|---:|"]
    for r, pair in zip(rows, ratios(rows)):
        if r.missing:
            lines.append(f"| {r.label} | {r.missing} | | | |")
        else:
            x_floor, x_rrc = ("n/a" if x is None else f"{x:.2f}" for x in pair)
            lines.append(f"| {r.label} | {r.cold:.0f} | {r.warm:.0f} | {x_floor} | {x_rrc} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", choices=("photos", "mix"), default=None,
                        help="generated data sets (default: both, or none with --data)")
    parser.add_argument("--data", default=None,
                        help="also a folder searched recursively for .jpg files")
    parser.add_argument("--limit", type=int, default=300, help="files taken from --data")
    parser.add_argument("--photos-count", type=int, default=200)
    parser.add_argument("--mix-count", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0, help="of the generated data sets")
    parser.add_argument("--size", nargs=2, type=int, default=(256, 224),
                        metavar=("RESIZE", "CROP"))
    parser.add_argument("--backend", default=readers.DEFAULT_BACKEND,
                        help="DCT reader of rows (4)-(7) (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="warm passes over the files; each row keeps its best")
    parser.add_argument("--slow-rows", nargs="*", choices=("photos", "mix", "data"),
                        default=("photos", "data"),
                        help="data sets that also get the slowest rows, the jpeglib read and "
                             "the SSD rows (default: %(default)s)")
    parser.add_argument("--ssd-size", type=int, default=300,
                        help="network input side of the SSD rows (7)")
    parser.add_argument("--no-ssd", action="store_true", help="skip the SSD rows (7)")
    parser.add_argument("--workers", action="store_true",
                        help="also 1 process vs 2 worker processes on the DCT-domain path")
    parser.add_argument("--rounds", type=int, default=5,
                        help="passes over the files in the --workers comparison")
    parser.add_argument("--gpu", action="store_true",
                        help="also the Keras DCT layers on a GPU, when TensorFlow sees one")
    parser.add_argument("--json", default=None, metavar="OUT", help="write every number here")
    args = parser.parse_args(argv)
    if args.backend not in readers.backends():
        parser.error(f"--backend {args.backend!r} is not available here: {readers.backends()}")
    sets = args.sets if args.sets is not None else ([] if args.data else ["photos", "mix"])
    cv2.setNumThreads(1)
    tf.random.set_seed(args.seed)
    info = machine_info()
    print(f"{info['cpu']}, {info['nproc']} CPUs, load average {info['load_average_1min']:.1f}; "
          f"python {info['python']}, numpy {info['numpy']}, tensorflow {info['tensorflow']}, "
          f"cv2 {info['cv2']}; commit {info['git_commit'][:10]}"
          f"{' (modified)' if info['git_dirty'] else ''}; DCT kernel {info['dct_kernel']}; "
          f"malloc keeps freed memory (readers.keep_heap): {info['malloc_keeps_heap']}")
    print("libjpeg-turbo: " + "; ".join(f"{k}: {v}" for k, v in info["libjpeg_turbo"].items()))
    print(f"One process, one thread; every row reads the files' bytes from memory (tf.data: "
          f"from_tensor_slices of them); cold = the first pass, DCT operator caches emptied; "
          f"warm = the best of {args.repeats} more; ratios of the warm rates; DCT reader of rows "
          f"(4)-(7): {args.backend}", flush=True)
    if "mix" in sets:
        print(f"mix: {json.dumps(SIZE_MIX)}")
    results = {"machine": info, "args": vars(args), "size_mix": SIZE_MIX, "sets": {}}
    seeds = itertools.count()
    with tempfile.TemporaryDirectory(prefix="jpeg_deep_bench_") as tmp:
        sources = []
        for name in sets:
            folder = Path(tmp) / name
            folder.mkdir()
            if name == "photos":
                sources.append((name, write_photos(folder, count=args.photos_count,
                                                   seed=args.seed)))
            else:
                sources.append((name, write_size_mix(folder, args.mix_count, args.seed)))
        if args.data is not None:
            found = sorted(Path(args.data).rglob("*.jpg"))[: args.limit]
            if not found:
                raise SystemExit(f"no .jpg under {args.data} "
                                 "(run: python -m jpeg_deep.demo demo_data)")
            sources.append(("data", found))
        for name, paths in sources:
            blobs = [p.read_bytes() for p in paths]
            stats = describe(blobs)
            origin = f" ({args.data})" if name == "data" else ""
            print(f"\n### {name}{origin}: {stats['files']} files, median {stats['median_width']}x"
                  f"{stats['median_height']} px, mean {stats['mean_megapixels']:.3f} MP, "
                  f"{stats['megabytes']} MB, {stats['subsampling']}\n", flush=True)
            rows = build_rows(paths, blobs, args, slow=name in args.slow_rows)
            load = [os.getloadavg()[0]]
            with files_in_memory({os.fspath(p): b for p, b in zip(paths, blobs)}):
                measure(rows, len(blobs), args.repeats, seeds)
            load.append(os.getloadavg()[0])
            print(markdown_table(rows))
            print(f"\nload average (1 min): {load[0]:.1f} before, {load[1]:.1f} after, on "
                  f"{os.cpu_count()} CPUs (this run adds ~1; more: other work shared the cores)",
                  flush=True)
            entry = {"description": stats, "load_average_1min": load, "rows": [
                {"path": r.label, "cold": r.cold, "warm": r.warm, "x_floor": x_floor,
                 "x_tf_data_rrc": x_rrc, "missing": r.missing or None}
                for r, (x_floor, x_rrc) in zip(rows, ratios(rows))]}
            if args.workers:
                entry["workers"] = report_workers(blobs, args)
            if args.gpu:
                gpu = gpu_rate(blobs, *args.size, args.backend)
                entry["gpu_layers"] = gpu
                print("\nDCT layers on the GPU (resize+crop+flip, batch 128): "
                      + ("no GPU" if gpu is None else f"{gpu:.0f} images/s"))
            results["sets"][name] = entry
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
