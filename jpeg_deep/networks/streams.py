"""Bitstreams of quantised features: the learned entropy model's distributions as code tables,
and a range coder (constriction's, MIT / Apache-2.0) that writes one stream per image.

The tables come from a trained :class:`~jpeg_deep.networks.entropy.FactorizedPrior`: for each
channel ``c`` the probabilities of the integers ``lo_c .. hi_c`` (the range outside which the
model puts less than ``tail`` of its mass) and one more symbol, the *escape*, holding the rest.
A value outside its channel's range is coded as the escape, then as itself on 16 bits after
every channel's symbols: it is never clipped. A value outside ``-32768 .. 32767`` cannot be
coded, and :func:`encode` says so.

A stream is a fixed header of :data:`HEADER_BYTES` bytes, then the range coder's 32-bit words
(big-endian), the trailing bytes the decoder does not need dropped (it reads them as zeros):

====== ======= ==============================================================
offset size    field
====== ======= ==============================================================
0      3       magic ``b"JDS"``
3      1       format version (1)
4      2       height of the code (little-endian uint16)
6      2       width of the code
8      2       channels of the code
10     4       the model's identity: the first 4 bytes of the SHA-256 of its tables
14     2       height of the original image in pixels (0: not known)
16     2       width of the original image
18     4       CRC-32 (zlib's) of the payload that follows: a truncated or damaged stream
               is refused
====== ======= ==============================================================

The range coder works in 32-bit words and seals its last one; dropping the bytes the decoder
does not need leaves a payload of the entropy model's estimate plus about one byte on average
(docs/split_computing.md gives the measured figures); with the header that is the fixed cost
of a stream.
"""
from __future__ import annotations

import functools
import hashlib
import struct
import zlib
from dataclasses import dataclass

import numpy as np

MAGIC = b"JDS"
VERSION = 1
_HEADER = struct.Struct("<3sBHHH4sHHI")
#: The fixed size of a stream's header, in bytes.
HEADER_BYTES = _HEADER.size


class StreamError(ValueError):
    """A stream that cannot be decoded: truncated, corrupt, or made by another model."""


def _coder():
    try:
        import constriction
    except ImportError as err:  # a dependency of the package; a broken install says so
        raise ImportError("split-computing bitstreams need constriction "
                          "(pip install constriction)") from err
    return constriction.stream


@dataclass(frozen=True)
class CodeTables:
    """Per channel: ``lo[c]``, the smallest value of the table, and ``pmf[c]``, the
    probabilities of ``lo[c], lo[c] + 1, ...`` followed by the escape's."""

    lo: tuple
    pmf: tuple

    @property
    def channels(self) -> int:
        return len(self.lo)

    @functools.cached_property
    def identity(self) -> bytes:
        """4 bytes that name these tables (the header's model identity)."""
        h = hashlib.sha256()
        for lo, pmf in zip(self.lo, self.pmf):
            h.update(struct.pack("<i", int(lo)))
            h.update(np.asarray(pmf, np.float64).tobytes())
        return h.digest()[:4]

    @functools.cached_property
    def models(self) -> tuple:
        """constriction's categorical model of each channel (made once per tables)."""
        stream = _coder()
        return tuple(stream.model.Categorical(np.asarray(p, np.float64), perfect=False)
                     for p in self.pmf)

    @classmethod
    def from_prior(cls, prior, channels: int, *, tail: float = 2.0 ** -16,
                   max_range: int = 2048) -> "CodeTables":
        """The tables of a built ``FactorizedPrior`` over ``channels`` channels: every integer
        of ``-max_range .. max_range`` whose cumulative probability from either end exceeds
        ``tail / 2`` (values are in quantisation steps)."""
        from keras import ops

        grid = np.arange(-max_range, max_range + 1, dtype=np.float32)
        q = np.repeat(grid[:, None], channels, axis=1)
        p = np.asarray(ops.convert_to_numpy(prior.likelihood(ops.convert_to_tensor(q))),
                       np.float64)  # (values, channels)
        los, pmfs = [], []
        for c in range(channels):
            pc = p[:, c]
            cum = np.cumsum(pc)
            total = cum[-1]
            first = int(np.searchsorted(cum, tail / 2))
            last = int(np.searchsorted(cum, total - tail / 2))
            first, last = min(first, last), min(max(first, last), len(pc) - 1)
            body = pc[first:last + 1]
            escape = max(1.0 - float(body.sum()), tail)
            los.append(int(grid[first]))
            pmfs.append(np.append(body, escape))
        return cls(tuple(los), tuple(pmfs))

    def to_arrays(self) -> dict:
        """The tables as arrays for an ``.npz`` file (:meth:`from_arrays` reads them)."""
        width = max(len(p) for p in self.pmf)
        table = np.zeros((self.channels, width), np.float64)
        for c, p in enumerate(self.pmf):
            table[c, :len(p)] = p
        return dict(lo=np.array(self.lo, np.int64), lengths=np.array([len(p) for p in self.pmf]),
                    pmf=table)

    @classmethod
    def from_arrays(cls, arrays) -> "CodeTables":
        return cls(tuple(int(v) for v in arrays["lo"]),
                   tuple(np.array(arrays["pmf"][c, :n], np.float64)
                         for c, n in enumerate(arrays["lengths"])))


@dataclass(frozen=True)
class Header:
    """What a stream's header says: the code's ``shape`` ``(height, width, channels)``, the
    ``identity`` of the tables it was made with, the original image's ``image_size``
    ``(height, width)`` (0, 0 when not known)."""

    shape: tuple
    identity: bytes
    image_size: tuple


def encode(symbols: np.ndarray, tables: CodeTables, image_size=(0, 0)) -> bytes:
    """One stream of integer ``symbols`` ``(height, width, channels)`` of an image of
    ``image_size`` ``(height, width)`` pixels: the header, then per channel (row-major) each
    value's table index or the escape, then the escaped values."""
    stream = _coder()
    symbols = np.asarray(symbols)
    if symbols.ndim != 3 or symbols.shape[2] != tables.channels:
        raise ValueError(f"symbols of shape {symbols.shape}; the tables are for (h, w, "
                         f"{tables.channels})")
    if symbols.size and (symbols.min() < -32768 or symbols.max() > 32767):
        raise ValueError(f"feature values {int(symbols.min())} .. {int(symbols.max())} exceed "
                         "the codable range -32768 .. 32767 (a larger quantisation step "
                         "would bring them in)")
    h, w, c = symbols.shape
    encoder = stream.queue.RangeEncoder()
    escaped = []
    for ch in range(c):
        values = symbols[..., ch].ravel().astype(np.int64) - tables.lo[ch]
        n = len(tables.pmf[ch]) - 1
        outside = (values < 0) | (values >= n)
        if outside.any():
            escaped.append(values[outside] + tables.lo[ch])
            values = np.where(outside, n, values)
        encoder.encode(values.astype(np.int32), tables.models[ch])
    if escaped:
        raw = np.concatenate(escaped) + 32768
        encoder.encode(raw.astype(np.int32), stream.model.Uniform(65536))
    payload = _shortest(np.asarray(encoder.get_compressed(), ">u4").tobytes(), symbols, tables)
    ih, iw = (min(int(v), 65535) for v in image_size)
    return _HEADER.pack(MAGIC, VERSION, h, w, c, tables.identity, ih, iw,
                        zlib.crc32(payload)) + payload


def _shortest(payload: bytes, symbols, tables) -> bytes:
    """The coder's words with as many trailing bytes dropped as still decode to ``symbols``:
    the decoder reads missing bytes as zeros, and the coder's last word only has to land in
    the final interval, so the payload rounded down or up to fewer significant bytes often
    still does. Each candidate is checked by decoding it."""
    if not payload:
        return payload
    h, w, c = symbols.shape
    value = int.from_bytes(payload, "big")
    for drop in range(3, 0, -1):
        unit = 1 << (8 * drop)
        for candidate in (value - value % unit, value - value % unit + unit):
            if candidate >= 1 << (8 * len(payload)):
                continue
            short = candidate.to_bytes(len(payload), "big")[:-drop]
            try:
                if np.array_equal(_symbols(short, tables, h, w, c), symbols):
                    return short
            except StreamError:
                continue
    return payload


def _symbols(payload: bytes, tables: CodeTables, h: int, w: int, c: int) -> np.ndarray:
    """Decode a payload (big-endian words, zeros for missing trailing bytes)."""
    stream = _coder()
    padded = payload + b"\0" * (-len(payload) % 4)
    words = np.frombuffer(padded, ">u4").astype(np.uint32)
    out = np.empty((c, h * w), np.int64)
    try:
        decoder = stream.queue.RangeDecoder(words)
        escapes = []
        for ch in range(c):
            n = len(tables.pmf[ch]) - 1
            values = np.asarray(decoder.decode(tables.models[ch], h * w), np.int64)
            out[ch] = values + tables.lo[ch]
            escapes.append(np.flatnonzero(values == n))
        count = sum(len(e) for e in escapes)
        if count:
            raw = np.asarray(decoder.decode(stream.model.Uniform(65536), count),
                             np.int64) - 32768
            at = 0
            for ch, where in enumerate(escapes):
                out[ch, where] = raw[at:at + len(where)]
                at += len(where)
    except (ValueError, RuntimeError, AssertionError) as err:
        raise StreamError(f"corrupt stream ({err})") from None
    return out.reshape(c, h, w).transpose(1, 2, 0).astype(np.int32)


def read_header(data: bytes) -> Header:
    """The :class:`Header` of a stream, its payload checked (length and CRC-32); a
    StreamError otherwise."""
    if len(data) < HEADER_BYTES:
        raise StreamError(f"{len(data)} bytes: shorter than the {HEADER_BYTES}-byte header")
    magic, version, h, w, c, identity, ih, iw, crc = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise StreamError("not a jpeg_deep feature stream (no JDS magic)")
    if version != VERSION:
        raise StreamError(f"stream format version {version}; this reader knows {VERSION}")
    if zlib.crc32(data[HEADER_BYTES:]) != crc:
        raise StreamError("corrupt stream: its CRC-32 does not match")
    return Header((h, w, c), identity, (ih, iw))


def decode(data: bytes, tables: CodeTables, shape=None) -> np.ndarray:
    """The symbols of a stream, ``(height, width, channels)`` int32. A StreamError when the
    stream is truncated, corrupt, made with other tables, or not of ``shape`` (when given)."""
    header = read_header(data)
    (h, w, c), identity = header.shape, header.identity
    if identity != tables.identity or c != tables.channels:
        raise StreamError(f"made by another model (identity {identity.hex()}, channels {c}; "
                          f"this model: {tables.identity.hex()}, {tables.channels})")
    if shape is not None and (h, w, c) != tuple(shape):
        raise StreamError(f"a code of shape {(h, w, c)}; this model makes {tuple(shape)}")
    return _symbols(data[HEADER_BYTES:], tables, h, w, c)
