"""Network input layout: DCT coefficients or RGB pixels -> the float32 tensors a model reads.

The input kinds are those of ``jpeg_deep.networks.registry.INPUT_KINDS``. Coefficients are not
normalised here: the first layer of every DCT network is a BatchNormalization. Y is zero-padded (bottom / right) to exactly twice the chroma grid so both stay aligned.
"""
from __future__ import annotations

import numpy as np

# Caffe preprocessing of keras.applications VGG16 / ResNet50: BGR order, ImageNet means.
IMAGENET_BGR_MEANS = np.array([103.939, 116.779, 123.68], np.float32)


def pad_y(y: np.ndarray, chroma_shape) -> np.ndarray:
    th, tw = 2 * chroma_shape[0], 2 * chroma_shape[1]
    if y.shape[:2] == (th, tw):
        return y
    out = np.zeros((th, tw, y.shape[2]), y.dtype)
    out[: y.shape[0], : y.shape[1]] = y[:th, :tw]
    return out


def dct_layout(y, cb, cr, kind: str) -> tuple:
    """``(y, cb, cr)`` int16 (or float32: used as they are, not copied) -> tuple of float32
    arrays in model input order."""
    y = pad_y(y, cb.shape).astype(np.float32, copy=False)
    if kind == "y":
        return (y,)
    if kind == "y_cbcr":
        return (y, np.concatenate([cb, cr], axis=-1, dtype=np.float32))
    if kind == "y_cb_cr":
        return (y, cb.astype(np.float32, copy=False), cr.astype(np.float32, copy=False))
    raise ValueError(f"{kind!r} is not a DCT input kind")


def rgb_layout(rgb: np.ndarray) -> tuple:
    """RGB ``uint8`` -> Caffe-preprocessed float32 (BGR, ImageNet means subtracted)."""
    return (rgb[..., ::-1].astype(np.float32) - IMAGENET_BGR_MEANS,)
