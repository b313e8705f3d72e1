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
