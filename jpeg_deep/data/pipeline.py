"""Input pipeline: files -> (transform, target alongside) -> DCT read -> layout -> target
encoding -> batches for ``model.fit``.

A dataset (:class:`~jpeg_deep.data.datasets.ImageFolder`, the detection datasets) gives for item
``i`` a file ``path(i)`` and a target ``target(i)`` (a class index; an image's boxes). A
:class:`SampleLoader` turns one file and its target into network inputs and the model's target
``y``: the task's transform moves the target with the same random parameters as the image, the
task's encoder turns it into ``y`` (one-hot; SSD anchor targets). :class:`Batches` is a
``keras.utils.PyDataset`` of ``(inputs, y)``: inputs ``(y, cbcr)`` (or ``y`` alone,
``(y, cb, cr)`` or ``rgb``, following the network's input kind), reshuffled every epoch from a
seed, assembled in parallel *processes* (jpeg2dct holds the GIL, so threads do not help). A file
that is not a readable JPEG is logged, written to the event log, counted and replaced by the next
file of the epoch's order: it never kills an epoch.

:func:`iter_samples` is the ordered, parallel loader used for inference, where a corrupt file is
reported and left out instead of replaced.
"""
from __future__ import annotations

import collections
import functools
import itertools
import logging
import multiprocessing
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import keras
import numpy as np

from jpeg_deep.codec.jpeg import decode_rgb, encode_jpeg
from jpeg_deep.data.augmentation import TransformConfig, make_transform
from jpeg_deep.data.datasets import DatasetError
from jpeg_deep.data.dct_transforms import train_params
from jpeg_deep.data.layout import dct_layout, rgb_layout
from jpeg_deep.codec.readers import DEFAULT_BACKEND, InvalidJPEGError, inspect_jpeg, read_dct

logger = logging.getLogger(__name__)


_TRANSFORMS: dict = {}  # (factory, split, transform config) -> transform, per process


class ClassificationTransform:
    """The classification transform as every task's transform is called:
    ``(rgb, target, seed) -> (rgb, target)``; the class index passes through unchanged. A
    transform's ``domain`` says what it works on: ``"rgb"`` decoded pixels (then re-encoded
    for DCT networks), ``"dct"`` the file's coefficients.

    Validation and test run the albumentations pipeline of :func:`make_transform`. Training
    draws its crop and flip from the seed with
    :func:`jpeg_deep.data.dct_transforms.train_params` (albumentations' formulas, the draws
    the DCT-domain path makes for the same seed) and applies them as that pipeline does:
    ``SmallestMaxSize`` (bilinear), ``RandomCrop``, ``HorizontalFlip``. (Seeding the
    albumentations pipeline itself gives every transform of it the same random stream: the flip
    then always came with a crop in the upper half of the image.)"""

    domain = "rgb"

    def __init__(self, split: str, config: TransformConfig):
        self.split, self.config = split, config
        self.pipeline = make_transform(split, config)

    def __call__(self, rgb, target, seed=None):
        if self.split != "train":
            return self.pipeline(image=rgb)["image"], target
        p = train_params(rgb.shape[0], rgb.shape[1], self.config, np.random.default_rng(seed))
        (rh, rw), (top, left), crop = p["size"], p["offset"], self.config.crop
        out = cv2.resize(rgb, (rw, rh), interpolation=cv2.INTER_LINEAR)
        out = out[top:top + crop, left:left + crop]
        return np.ascontiguousarray(out[:, ::-1] if p["flip"] else out), target


class ClassificationDCTTransform:
    """The classification transform in the DCT domain (no decode, no re-encode):
    ``(coefficients, target, seed, size) -> (coefficients, target)`` with ``coefficients`` the
    reader's ``(y, cb, cr)`` and ``size`` the image's ``(height, width)``; see
    :mod:`jpeg_deep.data.dct_transforms`."""

    domain = "dct"

    def __init__(self, split: str, config):
        from jpeg_deep.data.dct_transforms import make_dct_transform

        self.transform = make_dct_transform(split, config)

    def __call__(self, coefficients, target, seed=None, size=None):
        return self.transform(*coefficients, rng=seed, size=size), target

    def prepare(self, seed, size):
        """Geometry and operators of one sample before its file is read (so the reader can
        stop below the rows they need): pass the result to :meth:`apply`."""
        rng = np.random.default_rng(seed)
        return self.transform.prepare(int(size[0]), int(size[1]), rng), rng

    def apply(self, prepared, coefficients, target, out=None):
        (plan, rng) = prepared
        return self.transform.apply(plan, *coefficients, rng=rng, out=out), target

    @staticmethod
    def rows_needed(prepared) -> int:
        return prepared[0].rows_needed


@dataclass(frozen=True)
class SampleLoader:
    """Everything needed to turn one file (and its target) into network inputs and the model's
    target (picklable, no state).

    ``transform`` is a frozen config with a ``quality`` (the JPEG re-encoding quality) that
    ``transform_factory(split, transform)`` turns into a ``(rgb, target, seed) -> (rgb,
    target)`` callable (made once per process); ``encoder(target) -> y`` encodes the transformed
    target for the model (None: no ``y``, as at inference).

    ``distortion`` (a :class:`jpeg_deep.codec.distortions.Distortion`, or a
    :class:`~jpeg_deep.codec.distortions.RandomDistortion` drawing one per sample from its seed; None:
    none) is applied to each file before the transform: to its bytes (``domain == "bytes"``: the
    real re-encodes) or to its coefficients as read (``"dct"``: re-quantisation; an RGB-domain
    transform or an RGB network then sees those coefficients decoded by
    :func:`jpeg_deep.codec.distortions.coefficients_to_rgb`)."""

    input_kind: str
    split: str = "train"
    transform: object | None = TransformConfig()
    backend: str = DEFAULT_BACKEND
    transform_factory: Callable = ClassificationTransform
    encoder: Callable | None = None
    distortion: Callable | None = None

    def __call__(self, path, rng_seed=None):
        """The network inputs of ``path`` (its target, if any, is left aside)."""
        return self.sample(path, None, rng_seed)[0]

    def sample(self, path, target=None, rng_seed=None, out=None):
        """``(inputs, y)`` of ``path`` (a file, or a file's bytes) and its ``target``; ``y`` is
        None without an encoder.

        ``out``: float32 arrays shaped like ``inputs`` (one sample's slots of a batch) that a
        DCT-domain transform writes into directly; ``inputs`` then are these arrays. Other
        paths copy their result into them."""
        x, y = self._sample(path, target, rng_seed, out)
        if out is not None and not all(a is b for a, b in zip(x, out)):
            for o, a in zip(out, x):
                o[...] = a
            x = tuple(out)
        return x, y

    def _sample(self, path, target, rng_seed, out):
        distortion = None if self.distortion is None else self.distortion.draw(rng_seed)
        if isinstance(path, (bytes, bytearray)):  # a file's bytes, already in memory
            data, path = bytes(path), "<bytes>"
        else:
            with open(path, "rb") as f:
                data = f.read()
        info = inspect_jpeg(data, path)  # raises InvalidJPEGError naming the file
        headers = info  # what the reader may reuse: the headers of ``data`` as read
        requantise = None  # the DCT-domain distortion, applied to the coefficients as read
        if distortion is not None and distortion.domain == "bytes":
            data = distortion(data)
            headers = None
        elif distortion is not None:
            requantise = distortion.coefficients
        transform = None
        if self.transform is not None:
            key = (self.transform_factory, self.split, self.transform)
            if key not in _TRANSFORMS:  # one transform per process
                _TRANSFORMS[key] = self.transform_factory(self.split, self.transform)
            transform = _TRANSFORMS[key]
        if transform is not None and transform.domain == "dct":
            size = (info.height, info.width)
            if not hasattr(transform, "prepare"):
                (y, cb, cr), target = transform(self._read(data, path, requantise, info=headers),
                                                target, rng_seed, size)
                return dct_layout(y, cb, cr, self.input_kind), self._encode(target)
            prepared = transform.prepare(rng_seed, size)
            coefficients = self._read(data, path, requantise, info=headers,
                                      stop_rows=transform.rows_needed(prepared))
            slots = _component_slots(out, self.input_kind)
            (y, cb, cr), target = transform.apply(prepared, coefficients, target, out=slots)
            if slots is not None:
                return tuple(out), self._encode(target)
            return dct_layout(y, cb, cr, self.input_kind), self._encode(target)
        if transform is not None:
            rgb, target = transform(self._decode(data, path, info, requantise), target,
                                    rng_seed)
            if self.input_kind == "rgb":
                return rgb_layout(rgb), self._encode(target)
            data = encode_jpeg(rgb, self.transform.quality)  # already distorted
            return dct_layout(*self._read(data, path), self.input_kind), self._encode(target)
        if self.input_kind == "rgb":
            return rgb_layout(self._decode(data, path, info, requantise)), self._encode(target)
        return (dct_layout(*self._read(data, path, requantise, info=headers), self.input_kind),
                self._encode(target))

    def _read(self, data, path, requantise=None, info=None, stop_rows=0):
        try:
            coefficients = read_dct(data, self.backend, info=info, stop_rows=stop_rows)
        except InvalidJPEGError as err:
            raise InvalidJPEGError(path, err.reason) from None
        return coefficients if requantise is None else requantise(coefficients)

    def _decode(self, data, path, info, requantise=None):
        if requantise is None:
            return decode_rgb(data, path)
        from jpeg_deep.codec.distortions import coefficients_to_rgb

        return coefficients_to_rgb(self._read(data, path, requantise),
                                   (info.height, info.width))

    def _encode(self, target):
        return None if self.encoder is None else self.encoder(target)


def _component_slots(out, kind):
    """``(y, cb, cr)`` views of a sample's input arrays ``out`` for the layout ``kind``, where
    the transform's output fits them as they are (no Y padding), else None."""
    if out is None:
        return None
    if kind == "y_cbcr":
        y, cbcr = out
        slots = (y, cbcr[..., :64], cbcr[..., 64:])
    elif kind == "y_cb_cr":
        slots = tuple(out)
    else:
        return None
    if slots[0].shape[:2] != (2 * slots[1].shape[0], 2 * slots[1].shape[1]):
        return None
    return slots


class EventLog:
    """Append-only TSV of skipped files, shared by every worker process through the file. Without
    a path, a temporary file is made at the first event (a log that sees none writes nothing)."""

    def __init__(self, path=None):
        self.path = None if path is None else Path(path)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()

    def corrupt(self, path, reason):
        if self.path is None:
            fd, name = tempfile.mkstemp(prefix="jpeg_deep_events_", suffix=".tsv")
            os.close(fd)
            self.path = Path(name)
        line = f"corrupt\t{path}\t{reason}".replace("\n", " ") + "\n"
        with open(self.path, "a") as f:  # one short write per line: atomic enough across processes
            f.write(line)

    def skipped(self) -> dict:
        """``{path: reason}`` of every file skipped so far (each file once)."""
        out = {}
        if self.path is None:
            return out
        with open(self.path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t", 2)
                if len(parts) == 3 and parts[0] == "corrupt":
                    out.setdefault(parts[1], parts[2])
        return out


def one_hot(label, num_classes: int) -> np.ndarray:
    """The classification encoder: a class index -> float32 one-hot vector."""
    out = np.zeros(num_classes, np.float32)
    out[int(label)] = 1
    return out


def _where(dataset) -> str:
    root = getattr(dataset, "root", None)
    return str(root) if root is not None else f"a dataset of {len(dataset)} images"


class Batches(keras.utils.PyDataset):
    """Batches ``(inputs, y)`` of a dataset (``path(i)``, ``target(i)``) for ``fit`` /
    ``evaluate``; ``y`` comes from the loader's encoder (one-hot classes, SSD targets).

    ``shuffle`` (default: ``split == "train"``) draws a new order every epoch from ``seed`` and
    the epoch number; the random augmentation of each sample is seeded from ``(seed, epoch,
    position in the epoch's order)``, so a run is reproducible whichever process makes which
    batch, and however the global batch is split between replicas.
    ``drop_remainder`` (default: train only) drops the last incomplete batch.

    Replicas (``tf.distribute``): with ``replicas=R`` a step takes a *global* batch of
    ``R x batch_size`` consecutive files of the order, and replica ``r`` gets the ``r``-th
    slice of it. ``replica_ids`` are the replicas this process feeds (one worker's local
    replicas); item ``i`` is then step ``i // len(replica_ids)``, replica
    ``replica_ids[i % len(replica_ids)]``. Each worker loads only its own files, and the
    samples of a step are exactly those of a single-process run with batch ``R x batch_size``.
    Several replicas always drop the last incomplete global batch (every replica must step).
    """

    def __init__(self, dataset, *, batch_size: int, loader: SampleLoader,
                 shuffle=None, seed: int = 0, drop_remainder=None, event_log=None,
                 workers: int = 1, use_multiprocessing: bool = True, max_queue_size: int = 10,
                 replicas: int = 1, replica_ids=None):
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing and workers > 1,
                         max_queue_size=max_queue_size)
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.loader = loader
        self.shuffle = loader.split == "train" if shuffle is None else bool(shuffle)
        self.replicas = int(replicas)
        self.replica_ids = tuple(range(self.replicas) if replica_ids is None else replica_ids)
        if not self.replica_ids or not all(0 <= r < self.replicas for r in self.replica_ids):
            raise ValueError(f"replica_ids {self.replica_ids} not in range({self.replicas})")
        default_drop = loader.split == "train" or self.replicas > 1
        self.drop_remainder = default_drop if drop_remainder is None else drop_remainder
        self.seed = int(seed)
        self.events = event_log if isinstance(event_log, EventLog) else EventLog(event_log)
        self.epoch = 0  # set_epoch() moves to another epoch's order
        self._order = self._make_order()
        if loader.encoder is None:
            raise ValueError("training batches need a loader with a target encoder")
        if len(self) == 0:
            raise DatasetError(f"{_where(dataset)}: {len(dataset)} files give no batch of "
                               f"{self.global_batch_size}")

    @property
    def global_batch_size(self) -> int:
        return self.batch_size * self.replicas

    def _make_order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, self.epoch]).permutation(n)

    @property
    def steps(self) -> int:
        """Global steps per epoch."""
        n, g = len(self.dataset), self.global_batch_size
        return n // g if self.drop_remainder else -(-n // g)

    def __len__(self):
        return self.steps * len(self.replica_ids)

    @property
    def num_batches(self):
        return len(self)

    def set_epoch(self, epoch: int):
        """Order and augmentation of ``epoch`` (e.g. the first epoch of a resumed run)."""
        if epoch != self.epoch:
            self.epoch = int(epoch)
            self._order = self._make_order()

    def on_epoch_end(self):
        self.set_epoch(self.epoch + 1)

    def positions(self, index) -> range:
        """Positions in the epoch's order of the files of batch ``index``."""
        if not 0 <= index < len(self):
            raise IndexError(index)
        step, slot = divmod(index, len(self.replica_ids))
        start = step * self.global_batch_size + self.replica_ids[slot] * self.batch_size
        return range(start, min(start + self.batch_size, len(self.dataset)))

    def __getitem__(self, index):
        positions = self.positions(index)
        n = len(self.dataset)
        step_end = (index // len(self.replica_ids) + 1) * self.global_batch_size
        inputs, targets = None, []  # the batch's input arrays, made from its first sample
        filled = 0
        pending = list(positions)
        replacement, failures = step_end, 0  # a skipped file is replaced by a later one
        while pending:
            position = pending.pop(0)
            i = int(self._order[position % n])
            path = self.dataset.path(i)
            seed = int(np.random.default_rng([self.seed, self.epoch, position]).integers(2**31))
            try:
                slots = None if inputs is None else tuple(a[filled] for a in inputs)
                x, y = self.loader.sample(path, self.dataset.target(i), seed, out=slots)
            except InvalidJPEGError as err:
                logger.warning("skipping %s: %s", err.source, err.reason)
                self.events.corrupt(path, err.reason)
                failures += 1
                if failures >= n:
                    raise DatasetError(f"{_where(self.dataset)}: no readable JPEG left "
                                       f"(see {self.events.path})") from None
                pending.append(replacement)
                replacement += 1
                continue
            if inputs is None:  # written in place from the second sample on
                inputs = tuple(np.empty((len(positions),) + a.shape, np.float32) for a in x)
                for a, part in zip(inputs, x):
                    a[0] = part
            filled += 1
            targets.append(y)
        x = inputs
        return (x[0] if len(x) == 1 else x), np.stack(targets).astype(np.float32)

    def skipped(self) -> dict:
        return self.events.skipped()


def ordered_map(fn, items, workers: int, max_pending: int, pool=None):
    """``map(fn, items)``, in order, computed by ``workers`` forked processes with at most
    ``max_pending`` results in flight: memory stays bounded however slow the consumer is
    (``Pool.imap`` would read the whole input ahead). ``pool``: an open
    ``multiprocessing.Pool`` (forked) to use and leave open instead of forking one for this
    call.

    Large numpy arrays in a result (a batch: megabytes) do not go through the pool's pipe:
    the worker writes them into one file in a RAM-backed folder (``/dev/shm``) and the parent
    reads them back into new arrays and unlinks it (no pickling, no pipe: through the pipe,
    moving a 9.6 MB batch took the parent about as long as making it)."""
    if pool is None and workers <= 1:
        yield from map(fn, items)
        return
    folder = _shm_folder()
    try:
        wrapped = functools.partial(_call_to_shm, fn, folder)
        if pool is not None:
            for result in _ordered_on(pool, wrapped, items, max_pending):
                yield _from_shm(result)
            return
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for result in _ordered_on(pool, wrapped, items, max_pending):
                yield _from_shm(result)
    finally:
        _remove_folder(folder)


def _ordered_on(pool, fn, items, max_pending):
    items = iter(items)
    pending = collections.deque(pool.apply_async(fn, (item,))
                                for item in itertools.islice(items, max_pending))
    while pending:
        result = pending.popleft().get()
        for item in itertools.islice(items, 1):
            pending.append(pool.apply_async(fn, (item,)))
        yield result


# --------------------------------------------------------------------------------------------
# Results moved through shared memory: the arrays of one result in one file.

_SHM_MIN_BYTES = 1 << 16  # smaller arrays go through the pipe with the rest of the result


@dataclass(frozen=True)
class _ShmArray:
    offset: int
    shape: tuple
    dtype: str


@dataclass(frozen=True)
class _ShmResult:
    path: str | None  # None: no array was large enough
    size: int
    tree: object      # the result with its large arrays replaced by _ShmArray


def _shm_folder() -> str | None:
    """A new folder in ``/dev/shm`` (RAM), or None where there is none: results then go
    through the pipe (a disk-backed folder could be slower than the pipe)."""
    if not (os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK)):
        return None
    _remove_orphans("/dev/shm")
    try:
        return tempfile.mkdtemp(prefix=f"jpeg_deep_batches_{os.getpid()}_", dir="/dev/shm")
    except OSError:
        return None


def _remove_orphans(root):
    """Remove the batch folders of processes that are gone (killed before their cleanup ran):
    the folder name holds the creating process id."""
    import shutil

    for folder in Path(root).glob("jpeg_deep_batches_*_*"):
        pid = folder.name.split("_")[3]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # another user's live process
            continue


def _remove_folder(folder):
    import shutil

    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _map_tree(obj, fn, leaf=np.ndarray):
    """``obj`` (nested tuples, lists, dicts) with each ``leaf``-type value ``v`` replaced by
    ``fn(v)``."""
    if isinstance(obj, leaf):
        return fn(obj)
    if type(obj) is tuple:
        return tuple(_map_tree(o, fn, leaf) for o in obj)
    if type(obj) is list:
        return [_map_tree(o, fn, leaf) for o in obj]
    if type(obj) is dict:
        return {k: _map_tree(v, fn, leaf) for k, v in obj.items()}
    return obj


def _call_to_shm(fn, folder, item):
    """In a worker: ``fn(item)`` with its large arrays written to one file in ``folder``."""
    result = fn(item)
    arrays, offset = [], 0

    def place(a):
        nonlocal offset
        if a.nbytes < _SHM_MIN_BYTES or a.dtype.hasobject:
            return a
        ref = _ShmArray(offset, a.shape, a.dtype.str)
        arrays.append((offset, a))
        offset += -(-a.nbytes // 64) * 64
        return ref

    if folder is None:
        return result
    tree = _map_tree(result, place)
    if not arrays:
        return _ShmResult(None, 0, tree)
    try:
        fd, path = tempfile.mkstemp(dir=folder)
    except OSError:  # the folder is gone or full: through the pipe
        return result
    try:
        for off, a in arrays:  # written, not mapped: a full /dev/shm is an OSError here
            data = memoryview(np.ascontiguousarray(a)).cast("B")
            while len(data):
                n = os.pwrite(fd, data, off)
                data, off = data[n:], off + n
        os.ftruncate(fd, offset)
    except OSError:
        os.unlink(path)
        return result  # through the pipe
    except BaseException:
        os.unlink(path)
        raise
    finally:
        os.close(fd)
    return _ShmResult(path, offset, tree)


def _from_shm(result):
    """In the parent: the result, its arrays read from the file (then unlinked) into new
    arrays. Read, not mapped: a mapping holds a file descriptor until its arrays are freed,
    and a consumer keeping many results would run out of them."""
    if not isinstance(result, _ShmResult):
        return result
    if result.path is None:
        return result.tree
    fd = os.open(result.path, os.O_RDONLY)
    try:
        def array(ref):
            out = np.empty(ref.shape, np.dtype(ref.dtype))
            data, off = memoryview(out).cast("B"), ref.offset
            while len(data):
                n = os.preadv(fd, [data], off)
                if n <= 0:
                    raise OSError(f"{result.path}: short read")
                data, off = data[n:], off + n
            return out

        return _map_tree(result.tree, array, _ShmArray)
    finally:
        os.close(fd)
        os.unlink(result.path)


_OPEN_BATCHES: dict = {}  # batches objects handed to forked loader processes, by id


def _load_batch(key, index):
    return _OPEN_BATCHES[key][index]


def ordered_batches(batches: Batches, workers: int, max_pending: int = 8):
    """Yield every batch of the current epoch in order, built by ``workers`` forked processes
    with at most ``max_pending`` batches in flight."""
    key = id(batches)
    _OPEN_BATCHES[key] = batches  # inherited by the forked processes
    try:
        yield from ordered_map(functools.partial(_load_batch, key), range(len(batches)),
                               workers, max_pending)
    finally:
        _OPEN_BATCHES.pop(key, None)


def distributed_dataset(strategy, make_batches, *, first_epoch=0, workers=1, prefetch=2):
    """An endless ``tf.distribute`` dataset for ``model.fit`` under a (multi-worker) mirrored
    strategy: epochs ``first_epoch, first_epoch + 1, ...`` of the batches, one after the other
    (give ``fit`` its ``steps_per_epoch`` / ``validation_steps``: one epoch's ``steps``).

    ``make_batches(replicas, replica_ids)`` returns the :class:`Batches` of the
    replicas one input pipeline (one worker) feeds; each worker loads only its own files.
    ``prefetch`` batches are prepared ahead of the model (on top of the loader's own queue).
    """
    import tensorflow as tf

    def dataset_fn(context):
        local = context.num_replicas_in_sync // context.num_input_pipelines
        first = context.input_pipeline_id * local
        batches = make_batches(context.num_replicas_in_sync, range(first, first + local))
        spec = tf.nest.map_structure(
            lambda a: tf.TensorSpec((None,) + a.shape[1:], tf.as_dtype(a.dtype)), batches[0])

        def generate():
            for epoch in itertools.count(first_epoch):
                batches.set_epoch(epoch)
                yield from ordered_batches(batches, workers)

        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        dataset = tf.data.Dataset.from_generator(generate, output_signature=spec)
        return dataset.with_options(options).prefetch(prefetch)

    return strategy.distribute_datasets_from_function(dataset_fn)


def _load_one(args):
    loader, path = args
    try:
        return path, loader(path), None
    except InvalidJPEGError as err:
        return path, None, err.reason


def iter_samples(loader: SampleLoader, paths, workers: int = 1):
    """Yield ``(path, inputs, error)`` for every path, in order; ``inputs`` is None and ``error``
    the reason when the file is not a readable JPEG. Loads in ``workers`` processes."""
    yield from ordered_map(_load_one, ((loader, p) for p in paths), workers, max_pending=64)


def predict_files(forward, loader: SampleLoader, paths, *, batch_size: int = 1, workers: int = 1,
                  progress: bool = True, skipped: dict | None = None, what: str = ""):
    """The one prediction loop (inference, evaluation, detections drawn, validation mAP, the
    expert's teacher): the loader's inputs of every path, in ``workers`` processes, stacked in
    batches of ``batch_size`` (1: each image at its own size) and run through ``forward``
    (``inputs -> outputs``); yields ``(indices, outputs)``, ``indices`` the positions in
    ``paths`` of the batch's images, in order. A file that is not a readable JPEG is logged
    (``what``: a prefix naming the pass), recorded in ``skipped`` (``{path: reason}``) and left
    out. ``progress``: a progress bar, one step per file."""
    bar = None
    if progress:
        import keras

        bar = keras.utils.Progbar(len(paths), unit_name="image")
    pending, indices = [], []

    def run():
        stacked = [np.stack(parts) for parts in zip(*pending)]
        outputs = forward(stacked[0] if len(stacked) == 1 else stacked)
        done = (list(indices), outputs)
        if bar is not None:
            bar.add(len(pending))
        pending.clear()
        indices.clear()
        return done

    for i, (path, inputs, error) in enumerate(iter_samples(loader, paths, workers)):
        if inputs is None:
            logger.warning("%sskipping %s: %s", f"{what}: " if what else "", path, error)
            if skipped is not None:
                skipped[str(path)] = error
            if bar is not None:
                bar.add(1)
            continue
        pending.append(inputs)
        indices.append(i)
        if len(pending) == batch_size:
            yield run()
    if pending:
        yield run()
