"""ImageNet-style classification datasets: one folder per class.

Class order comes from an optional ``imagenet_class_index.json``-format file (``{"0": [wnid,
name], ...}``; folder names are the wnids), otherwise from the sorted folder names (what Keras
does). Scanning a large tree shows a progress bar and caches the file list in
``$JPEG_DEEP_CACHE`` (default ``~/.cache/jpeg_deep``), keyed by the folder and invalidated when
a class folder changes.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from jpeg_deep.data.datasets.scans import (IMAGE_EXTENSIONS, ProblemReport, _verify_files,
                                           cache_key, read_cache, settle_problems, write_cache)
from jpeg_deep.errors import DatasetError

logger = logging.getLogger(__name__)

_CACHE_VERSION = 2  # of the cached file lists


@dataclass(frozen=True)
class ImageFolder:
    root: Path
    files: tuple          # paths relative to root
    labels: tuple         # class indices
    class_ids: tuple      # folder names (wnids), index order
    class_names: tuple    # human-readable names
    skipped: dict = field(default_factory=dict)   # problem kind -> files left out ("skip")

    @classmethod
    def scan(cls, root, class_index=None, *, cache=True, progress=True, on_error="stop",
             verify=False) -> "ImageFolder":
        """Scan ``root/<class>/*.jpg``. ``class_index``: path of an index JSON, or None to use
        ``root/../imagenet_class_index.json`` or ``root/imagenet_class_index.json`` when present,
        else sorted folder names.

        ``verify``: every file is entropy-decoded at scan time (finds empty, truncated,
        corrupt and mislabelled files; threads, about a millisecond per image, the result
        cached with the file list, the files found broken checked again on every scan); all of
        them are reported together (a line per kind, the
        first files, every one in a TSV file under ``$JPEG_DEEP_CACHE/problems/``), then
        ``on_error="stop"`` raises :class:`DatasetProblems` and ``"skip"`` leaves those files
        out, counted in ``skipped``. Without it, a file found unreadable while training is
        skipped, counted and replaced by the pipeline (``Batches.skipped``)."""
        root = Path(root).expanduser().resolve()
        if not root.is_dir():
            raise DatasetError(f"dataset folder {root} does not exist")
        class_ids, class_names = _class_order(root, class_index)
        key = _cache_key(root, class_ids, verify)
        cached = _load_cache(key) if cache else None
        if cached is not None:
            files, labels, problems = cached
            if problems:  # a file fixed in place keeps its folder's date: check those again
                still = {i: reason for i, reason in _verify_files(
                    root, [f for _, f, _ in problems], progress=False)}
                problems = [p for i, p in enumerate(problems) if i in still]
                if cache:
                    _save_cache(key, files, labels, problems)
        else:
            files, labels, problems = [], [], []
            for label, cid in enumerate(tqdm(class_ids, desc=f"scan {root.name}", unit="class",
                                             disable=not progress, leave=False)):
                folder = root / cid
                if not folder.is_dir():
                    continue
                names = sorted(e.name for e in os.scandir(folder)
                               if e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS))
                files.extend(f"{cid}/{n}" for n in names)
                labels.extend([label] * len(names))
            if verify:
                problems.extend(["unreadable_image", files[i], reason]
                                for i, reason in _verify_files(root, files, progress))
            if cache:
                _save_cache(key, files, labels, problems)
        skipped = {}
        if problems:
            report = ProblemReport(f"image folder {root}")
            for kind, file, reason in problems:
                report.add(kind, root / file, reason)
                skipped.setdefault(kind, []).append(file)
            settle_problems(report, on_error, f"folder-{key}")
            bad = {file for _, file, _ in problems}
            kept = [(f, label) for f, label in zip(files, labels) if f not in bad]
            files, labels = [f for f, _ in kept], [label for _, label in kept]
        if not files:
            raise DatasetError(f"no JPEG file found in {root}/<class>/ (extensions "
                               f"{', '.join(IMAGE_EXTENSIONS)})" if not problems else
                               f"no usable JPEG file left in {root}/<class>/")
        return cls(root, tuple(files), tuple(labels), tuple(class_ids), tuple(class_names),
                   skipped)

    def __len__(self):
        return len(self.files)

    @property
    def num_classes(self) -> int:
        return len(self.class_ids)

    def path(self, i: int) -> Path:
        return self.root / self.files[i]

    def target(self, i: int) -> int:
        """The class index of file ``i`` (what the pipeline one-hot encodes)."""
        return self.labels[i]

    def balanced_subset(self, limit: int | None) -> "ImageFolder":
        """At most ``limit`` files spread evenly over the classes: round-robin over the classes,
        each class's files in order (a class with few files gives its share to the others).
        The files keep the dataset's order. ``None`` or ``limit >= len(self)``: ``self``."""
        if limit is None or limit >= len(self):
            return self
        if limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit}")
        by_class: dict[int, list[int]] = {}
        for i, label in enumerate(self.labels):
            by_class.setdefault(label, []).append(i)
        queues = [iter(v) for _, v in sorted(by_class.items())]
        chosen: list[int] = []
        while len(chosen) < limit:
            for queue in list(queues):
                index = next(queue, None)
                if index is None:
                    queues.remove(queue)
                elif len(chosen) < limit:
                    chosen.append(index)
        chosen.sort()
        return ImageFolder(self.root, tuple(self.files[i] for i in chosen),
                           tuple(self.labels[i] for i in chosen), self.class_ids, self.class_names,
                           self.skipped)

    def shard(self, index: int, count: int) -> "ImageFolder":
        """Every ``count``-th file starting at ``index`` (one worker's part of the data)."""
        if not 0 <= index < count:
            raise ValueError(f"shard index {index} not in [0, {count})")
        return ImageFolder(self.root, self.files[index::count], self.labels[index::count],
                           self.class_ids, self.class_names, self.skipped)


def _class_order(root: Path, class_index):
    folders = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    if class_index is None:
        for candidate in (root / "imagenet_class_index.json",
                          root.parent / "imagenet_class_index.json"):
            if candidate.is_file():
                class_index = candidate
                break
    if class_index is None:
        if not folders:
            raise DatasetError(f"{root} has no class folders")
        return folders, folders
    index_path = Path(class_index)
    try:
        raw = json.loads(index_path.read_text())
        entries = [raw[str(i)] for i in range(len(raw))]
        ids = [str(e[0]) for e in entries]
        names = [str(e[1]) for e in entries]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as err:
        raise DatasetError(f"{index_path}: not a class index of the form "
                           f'{{"0": [wnid, name], ...}} ({err})') from None
    unknown = sorted(set(folders) - set(ids))
    if unknown:
        raise DatasetError(f"{root}: class folders not in {index_path}: {', '.join(unknown[:10])}")
    return ids, names


def _cache_key(root: Path, class_ids, verify=False) -> str:
    return cache_key(f"{_CACHE_VERSION}|{root}|{verify}", ((cid, root / cid) for cid in class_ids))


def _load_cache(key):
    data = read_cache("filelists", key)
    try:
        return data["files"], data["labels"], data["problems"]
    except (KeyError, TypeError):
        return None


def _save_cache(key, files, labels, problems):
    write_cache("filelists", key, {"files": files, "labels": labels, "problems": problems},
                "file-list")
