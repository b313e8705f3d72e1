"""Keras preprocessing layers on DCT coefficients (batched, GPU-capable).

Written with ``keras.ops``: TensorFlow ops on the TensorFlow backend (usable in a model or a
``tf.data`` pipeline); the same layers run on the JAX backend, e.g. on a GPU machine without
TensorFlow (``KERAS_BACKEND=jax python benchmarks/dct_layers.py``: agreement with numpy and
images/s). Not yet run on a GPU.

They work on ``(batch, blocks_h, blocks_w, 64)`` tensors in the reader's layout
(:mod:`jpeg_deep.dct`) -- Y, or Cb / Cr / CbCr stacked on the last axis (any multiple of 64
channels: each group of 64 is one component) -- and give the results of the numpy functions of
:mod:`jpeg_deep.dct` within float32 rounding (``tests/data/transforms/test_classification_dct.py``).

* :class:`DCTRandomFlip`: horizontal mirror of each sample with probability ``p`` in training
  (reverse the block columns, negate odd horizontal frequencies: exact). Called on a list of
  tensors (``[y, cbcr]``) it flips the same samples in all of them.
* :class:`DCTResample`: a fixed separable resampling given as two :class:`jpeg_deep.dct.AxisOp`
  chains (resize, window / crop, flip, halve), applied as two dense ``einsum`` products with
  the operators ``A = (I (x) C8) R (I (x) C8).T`` built in numpy (``jpeg_deep.dct``'s banded
  operators, densified: fine at network-input sizes).
* :class:`DCTResize`, :class:`DCTCrop`: the common cases of :class:`DCTResample`.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from jpeg_deep.dct.axis import AxisOp
from jpeg_deep.dct import banded

__all__ = ["DCTRandomFlip", "DCTResample", "DCTResize", "DCTCrop", "dense_operator"]

_FLIP_SIGN = np.array([1.0, -1.0] * 32, np.float32)  # channel 8v + u: (-1) ** u


def dense_operator(op: AxisOp, nb_in: int) -> np.ndarray:
    """The dense ``(8 nb_out, 8 nb_in)`` DCT-domain matrix of ``op`` (float64), equal to the
    banded operator :func:`jpeg_deep.dct.resample` applies (same edge padding)."""
    b = banded._band_operator(op, nb_in)
    a = np.zeros((8 * b.nb_out, 8 * nb_in))
    for i in range(b.nb_out):
        s = int(b.start[i])
        a[8 * i: 8 * i + 8, 8 * s: 8 * s + 8 * b.k] = b.band[i]
    return a


def _groups(x):
    c = x.shape[-1]
    if c is None or c % 64:
        raise ValueError(f"the last axis must hold 64 coefficients per component, not {c}")
    return c // 64


class DCTRandomFlip(keras.layers.Layer):
    """Random horizontal flip of DCT coefficient tensors ``(batch, bh, bw, 64 * n)``.

    In training (``training=True``) each sample is mirrored with probability ``p``; otherwise
    the input passes unchanged. On a list / tuple of tensors the same samples are flipped in
    each (Y and chroma stay aligned). A block-grid mirror: the image width is taken as
    ``8 * bw`` (exact for whole-block crops, the training case)."""

    def __init__(self, p: float = 0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.p = float(p)
        self.seed = seed
        self._generator = keras.random.SeedGenerator(seed)

    @staticmethod
    def flip(x):
        """The mirror of every sample of ``x``."""
        n = _groups(x)
        sign = ops.convert_to_tensor(np.tile(_FLIP_SIGN[:64], n), x.dtype)
        return ops.flip(x, axis=2) * sign

    def call(self, inputs, training=None):
        many = isinstance(inputs, (list, tuple))
        xs = list(inputs) if many else [inputs]
        if not training:
            return inputs
        batch = ops.shape(xs[0])[0]
        draw = keras.random.uniform((batch,), seed=self._generator)
        mask = ops.reshape(draw < self.p, (-1, 1, 1, 1))
        outs = [ops.where(mask, self.flip(x), x) for x in xs]
        return outs if many else outs[0]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "p": self.p, "seed": self.seed}


class DCTResample(keras.layers.Layer):
    """A fixed resampling of ``(batch, bh, bw, 64 * n)`` tensors: ``rows`` / ``cols`` are
    :class:`jpeg_deep.dct.AxisOp` chains (``None`` keeps an axis) whose ``size_in`` is the true
    pixel size of that axis (it must end in the last block). Output: ``ceil(size_out / 8)``
    blocks per axis, float32 (padding as in :mod:`jpeg_deep.dct`). Equal to
    :func:`jpeg_deep.dct.resample` within float32 rounding."""

    def __init__(self, rows: AxisOp | None = None, cols: AxisOp | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.rows, self.cols = rows, cols
        self._ops = None

    def build(self, input_shape):
        bh, bw = int(input_shape[1]), int(input_shape[2])
        self._ops = []
        for op, nb in ((self.rows, bh), (self.cols, bw)):
            if op is None:
                self._ops.append(None)
                continue
            a = dense_operator(op, nb)
            self._ops.append(a.reshape(a.shape[0] // 8, 8, nb, 8).astype(np.float32))

    def call(self, x):
        x = ops.cast(x, "float32")
        batch = ops.shape(x)[0]
        n = _groups(x)
        bh, bw = x.shape[1], x.shape[2]
        # (b, i, j, g, v, u): component g, block (i, j), frequencies (v, u)
        x = ops.reshape(x, (batch, bh, bw, n, 8, 8))
        ah, aw = self._ops
        if ah is not None:
            x = ops.einsum("Paiv,bijgvu->bPjgau", ops.convert_to_tensor(ah), x)
        if aw is not None:
            x = ops.einsum("Qcju,bPjgau->bPQgac", ops.convert_to_tensor(aw), x)
        return ops.reshape(x, (batch, x.shape[1], x.shape[2], 64 * n))

    def compute_output_shape(self, input_shape):
        bh, bw = input_shape[1], input_shape[2]
        if self.rows is not None:
            bh = -(-self.rows.size_out // 8)
        if self.cols is not None:
            bw = -(-self.cols.size_out // 8)
        return (input_shape[0], bh, bw, input_shape[3])


class DCTResize(DCTResample):
    """Resize to ``height x width`` pixels (cv2 INTER_LINEAR semantics, as
    :func:`jpeg_deep.dct.resize`); the input size is ``size=(h, w)`` or the whole block grid."""

    def __init__(self, height: int, width: int, size=None, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width, self.size = int(height), int(width), size

    def build(self, input_shape):
        h, w = self.size or (8 * int(input_shape[1]), 8 * int(input_shape[2]))
        self.rows = AxisOp(h).resize(self.height)
        self.cols = AxisOp(w).resize(self.width)
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], -(-self.height // 8), -(-self.width // 8), input_shape[3])

    def get_config(self):
        return {**keras.layers.Layer.get_config(self), "height": self.height,
                "width": self.width, "size": self.size}


class DCTCrop(DCTResample):
    """The ``height x width`` window at pixel ``(top, left)`` (any offset; whole-block offsets
    are plain slicing, computed here by the same product)."""

    def __init__(self, top: int, left: int, height: int, width: int, size=None, **kwargs):
        super().__init__(**kwargs)
        self.top, self.left, self.height, self.width = int(top), int(left), int(height), int(width)
        self.size = size

    def build(self, input_shape):
        h, w = self.size or (8 * int(input_shape[1]), 8 * int(input_shape[2]))
        self.rows = AxisOp(h).window(self.top, self.height)
        self.cols = AxisOp(w).window(self.left, self.width)
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], -(-self.height // 8), -(-self.width // 8), input_shape[3])

    def get_config(self):
        return {**keras.layers.Layer.get_config(self), "top": self.top, "left": self.left,
                "height": self.height, "width": self.width, "size": self.size}
