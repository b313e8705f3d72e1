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

import functools
import logging
import os
import tempfile
from pathlib import Path

import keras
import numpy as np

from jpeg_deep.codec.readers import InvalidJPEGError
from jpeg_deep.data.loader import SampleLoader
from jpeg_deep.data.parallel import ordered_map
from jpeg_deep.errors import DatasetError

logger = logging.getLogger(__name__)


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
