"""Input pipeline: files -> (transform) -> DCT read -> layout -> batches for ``model.fit``.

:class:`ClassificationBatches` is a ``keras.utils.PyDataset``: batches of ``((y, cbcr), one_hot)``
(or ``y`` alone, ``(y, cb, cr)`` or ``rgb``, following the network's input kind), reshuffled every
epoch from a seed, assembled in parallel *processes* (jpeg2dct holds the GIL, so threads do not
help). A file that is not a readable JPEG is logged, written to the event log, counted and
replaced by the next file of the epoch's order: it never kills an epoch.

:func:`iter_samples` is the ordered, parallel loader used for inference, where a corrupt file is
reported and left out instead of replaced.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from jpeg_deep.data.augmentation import TransformConfig, decode_rgb, encode_jpeg, make_transform
from jpeg_deep.data.datasets import DatasetError, ImageFolder
from jpeg_deep.data.layout import dct_layout, rgb_layout
from jpeg_deep.data.readers import DEFAULT_BACKEND, InvalidJPEGError, inspect_jpeg, read_dct

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleLoader:
    """Everything needed to turn one file into network inputs (picklable, no state)."""

    input_kind: str
    split: str = "train"
    transform: TransformConfig | None = TransformConfig()
    backend: str = DEFAULT_BACKEND

    def __call__(self, path, rng_seed=None, _cache={}):
        with open(path, "rb") as f:
            data = f.read()
        inspect_jpeg(data, path)  # raises InvalidJPEGError naming the file
        if self.transform is not None:
            key = (self.split, self.transform)
            if key not in _cache:  # one albumentations pipeline per process
                _cache[key] = make_transform(self.split, self.transform)
            pipeline = _cache[key]
            if rng_seed is not None:
                pipeline.set_random_seed(rng_seed)
            rgb = pipeline(image=decode_rgb(data, path))["image"]
            if self.input_kind == "rgb":
                return rgb_layout(rgb)
            data = encode_jpeg(rgb, self.transform.quality)
        elif self.input_kind == "rgb":
            return rgb_layout(decode_rgb(data, path))
        try:
            y, cb, cr = read_dct(data, self.backend)
        except InvalidJPEGError as err:
            raise InvalidJPEGError(path, err.reason) from None
        return dct_layout(y, cb, cr, self.input_kind)


class EventLog:
    """Append-only TSV of skipped files, shared by every worker process through the file."""

    def __init__(self, path=None):
        if path is None:
            fd, path = tempfile.mkstemp(prefix="jpeg_deep_events_", suffix=".tsv")
            os.close(fd)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()

    def corrupt(self, path, reason):
        line = f"corrupt\t{path}\t{reason}".replace("\n", " ") + "\n"
        with open(self.path, "a") as f:  # one short write per line: atomic enough across processes
            f.write(line)

    def skipped(self) -> dict:
        """``{path: reason}`` of every file skipped so far (each file once)."""
        out = {}
        with open(self.path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t", 2)
                if len(parts) == 3 and parts[0] == "corrupt":
                    out.setdefault(parts[1], parts[2])
        return out


class ClassificationBatches(keras.utils.PyDataset):
    """Batches of a classification :class:`ImageFolder` for ``fit`` / ``evaluate``.

    ``shuffle`` (default: ``split == "train"``) draws a new order every epoch from ``seed`` and
    the epoch number; the random augmentation of batch ``i`` of epoch ``e`` is seeded from
    ``(seed, e, i)``, so a run is reproducible whichever worker makes which batch.
    ``drop_remainder`` (default: train only) drops the last incomplete batch.
    """

    def __init__(self, dataset: ImageFolder, *, batch_size: int, loader: SampleLoader,
                 shuffle=None, seed: int = 0, drop_remainder=None, event_log=None,
                 workers: int = 1, use_multiprocessing: bool = True, max_queue_size: int = 10):
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing and workers > 1,
                         max_queue_size=max_queue_size)
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.loader = loader
        self.shuffle = loader.split == "train" if shuffle is None else bool(shuffle)
        self.drop_remainder = loader.split == "train" if drop_remainder is None else drop_remainder
        self.seed = int(seed)
        self.events = event_log if isinstance(event_log, EventLog) else EventLog(event_log)
        self.epoch = 0
        self._order = self._make_order()
        if len(self) == 0:
            raise DatasetError(f"{dataset.root}: {len(dataset)} files give no batch of "
                               f"{batch_size}")

    def _make_order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, self.epoch]).permutation(n)

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_remainder else -(-n // self.batch_size)

    @property
    def num_batches(self):
        return len(self)

    def on_epoch_end(self):
        self.epoch += 1
        self._order = self._make_order()

    def __getitem__(self, index):
        if index >= len(self):
            raise IndexError(index)
        n = len(self.dataset)
        start = index * self.batch_size
        stop = min(start + self.batch_size, n)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        inputs, labels = [], []
        pending = list(range(start, stop))
        replacement, failures = stop, 0  # a skipped file is replaced by the next of the order
        while pending:
            i = int(self._order[pending.pop(0) % n])
            path = self.dataset.path(i)
            try:
                inputs.append(self.loader(path, int(rng.integers(2**31))))
            except InvalidJPEGError as err:
                logger.warning("skipping %s: %s", err.source, err.reason)
                self.events.corrupt(path, err.reason)
                failures += 1
                if failures >= n:
                    raise DatasetError(f"{self.dataset.root}: no readable JPEG left "
                                       f"(see {self.events.path})") from None
                pending.append(replacement)
                replacement += 1
                continue
            labels.append(self.dataset.labels[i])
        x = tuple(np.stack(parts) for parts in zip(*inputs))
        y = keras.utils.to_categorical(labels, self.dataset.num_classes).astype(np.float32)
        return (x[0] if len(x) == 1 else x), y

    def skipped(self) -> dict:
        return self.events.skipped()


def _load_one(args):
    loader, path = args
    try:
        return path, loader(path), None
    except InvalidJPEGError as err:
        return path, None, err.reason


def iter_samples(loader: SampleLoader, paths, workers: int = 1):
    """Yield ``(path, inputs, error)`` for every path, in order; ``inputs`` is None and ``error``
    the reason when the file is not a readable JPEG. Loads in ``workers`` processes."""
    jobs = ((loader, p) for p in paths)
    if workers <= 1:
        yield from map(_load_one, jobs)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(_load_one, jobs, chunksize=4)
