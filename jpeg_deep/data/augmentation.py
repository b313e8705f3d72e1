"""Transforms of the reference pipeline: decode, augment in RGB, re-encode as JPEG.

This is the path of Deguerre et al., kept as the reference that DCT-domain
augmentation is measured against: the file is fully decoded, resized / cropped / flipped
with albumentations, re-encoded in memory (4:2:0, a configurable quality; the reference used 95
for ImageNet) and then read back as DCT coefficients.

============  ===================================================================
split         transforms (sizes are config values; the paper uses 256 / 224)
============  ===================================================================
``train``     SmallestMaxSize(resize) -> RandomCrop(crop) -> HorizontalFlip(p=0.5)
``val``       SmallestMaxSize(resize) -> CenterCrop(crop)
``test``      SmallestMaxSize(resize) (full image, any size)
============  ===================================================================
"""
from __future__ import annotations

from dataclasses import dataclass

import albumentations as A
import cv2
import numpy as np

from jpeg_deep.data.readers import InvalidJPEGError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class TransformConfig:
    """Sizes (pixels) and the re-encoding quality of the classification transforms."""

    resize: int = 256
    crop: int = 224
    quality: int = 95

    def __post_init__(self):
        if self.crop > self.resize:
            raise ValueError(f"crop ({self.crop}) cannot exceed resize ({self.resize})")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"JPEG quality must be in 1..100, not {self.quality}")


def make_transform(split: str, config: TransformConfig = TransformConfig()) -> A.Compose:
    """The albumentations pipeline of ``split`` (``train``, ``val`` or ``test``)."""
    resize = A.SmallestMaxSize(max_size=config.resize, interpolation=cv2.INTER_LINEAR)
    if split == "train":
        steps = [resize, A.RandomCrop(config.crop, config.crop), A.HorizontalFlip(p=0.5)]
    elif split == "val":
        steps = [resize, A.CenterCrop(config.crop, config.crop)]
    elif split == "test":
        steps = [resize]
    else:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return A.Compose(steps, seed=0)


def decode_rgb(data: bytes, source="<bytes>") -> np.ndarray:
    """Full decode to an RGB ``uint8`` array (EXIF orientation ignored, like the DCT reader)."""
    flags = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if bgr is None:
        raise InvalidJPEGError(source, "OpenCV cannot decode it")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """Baseline 4:2:0 JPEG bytes of an RGB image (OpenCV / libjpeg-turbo)."""
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality),
              cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420]
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise RuntimeError("OpenCV failed to encode a JPEG")
    return buf.tobytes()
