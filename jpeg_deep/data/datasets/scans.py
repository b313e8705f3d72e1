"""What every dataset scan shares: the problem report (every broken file of a dataset, by kind,
in one run), what ``on_error`` does with them, the entropy-decoding check of ``verify=True``
and the cache of scans (``$JPEG_DEEP_CACHE``, default ``~/.cache/jpeg_deep``): JSON files keyed
by the scan's settings and the dates of the files and folders it read."""
from __future__ import annotations

import collections
import csv
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from jpeg_deep.errors import DatasetError

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".jfif")


#: What a scan does with broken files: ``"stop"`` (report them all, then raise) or ``"skip"``
#: (report them all, leave them out, count them in the dataset's ``skipped``).
ON_ERROR = ("stop", "skip")


@dataclass
class ProblemReport:
    """Every problem one scan found: ``(kind, file, reason)``, in scan order."""

    dataset: str
    problems: list = field(default_factory=list)
    tsv: Path | None = None

    def add(self, kind: str, file, reason: str) -> None:
        self.problems.append((kind, str(file), reason))

    def __len__(self):
        return len(self.problems)

    def counts(self) -> dict:
        return dict(collections.Counter(kind for kind, _, _ in self.problems))

    def message(self, first: int = 3) -> str:
        """A summary line per kind with its count, the first ``first`` files of each, and where
        the whole list is."""
        files = len({f for _, f, _ in self.problems})
        lines = [f"{self.dataset}: {len(self)} problem(s) in {files} file(s)"
                 + (f"; every one is listed in {self.tsv}" if self.tsv else "")]
        for kind, count in sorted(self.counts().items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {kind}: {count}")
            shown = [(f, r) for k, f, r in self.problems if k == kind][:first]
            lines.extend(f"    {f}: {r}" for f, r in shown)
            if count > len(shown):
                lines.append(f"    ... {count - len(shown)} more")
        return "\n".join(lines)

    def write_tsv(self, path: Path) -> Path | None:
        """Write ``kind<TAB>file<TAB>reason`` lines (with a header) to ``path``; None when it
        cannot be written (the report still goes to the console)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                writer = csv.writer(f, delimiter="\t", lineterminator="\n")
                writer.writerow(("kind", "file", "reason"))
                writer.writerows(self.problems)
            tmp.replace(path)
        except OSError as err:
            logger.info("problem list not written to %s: %s", path, err)
            return None
        self.tsv = path
        return path


class DatasetProblems(DatasetError):
    """A scan found broken files (``on_error="stop"``): ``report`` holds every one of them."""

    def __init__(self, report: ProblemReport):
        super().__init__(report.message() + "\nfix them, or set on_error='skip' in the config's "
                         "data = dict(...) to train without them", kind="problems")
        self.report = report

    def __reduce__(self):
        return (type(self), (self.report,))


def settle_problems(report: ProblemReport, on_error: str, key: str) -> None:
    """The end of a scan: nothing to do without problems; otherwise the list is written to
    ``<cache>/problems/<key>.tsv``, then ``"stop"`` raises :class:`DatasetProblems` and
    ``"skip"`` logs the report (the caller leaves the files out)."""
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, not {on_error!r}")
    if not report.problems:
        return
    report.write_tsv(_cache_dir() / "problems" / f"{key}.tsv")
    if on_error == "stop":
        raise DatasetProblems(report)
    logger.warning("%s\n(on_error='skip': training without them)", report.message())


def verify_jpeg(path: Path) -> str | None:
    """Why ``path`` cannot be read as a JPEG by the default reader (entropy decoding included:
    a truncated or corrupt file is found), or None when it can."""
    from jpeg_deep.codec.readers import InvalidJPEGError, read_dct

    try:
        read_dct(path)
    except InvalidJPEGError as err:
        return err.reason
    except OSError as err:
        return f"cannot read the file ({err.strerror or err})"
    return None


def _verify_files(root: Path, files, progress: bool) -> list:
    """``[(index, reason)]`` of the files under ``root`` that :func:`verify_jpeg` refuses; the
    reader releases the GIL while it decodes, so threads share the work."""
    from concurrent.futures import ThreadPoolExecutor

    bad = []
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool, \
            tqdm(total=len(files), desc=f"verify {root.name}", unit="img",
                 disable=not progress, leave=False) as bar:
        for i, reason in enumerate(pool.map(lambda f: verify_jpeg(root / f), files,
                                            chunksize=64)):
            bar.update()
            if reason:
                bad.append((i, reason))
    return bad


def _cache_dir() -> Path:
    return Path(os.environ.get("JPEG_DEEP_CACHE", Path.home() / ".cache" / "jpeg_deep"))


def cache_key(settings: str, paths) -> str:
    """The key of a scan: ``settings`` and, for each ``(label, path)`` of ``paths``, the path's
    modification time (a folder's changes when a file is added or removed)."""
    h = hashlib.sha1(settings.encode())
    for label, path in paths:
        try:
            h.update(f"|{label}:{os.stat(path).st_mtime_ns}".encode())
        except FileNotFoundError:
            h.update(f"|{label}:-".encode())
    return h.hexdigest()


def read_cache(kind: str, key: str) -> dict | None:
    """The object cached as ``$JPEG_DEEP_CACHE/<kind>/<key>.json``; None when it is absent or
    unreadable."""
    try:
        data = json.loads((_cache_dir() / kind / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_cache(kind: str, key: str, data: dict, what: str) -> None:
    """Write ``data`` as ``$JPEG_DEEP_CACHE/<kind>/<key>.json`` (whole or not at all); a cache
    that cannot be written is logged, never an error (a read-only home must not stop
    training)."""
    folder = _cache_dir() / kind
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{key}.json.tmp{os.getpid()}"
        tmp.write_text(json.dumps(data))
        tmp.replace(folder / f"{key}.json")
    except OSError as err:
        logger.info("%s cache not written: %s", what, err)
