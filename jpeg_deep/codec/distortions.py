"""Coding distortions of a JPEG file, for measuring how accuracy falls with the compression rate.

JPEG at a quality ``q`` comes in two forms:

``real``  the reference: decode the file, re-encode the pixels at ``q`` with libjpeg-turbo
          (OpenCV; chroma ``4:2:0`` by default or ``4:4:4``), and read the new file back.
``dct``   no decode: the file's de-quantised coefficients (as the DCT reader returns them, chroma
          in the networks' 4:2:0 layout) are re-quantised to the IJG tables of ``q``
          (:func:`jpeg_deep.dct.requantize`). The decode's rounding and clipping to 8-bit pixels
          are not modelled, and the file's chroma sampling is kept (``subsampling`` applies to
          the real form only).

WebP (``codec="webp"``) and JPEG 2000 (``"jp2"``) go through OpenCV when its build has the codec
(:func:`available_codecs` checks at run time): the image is decoded, encoded with that codec at
``q`` (JPEG 2000: OpenCV's compression ``q * 10`` per mille), decoded again and, since the
networks read JPEG files, re-encoded as a quality-100 4:2:0 JPEG that DCT networks then read.
They have the real form only.

Bits per pixel are those of the distorted image's own encode (JPEG at ``q`` for both JPEG forms,
WebP / JPEG 2000 otherwise): ``bytes * 8 / (width * height)``.

A :class:`Distortion` bundles one setting for :class:`jpeg_deep.data.loader.SampleLoader`,
which applies it to each file before the task's normal transform; a :class:`RandomDistortion`
(training against coding artifacts, :mod:`jpeg_deep.procedures.robustness`) draws one per sample from the
sample's seed: a quality from a range, applied with a probability.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from jpeg_deep import dct
from jpeg_deep.codec.jpeg import decode_rgb

CODECS = ("jpeg", "webp", "jp2")
FORMS = ("real", "dct")
SUBSAMPLINGS = ("4:2:0", "4:4:4")
_EXTENSIONS = {"jpeg": ".jpg", "webp": ".webp", "jp2": ".jp2"}


@functools.cache
def available_codecs() -> tuple[str, ...]:
    """The codecs of :data:`CODECS` that this OpenCV build can encode."""
    probe = np.full((64, 64, 3), 128, np.uint8)  # JPEG 2000 refuses much smaller
    out = []
    for codec in CODECS:
        try:
            ok, _ = cv2.imencode(_EXTENSIONS[codec], probe)
        except cv2.error:
            ok = False
        if ok:
            out.append(codec)
    return tuple(out)


def encode(rgb: np.ndarray, codec: str = "jpeg", quality: int = 75,
           subsampling: str = "4:2:0") -> bytes:
    """The bytes of an RGB ``uint8`` image encoded with ``codec`` at ``quality`` (1..100)."""
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; known: {', '.join(CODECS)}")
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be in 1..100, not {quality}")
    if codec not in available_codecs():
        raise ValueError(f"this OpenCV build cannot encode {codec}")
    if codec == "jpeg":
        if subsampling not in SUBSAMPLINGS:
            raise ValueError(f"subsampling must be one of {SUBSAMPLINGS}, not {subsampling!r}")
        factor = (cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420 if subsampling == "4:2:0"
                  else cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444)
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality),
                  cv2.IMWRITE_JPEG_SAMPLING_FACTOR, factor]
    elif codec == "webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, int(quality)]
    else:
        params = [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, int(quality) * 10]
    ok, buf = cv2.imencode(_EXTENSIONS[codec], cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise RuntimeError(f"OpenCV failed to encode {codec}")
    return buf.tobytes()


def decode(data: bytes) -> np.ndarray:
    """RGB ``uint8`` pixels of an encoded image (any codec OpenCV reads)."""
    return decode_rgb(data)


def bits_per_pixel(encoded: bytes, width: int, height: int) -> float:
    """``len(encoded) * 8 / (width * height)``."""
    return len(encoded) * 8 / (int(width) * int(height))


def jpeg_real(data: bytes, quality: int, subsampling: str = "4:2:0") -> bytes:
    """The real JPEG distortion: decode ``data``, re-encode at ``quality`` (libjpeg-turbo)."""
    return encode(decode_rgb(data), "jpeg", quality, subsampling)


def jpeg_dct(coefficients, quality: int):
    """The DCT-domain JPEG distortion of ``(y, cb, cr)`` de-quantised coefficients: each
    component re-quantised to the IJG table of ``quality`` (luma table for Y, chroma for Cb
    and Cr)."""
    y, cb, cr = coefficients
    return (dct.requantize(y, quality, "luma"), dct.requantize(cb, quality, "chroma"),
            dct.requantize(cr, quality, "chroma"))


def coefficients_to_rgb(coefficients, size) -> np.ndarray:
    """Decode ``(y, cb, cr)`` coefficients (chroma 4:2:0) of an image of ``size`` ``(height,
    width)`` to RGB ``uint8``: inverse DCT, chroma upsampled bilinearly, JFIF YCbCr -> RGB,
    rounded and clipped."""
    h, w = size
    y, cb, cr = coefficients
    luma = dct.blocks_to_pixels(y)[:h, :w] + 128
    ch, cw = -(-h // 2), -(-w // 2)
    chroma = [cv2.resize(dct.blocks_to_pixels(c)[:ch, :cw].astype(np.float32), (w, h),
                         interpolation=cv2.INTER_LINEAR) for c in (cb, cr)]
    cb_, cr_ = chroma
    r = luma + 1.402 * cr_
    g = luma - 0.344136 * cb_ - 0.714136 * cr_
    b = luma + 1.772 * cb_
    return np.clip(np.rint(np.stack([r, g, b], -1)), 0, 255).astype(np.uint8)


def image_size(data: bytes) -> tuple[int, int]:
    """``(height, width)`` of a JPEG file's bytes."""
    from jpeg_deep.codec.readers import inspect_jpeg

    info = inspect_jpeg(data)
    return info.height, info.width


@dataclass(frozen=True)
class Distortion:
    """One distortion setting (picklable). ``domain`` says where :class:`SampleLoader` applies
    it: ``"bytes"`` (``distortion(data) -> data``: the real forms) or ``"dct"``
    (``distortion.coefficients((y, cb, cr)) -> (y, cb, cr)``)."""

    quality: int
    codec: str = "jpeg"
    form: str = "real"
    subsampling: str = "4:2:0"

    def __post_init__(self):
        if self.codec not in CODECS:
            raise ValueError(f"unknown codec {self.codec!r}; known: {', '.join(CODECS)}")
        if self.form not in FORMS:
            raise ValueError(f"unknown distortion {self.form!r}; known: {', '.join(FORMS)}")
        if self.form == "dct" and self.codec != "jpeg":
            raise ValueError(f"{self.codec} has no DCT-domain form; use the real one")
        if self.subsampling not in SUBSAMPLINGS:
            raise ValueError(f"subsampling must be one of {SUBSAMPLINGS}, not "
                             f"{self.subsampling!r}")
        if not 1 <= int(self.quality) <= 100:
            raise ValueError(f"quality must be in 1..100, not {self.quality}")
        if self.codec not in available_codecs():
            raise ValueError(f"this OpenCV build cannot encode {self.codec}; available: "
                             f"{', '.join(available_codecs())}")

    @property
    def domain(self) -> str:
        return "dct" if self.form == "dct" else "bytes"

    @property
    def tag(self) -> str:
        """``jpeg_real_q10``: how prediction and evaluation files of this setting are named."""
        sampling = "" if self.subsampling == "4:2:0" or self.codec != "jpeg" else "_444"
        return f"{self.codec}_{self.form}{sampling}_q{int(self.quality)}"

    def encoded(self, data: bytes) -> bytes:
        """The distorted image in its own codec (what :meth:`bits_per_pixel` measures)."""
        if self.codec == "jpeg":
            return jpeg_real(data, self.quality, self.subsampling)
        return encode(decode_rgb(data), self.codec, self.quality)

    def bits_per_pixel(self, data: bytes) -> float:
        """Bits per pixel of ``data`` (a JPEG file) after this distortion, from the real
        encode."""
        h, w = image_size(data)
        return bits_per_pixel(self.encoded(data), w, h)

    def __call__(self, data: bytes) -> bytes:
        """The real form: the distorted JPEG file (WebP / JPEG 2000: decoded and re-encoded as a
        quality-100 4:2:0 JPEG, the networks' chroma layout)."""
        encoded = self.encoded(data)
        if self.codec == "jpeg":
            return encoded
        return encode(decode(encoded), "jpeg", 100, "4:2:0")

    def coefficients(self, coefficients):
        """The DCT form: :func:`jpeg_dct`."""
        return jpeg_dct(coefficients, self.quality)

    def draw(self, seed=None) -> "Distortion":
        """The distortion of one sample: always this one."""
        return self


@dataclass(frozen=True)
class RandomDistortion:
    """A distortion drawn per sample (picklable): with probability ``p`` a :class:`Distortion`
    at a quality drawn uniformly from ``quality`` (an int, or ``(low, high)`` inclusive), else
    none. The draw depends only on the sample's seed, so a sample is distorted the same way
    whichever process loads it, and again after a restart."""

    quality: int | tuple = 10
    p: float = 1.0
    codec: str = "jpeg"
    form: str = "real"
    subsampling: str = "4:2:0"

    def __post_init__(self):
        low, high = self.bounds
        if not 1 <= low <= high <= 100:
            raise ValueError(f"quality must be an integer in 1..100 or a range (low, high) in "
                             f"it, not {self.quality!r}")
        if not 0 <= float(self.p) <= 1:
            raise ValueError(f"p must be a probability in [0, 1], not {self.p!r}")
        Distortion(low, self.codec, self.form, self.subsampling)  # the other checks

    @property
    def bounds(self) -> tuple[int, int]:
        q = self.quality
        if isinstance(q, (tuple, list)) and len(q) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) for v in q):
            return int(q[0]), int(q[1])
        if isinstance(q, int) and not isinstance(q, bool):
            return int(q), int(q)
        raise ValueError(f"quality must be an integer in 1..100 or a range (low, high) in it, "
                         f"not {q!r}")

    def draw(self, seed=None) -> Distortion | None:
        """The :class:`Distortion` of the sample seeded ``seed`` (None: undistorted)."""
        rng = np.random.default_rng([0x51A11, 0 if seed is None else int(seed)])
        low, high = self.bounds
        quality = int(rng.integers(low, high + 1))
        if rng.random() >= float(self.p):
            return None
        return Distortion(quality, self.codec, self.form, self.subsampling)
