"""Work in worker processes, results in order: :func:`ordered_map` over a pool, the arrays of
each result moved through shared memory (``/dev/shm``) rather than pickled through a pipe, and
the batches of :func:`jpeg_deep.data.batches.ordered_batches`."""
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

import numpy as np


logger = logging.getLogger(__name__)


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


