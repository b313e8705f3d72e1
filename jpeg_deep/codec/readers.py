"""Read the DCT coefficients stored in a JPEG file (entropy decoding only).

:func:`read_dct` is the one entry point. It returns ``(y, cb, cr)``, three ``int16`` arrays of
shape ``(blocks_h, blocks_w, 64)``:

* one 8x8 block per spatial cell, its 64 coefficients on the last axis;
* **de-quantized** (the stored integer times its quantisation-table entry), so the DC of a block
  is ``8 * (mean pixel - 128)`` whatever the JPEG quality;
* in libjpeg's **natural row-major frequency order**, not zig-zag: channel ``8 * v + u`` holds
  vertical frequency ``v`` and horizontal frequency ``u`` (channel 0 is DC, channel 1 the lowest
  horizontal frequency) -- the jpeg2dct convention;
* Y is ``ceil(H/8) x ceil(W/8)`` blocks and Cb, Cr are ``ceil(H/16) x ceil(W/16)`` blocks: the
  4:2:0 layout the networks expect, whatever the file's own chroma subsampling. Grayscale files
  give zero chroma of that size.

Three backends, chosen by name; all give the same coefficients for every file (tested bit for
bit on every subsampling):

``"libjpeg"`` (default where it was built; libjpeg-turbo: IJG and BSD licences)
    Our own reader, ``jpeg_deep/_jpegread.c``: libjpeg-turbo's entropy decoding (in raw mode
    for single-scan files: each MCU decoded into a ring of block rows, no whole-image
    coefficient array; ``jpeg_read_coefficients`` for progressive and multi-scan ones); each
    row of blocks is dequantised and written in the layout above as soon as it is decoded
    (while in the cache). Non-4:2:0 chroma is brought to 4:2:0
    in the DCT domain as by ``"jpeglib"``. Without ``info`` it makes :func:`inspect_jpeg`'s
    checks itself, in C, and leaves the files that fail them to it (its errors name the
    problem). :func:`read_crop` reads and transforms a training or validation crop in one
    call.
    It parses untrusted files safely: libjpeg's errors become :class:`InvalidJPEGError`, its
    warnings (corrupt but decodable data) are counted in :func:`reader_stats` and never
    printed; a frame of more than :data:`MAX_PIXELS` pixels or a file of more than
    :data:`MAX_SCANS` scans is refused before its coefficients are allocated, so a file costs
    at most about 12 bytes per pixel of memory (libjpeg's int16 planes and ours, 4:4:4). It
    releases the GIL while it decodes. Built at install where a C compiler and libjpeg's
    headers are found (``apt-get install libjpeg-dev``).
``"jpeg2dct"`` (the papers' reader; Uber Non-Commercial License)
    Reads 4:2:0 and grayscale files as stored. jpeg2dct itself would silently decode any other
    colour subsampling (4:4:4, 4:2:2, 4:4:0) and re-encode it at quality 100; this backend never
    lets it: those files go to the ``"jpeglib"`` reader below (counted in :func:`reader_stats`
    as ``chroma_downsampled``).
``"jpeglib"`` (MPL-2.0, pure Python package over its own libjpeg builds; the fallback)
    Reads every subsampling as stored and brings non-4:2:0 chroma to the 4:2:0 grid in the DCT
    domain (an exact 2x box-filter downsampling of the blocks, no re-encoding).

Anything that is not a readable JPEG (empty, truncated, another format, CMYK/YCCK, lossless or
12-bit JPEG) raises :class:`InvalidJPEGError`, which names the file and the reason.
"""
from __future__ import annotations

import collections
import logging
import os
import tempfile
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Callable, Union

import numpy as np

from jpeg_deep.dct import dct_matrix
from jpeg_deep.errors import InvalidJPEGError

logger = logging.getLogger(__name__)

Source = Union[str, os.PathLike, bytes, bytearray, memoryview]

__all__ = [
    "InvalidJPEGError",
    "JpegInfo",
    "inspect_jpeg",
    "read_dct",
    "read_bytes",
    "backends",
    "reader_stats",
    "reset_reader_stats",
    "DEFAULT_BACKEND",
    "MAX_PIXELS",
    "MAX_SCANS",
    "keep_heap",
]

try:  # our reader over libjpeg-turbo (jpeg_deep/_jpegread.c), built where libjpeg-dev is found
    from jpeg_deep import _jpegread
except ImportError:  # pragma: no cover - installed without a compiler or libjpeg's headers
    _jpegread = None

#: ``"libjpeg"`` where it was built, else the pure ``"jpeglib"`` package.
DEFAULT_BACKEND = "libjpeg" if _jpegread is not None else "jpeglib"

#: The largest frame (width x height) the ``"libjpeg"`` reader decodes: 8192 x 8192.
MAX_PIXELS = 1 << 26
#: The most scans of one file the ``"libjpeg"`` reader decodes (a progressive file has ~10).
MAX_SCANS = 1000


#: Freed memory glibc's malloc keeps per heap once ``keep_heap`` ran (see there).
HEAP_KEPT_BYTES = 64 << 20
_HEAP = {"kept": None}


def keep_heap() -> bool:
    """Let glibc's malloc keep freed memory instead of returning it to the system after every
    image (at most ``HEAP_KEPT_BYTES`` per heap, blocks up to 32 MiB served from the heaps).

    A photo's coefficient arrays are megabytes, allocated and freed once per image by libjpeg and
    by the reader; with glibc's defaults the pages go back to the kernel after each image and are
    faulted in (zeroed) again for the next, which costs more than entropy decoding a large file.
    The ``"libjpeg"`` reader calls this on its first read; it is process-wide, done once, and
    skipped when the environment sets ``JPEG_DEEP_KEEP_HEAP=0``. Returns whether it is in effect
    (False without our reader, or where malloc is not glibc's)."""
    if _HEAP["kept"] is None:
        _HEAP["kept"] = (_jpegread is not None
                         and os.environ.get("JPEG_DEEP_KEEP_HEAP", "1") != "0"
                         and bool(_jpegread.keep_heap(HEAP_KEPT_BYTES, 32 << 20)))
    return _HEAP["kept"]


@dataclass(frozen=True)
class JpegInfo:
    """What the JPEG headers say, read without decoding any pixel."""

    width: int
    height: int
    components: int
    sampling: tuple  # ((h, v), ...) sampling factors per component
    progressive: bool

    @cached_property
    def subsampling(self) -> str:
        """``"gray"``, ``"4:2:0"``, ``"4:2:2"``, ``"4:4:0"``, ``"4:4:4"`` or ``"other"``."""
        if self.components == 1:
            return "gray"
        (hy, vy), rest = self.sampling[0], self.sampling[1:]
        if any(s != (1, 1) for s in rest):
            return "other"
        return {(2, 2): "4:2:0", (2, 1): "4:2:2", (1, 2): "4:4:0", (1, 1): "4:4:4"}.get(
            (hy, vy), "other"
        )


# Start-of-frame markers: 0xC0-0xCF except DHT (C4), JPG (C8) and DAC (CC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_LOSSLESS_SOF = frozenset({0xC3, 0xC7, 0xCB, 0xCF})
_PROGRESSIVE_SOF = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


def inspect_jpeg(data: bytes, source="<bytes>") -> JpegInfo:
    """Parse the headers of a JPEG byte string and check that it can be read.

    Raises :class:`InvalidJPEGError` for empty data, other formats, truncated files (no
    end-of-image marker after the first scan), CMYK/YCCK, lossless and non-8-bit JPEGs.
    """
    n = len(data)
    if n == 0:
        raise InvalidJPEGError(source, "empty file (0 bytes)")
    if n < 4 or data[0] != 0xFF or data[1] != 0xD8:
        kind = _guess_format(data)
        raise InvalidJPEGError(source, f"not a JPEG file ({kind}; no SOI marker)")
    pos, frame = 2, None
    while True:
        if pos >= n:
            raise InvalidJPEGError(source, "truncated file: headers end before the image data")
        if data[pos] != 0xFF:
            raise InvalidJPEGError(source, f"corrupt headers: expected a marker at byte {pos}")
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            raise InvalidJPEGError(source, "truncated file: headers end before the image data")
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE or marker == 0xD8:
            continue
        if marker == 0xD9:
            raise InvalidJPEGError(source, "no image data (end-of-image before any scan)")
        if pos + 2 > n:
            raise InvalidJPEGError(source, "truncated file inside the headers")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > n:
            raise InvalidJPEGError(source, "truncated file inside the headers")
        if marker in _SOF_MARKERS:
            frame = _parse_sof(data[pos + 2 : pos + length], marker, source)
        elif marker == 0xDA:  # start of scan: headers are over
            if frame is None:
                raise InvalidJPEGError(source, "corrupt file: scan before any frame header")
            # searched from the end, where the marker is (a forward search would stop at
            # every 0xFF of the entropy-coded data)
            if data.rfind(b"\xff\xd9", pos + length) < 0:
                raise InvalidJPEGError(
                    source, "truncated file: no end-of-image marker after the image data"
                )
            return frame
        pos += length


def _parse_sof(seg: bytes, marker: int, source) -> JpegInfo:
    if len(seg) < 6:
        raise InvalidJPEGError(source, "corrupt frame header")
    precision = seg[0]
    height = int.from_bytes(seg[1:3], "big")
    width = int.from_bytes(seg[3:5], "big")
    ncomp = seg[5]
    if marker in _LOSSLESS_SOF:
        raise InvalidJPEGError(source, "lossless JPEG has no DCT coefficients")
    if precision != 8:
        raise InvalidJPEGError(source, f"{precision}-bit JPEG is not supported (8-bit only)")
    if width == 0 or height == 0:
        raise InvalidJPEGError(source, "image size missing from the frame header")
    if ncomp == 4:
        raise InvalidJPEGError(
            source, "CMYK/YCCK JPEG (4 components) is not supported: convert it to RGB first"
        )
    if ncomp not in (1, 3) or len(seg) < 6 + 3 * ncomp:
        raise InvalidJPEGError(source, f"unsupported number of colour components ({ncomp})")
    sampling = tuple(
        (seg[7 + 3 * i] >> 4, seg[7 + 3 * i] & 0x0F) for i in range(ncomp)
    )
    return JpegInfo(width, height, ncomp, sampling, marker in _PROGRESSIVE_SOF)


def _guess_format(data: bytes) -> str:
    signatures = {
        b"\x89PNG": "PNG data",
        b"GIF8": "GIF data",
        b"BM": "BMP data",
        b"RIFF": "RIFF/WebP data",
        b"II*\x00": "TIFF data",
        b"MM\x00*": "TIFF data",
    }
    for sig, name in signatures.items():
        if data.startswith(sig):
            return name
    return "starts with " + " ".join(f"0x{b:02x}" for b in data[:4])


# --------------------------------------------------------------------------------------------
# Statistics of what the reader had to do (per process).

_STATS: collections.Counter = collections.Counter()


def reader_stats() -> dict:
    """Counts of this process: ``read``, ``chroma_downsampled`` (a 4:4:4 / 4:2:2 / 4:4:0 file
    whose chroma was brought to 4:2:0 in the DCT domain), ``grayscale``, ``progressive``,
    ``warnings`` (files libjpeg read with a warning: corrupt but decodable data; ``"libjpeg"``
    backend only) and ``stopped_early`` (reads that stopped entropy decoding below the rows asked
    for, see :func:`read_dct`)."""
    return dict(_STATS)


def reset_reader_stats() -> None:
    _STATS.clear()


# --------------------------------------------------------------------------------------------
# Backends.


def read_bytes(source: Source) -> tuple[bytes, str]:
    """Return ``(data, name)`` for a path or a byte string."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "<bytes>"
    with open(source, "rb") as f:
        return f.read(), os.fspath(source)


@lru_cache(maxsize=None)
def _libraries():
    """Import the backends in the one safe order and return ``(jpeg2dct_loads, jpeglib)``.

    jpeg2dct loads its libjpeg with ``RTLD_GLOBAL``; any jpeglib library bound *after* that has
    its libjpeg calls resolved to jpeg2dct's copy and reads wrong quantisation tables (seen with
    jpeglib 1.0.2 / jpeg2dct 0.2.4). Binding jpeglib's library first avoids it.
    """
    import sys

    jpeglib = None
    try:
        import jpeglib
        from jpeglib._bind import CJpegLib

        if "jpeg2dct.common" in sys.modules and CJpegLib._lib is None:
            logger.warning(
                "jpeg2dct was imported before jpeglib: the 'jpeglib' backend may read wrong "
                "quantisation tables; import jpeg_deep before jpeg2dct"
            )
        CJpegLib.get()
    except ImportError:
        pass
    try:
        from jpeg2dct.numpy import loads
    except ImportError:
        loads = None
    return loads, jpeglib


def _jpeg2dct(data: bytes, name: str, info: JpegInfo, stop_rows: int = 0):
    loads = _libraries()[0]
    if loads is None:
        raise ImportError("the 'jpeg2dct' backend needs the jpeg2dct package (see README)")

    if info.subsampling not in ("4:2:0", "gray"):
        # jpeg2dct would decode and re-encode it at quality 100: read the stored coefficients
        # and halve the chroma in the DCT domain instead
        return _jpeglib(data, name, info)
    try:
        y, cb, cr = loads(data)
    except RuntimeError as err:
        raise InvalidJPEGError(name, f"jpeg2dct cannot read it: {err}") from None
    return y, cb, cr


def _unsupported_sampling(name, info):
    return InvalidJPEGError(
        name,
        f"chroma sampling {info.sampling} is not supported "
        "(supported: 4:2:0, 4:2:2, 4:4:0, 4:4:4, grayscale)",
    )


def _libjpeg(data: bytes, name: str, info: JpegInfo | None, stop_rows: int = 0):
    """Our reader. ``info`` None: :func:`inspect_jpeg` was not run, the reader makes its
    checks itself (``_jpegread.read(..., checked=True)``) and returns None for a file that
    fails them or that libjpeg cannot read: the caller then inspects it, which names the
    problem. Returns ``(y, cb, cr, components, progressive)``."""
    if _jpegread is None:
        raise ImportError("the 'libjpeg' backend was not built (see backend_problem)")
    if info is not None and info.subsampling == "other":
        raise _unsupported_sampling(name, info)
    if _HEAP["kept"] is None:
        keep_heap()
    if stop_rows > 0:  # whole 4:2:0 chroma blocks (16 pixel rows), whatever the file's sampling
        stop_rows = -(-stop_rows // 16) * 16
    # 4:4:4 / 4:2:2 / 4:4:0 chroma is halved by the reader itself, from libjpeg's quantised
    # arrays (the same compiled loop as _chroma_to_420, dequantising as it loads)
    hy, vy = info.sampling[0] if info is not None and info.components == 3 else (2, 2)
    try:
        done = _jpegread.read(data, MAX_PIXELS, stop_rows, MAX_SCANS, vy == 1, hy == 1,
                              _HALVING, info is None)
    except InvalidJPEGError as err:
        if info is None:
            return None
        raise InvalidJPEGError(name, f"libjpeg cannot read it: {err.reason}") from None
    if done is None:
        return None
    _, _, components, progressive, stopped, warnings, warning, comps = done
    # the luma's sampling factors other than 2 x 2: not 4:2:0, the chroma was halved
    _count_libjpeg(name, stopped, warnings, warning, components == 3 and comps[0][3:] != (2, 2))
    y, *chroma = [np.frombuffer(buf, np.int16).reshape(rows, cols, 64)
                  for buf, rows, cols, _, _ in comps]
    return (*(_zero_chroma(y) if not chroma else (y, *chroma)), components, progressive)


def _count_libjpeg(name, stopped, warnings, warning, halved):
    """:func:`reader_stats`'s counts of what our reader did with one file."""
    if warnings:
        _STATS["warnings"] += 1
        logger.debug("%s: libjpeg: %s (%d warnings)", name, warning, warnings)
    if stopped:
        _STATS["stopped_early"] += 1
    if halved:
        _STATS["chroma_downsampled"] += 1


def _count_read(components, progressive):
    """:func:`reader_stats`'s counts of every read, whatever the backend."""
    _STATS["read"] += 1
    if components == 1:
        _STATS["grayscale"] += 1
    if progressive:
        _STATS["progressive"] += 1


def _zero_chroma(y):
    """``(y, cb, cr)`` of a grayscale file: zero chroma on the 4:2:0 grid of ``y``."""
    cshape = (-(-y.shape[0] // 2), -(-y.shape[1] // 2), 64)
    return y, np.zeros(cshape, np.int16), np.zeros(cshape, np.int16)


CROP_MODES = ("random", "center", "random_resized")


def read_crop(data: bytes, seed, mode: str, resize: int, crop: int, flip_p: float, out, dct8,
              scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), name: str = "<bytes>") -> bool:
    """One sample of the DCT-domain classification transform read and transformed by our
    reader in one compiled call (``_jpegread.read_crop``: header, geometry, read, kernel)
    into ``out``, three float32 arrays (Y, Cb, Cr), with the numbers
    :meth:`jpeg_deep.data.transforms.classification_dct.DCTTransform.read` computes in
    Python. ``mode``: ``"random"`` (shorter side ``resize``, random crop ``crop``, horizontal
    flip of probability ``flip_p``), ``"center"`` (the centre crop, no flip, no draw) or
    ``"random_resized"`` (``RandomResizedCrop(crop, scale, ratio)`` then the flip); the draws
    are those of ``numpy.random.default_rng(seed)``. ``dct8``: the 8-point DCT matrix the
    plans are built with.

    Returns False, having written nothing that counts, for any file the general path should
    take: a subsampling other than those :func:`read_dct` brings to 4:2:0, anything
    :func:`inspect_jpeg` would refuse, and any file libjpeg reports an error for (the general
    path then names the file and its problem)."""
    if _HEAP["kept"] is None:
        keep_heap()
    try:
        done = _jpegread.read_crop(data, seed, resize, crop, flip_p, CROP_MODES.index(mode),
                                   scale, ratio, MAX_PIXELS, MAX_SCANS, _HALVING, dct8, *out)
    except InvalidJPEGError:
        return False
    if done is None:
        return False
    components, progressive, stopped, warnings, warning, halved = done
    _count_read(components, progressive)
    _count_libjpeg(name, stopped, warnings, warning, halved)
    return True


def _on_420_grid(y, chroma, info: JpegInfo):
    """``(y, cb, cr)`` on the 4:2:0 grid from the components as stored: zero chroma for a
    grayscale file (``chroma`` empty), other subsamplings halved in the DCT domain."""
    if not chroma:
        return _zero_chroma(y)
    cb, cr = chroma
    if info.subsampling != "4:2:0":
        _STATS["chroma_downsampled"] += 1
        hy, vy = info.sampling[0]
        cb = _chroma_to_420(cb, vertical=vy == 1, horizontal=hy == 1)
        cr = _chroma_to_420(cr, vertical=vy == 1, horizontal=hy == 1)
    return y, cb, cr


def _jpeglib(data: bytes, name: str, info: JpegInfo, stop_rows: int = 0):
    jpeglib = _libraries()[1]
    if jpeglib is None:
        raise ImportError("the 'jpeglib' backend needs the jpeglib package: pip install jpeglib")

    if info.subsampling == "other":
        raise _unsupported_sampling(name, info)
    path = None if name == "<bytes>" else name
    tmp = None
    try:
        if path is None:
            fd, tmp = tempfile.mkstemp(suffix=".jpg", dir=_tmp_dir())
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            path = tmp
        try:
            jpg = jpeglib.read_dct(path)
            jpg.load()
        except Exception as err:  # jpeglib raises plain IOError/RuntimeError
            raise InvalidJPEGError(name, f"jpeglib cannot read it: {err}") from None
        qt, qtn = jpg.qt, jpg.quant_tbl_no
        y = _dequantize(jpg.Y, qt[qtn[0]])
        chroma = [] if info.components == 1 else [_dequantize(jpg.Cb, qt[qtn[1]]),
                                                  _dequantize(jpg.Cr, qt[qtn[2]])]
    finally:
        if tmp is not None:
            os.unlink(tmp)
    return _on_420_grid(y, chroma, info)


def _dequantize(blocks: np.ndarray, table: np.ndarray) -> np.ndarray:
    out = blocks.astype(np.int32) * table.astype(np.int32)
    return np.clip(out, -32768, 32767).astype(np.int16).reshape(*blocks.shape[:2], 64)


@lru_cache(maxsize=1)
def _tmp_dir():
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


@lru_cache(maxsize=1)
def _halving_operator() -> np.ndarray:
    """(8, 16) matrix: two neighbouring DCT blocks -> the DCT of their 2x box-downsampling."""
    n = np.arange(8)
    c8 = dct_matrix(8)
    down = np.zeros((8, 16))
    down[n, 2 * n] = down[n, 2 * n + 1] = 0.5
    inverse_pair = np.kron(np.eye(2), c8.T)  # coefficients of 2 blocks -> 16 pixels
    k = c8 @ down @ inverse_pair
    # Exact where the algebra is: entries that are zero (round-off of ~1e-17 otherwise), the
    # DC's 1/2 (the mean of the two means), and the mirror symmetry
    # k[a, 8 + p] = (-1)^(a + p) k[a, p] that the compiled loop relies on.
    left = np.where(np.abs(k[:, :8]) < 1e-12, 0.0, k[:, :8])
    left[0, 0] = 0.5
    k = np.hstack([left, left * (-1.0) ** np.add.outer(n, n)])
    k.setflags(write=False)
    return k


def _chroma_to_420(coef: np.ndarray, *, vertical: bool, horizontal: bool,
                   strip: int = 32) -> np.ndarray:
    """Halve the block grid of a chroma component along the requested axes, in the DCT domain.

    Every backend calls this one function, so they agree bit for bit within an install (our
    reader halves as it dequantises, with the same compiled loop: ``_jpegread.read``). Where
    that reader was built its loop does it (``_jpegread.halve``, float32, much faster);
    otherwise numpy in float64, ``strip`` block rows at a time (an even number: whole pairs;
    each output block depends on its own strip only), which bounds the temporaries to a
    strip's. The two sum the same products in other precisions and orders: a coefficient
    within a rounding error of half-way between two integers may round the other way (at most
    1, a few per photo)."""
    if _jpegread is not None:
        h, w = coef.shape[:2]
        out = _jpegread.halve(np.ascontiguousarray(coef, np.int16), h, w, vertical, horizontal,
                              _halving_operator())
        return np.frombuffer(out, np.int16).reshape(-(-h // 2) if vertical else h,
                                                    -(-w // 2) if horizontal else w, 64)
    return _chroma_to_420_numpy(coef, vertical=vertical, horizontal=horizontal, strip=strip)


def _chroma_to_420_numpy(coef: np.ndarray, *, vertical: bool, horizontal: bool,
                         strip: int = 32) -> np.ndarray:
    if coef.shape[0] <= strip:
        return _chroma_strip_to_420(coef, vertical=vertical, horizontal=horizontal)
    return np.concatenate([_chroma_strip_to_420(coef[r: r + strip], vertical=vertical,
                                                horizontal=horizontal)
                           for r in range(0, coef.shape[0], strip)])


def _chroma_strip_to_420(coef: np.ndarray, *, vertical: bool, horizontal: bool) -> np.ndarray:
    k = _halving_operator()
    m = coef.reshape(*coef.shape[:2], 8, 8).astype(np.float64)  # (bh, bw, v, u)
    if vertical:
        if m.shape[0] % 2:
            m = np.concatenate([m, m[-1:]], axis=0)
        bh, bw = m.shape[0] // 2, m.shape[1]
        pairs = m.reshape(bh, 2, bw, 8, 8).transpose(0, 2, 1, 3, 4).reshape(bh, bw, 16, 8)
        m = np.einsum("ap,ijpu->ijau", k, pairs)
    if horizontal:
        if m.shape[1] % 2:
            m = np.concatenate([m, m[:, -1:]], axis=1)
        bh, bw = m.shape[0], m.shape[1] // 2
        pairs = m.reshape(bh, bw, 2, 8, 8).transpose(0, 1, 3, 2, 4).reshape(bh, bw, 8, 16)
        m = np.einsum("ap,ijvp->ijva", k, pairs)
    return np.clip(np.rint(m), -32768, 32767).astype(np.int16).reshape(*m.shape[:2], 64)


_HALVING = _halving_operator()

_BACKENDS: dict[str, Callable] = {"libjpeg": _libjpeg, "jpeg2dct": _jpeg2dct, "jpeglib": _jpeglib}


def backends() -> list[str]:
    """Names accepted by ``read_dct(..., backend=...)``."""
    return sorted(_BACKENDS)


def backend_problem(backend: str) -> str | None:
    """Why ``backend`` cannot read in this environment (its package is missing), or None."""
    loads, jpeglib = _libraries()
    if backend == "jpeg2dct" and loads is None:
        return ("the jpeg2dct package is not installed (it has no wheel: `make install` builds "
                "it, see the README), or use reader_backend = 'jpeglib' "
                "(--set \"reader_backend='jpeglib'\")")
    if backend == "libjpeg" and _jpegread is None:
        return ("jpeg_deep's own reader (jpeg_deep/_jpegread.c) was not built: install "
                "libjpeg's headers (apt-get install libjpeg-dev) and run `make install` again, "
                "or use reader_backend = 'jpeglib'")
    if backend == "jpeglib" and jpeglib is None:
        return "the jpeglib package is not installed: pip install jpeglib"
    return None


def read_dct(source: Source, backend: str = DEFAULT_BACKEND, *, info: JpegInfo | None = None,
             stop_rows: int = 0):
    """Read the de-quantized DCT coefficients ``(y, cb, cr)`` of a JPEG path or byte string.

    See the module docstring for the layout. Raises :class:`InvalidJPEGError` (naming the file
    and the reason) for anything that is not a readable JPEG, ``ValueError`` for an unknown
    backend and ``OSError`` when a path cannot be opened.

    ``info``: what :func:`inspect_jpeg` returned for these same bytes, when the caller has
    already called it (it then made the checks): the headers are not parsed a second time.

    ``stop_rows > 0``: only the image's first ``stop_rows`` pixel rows are needed (a crop's
    last row). The ``"libjpeg"`` backend then stops entropy decoding once the block rows that
    cover them are decoded and leaves the rows below zero, in a single-scan sequential file
    (baseline JPEG, restart markers or not); progressive files and files with a scan per
    component are decoded whole. The other backends ignore it.
    """
    try:
        fn = _BACKENDS[backend]
    except KeyError:
        raise ValueError(f"unknown DCT reader backend {backend!r}; known: {backends()}") from None
    data, name = read_bytes(source)
    done = None
    if info is None and fn is _libjpeg:  # our reader makes inspect_jpeg's checks itself
        done = _libjpeg(data, name, None, stop_rows)
    if done is None:  # other backends, or a file with a problem: inspect_jpeg names it
        if info is None:
            info = inspect_jpeg(data, name)
        done = fn(data, name, info, stop_rows)
        if fn is not _libjpeg:
            done = (*done, info.components, info.progressive)
    y, cb, cr, components, progressive = done
    _count_read(components, progressive)
    return y, cb, cr
