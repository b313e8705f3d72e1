"""A learned entropy model for quantised features: the factorized prior of Ballé et al.
("Variational image compression with a scale hyperprior", ICLR 2018, appendix 6.1), written with
Keras 3 ops (any backend).

Each channel ``c`` has its own monotone cumulative distribution ``F_c``: a small chain of
per-channel dense maps whose matrices are kept positive (softplus) and whose gates are
``x + tanh(a) * tanh(x)`` with ``|tanh(a)| < 1``, so the chain is increasing in ``x``; a sigmoid
of its output is the CDF. The probability of the integer ``q`` is
``F_c(q + 1/2) - F_c(q - 1/2)``, floored at ``likelihood_bound``, and the rate of a tensor is
``-sum log2 p`` bits. Features are divided by a quantisation ``step`` first.

In training the rounding is replaced by additive uniform noise in ``[-1/2, 1/2)`` (the rate is
then a differentiable upper bound of the coded size); at inference the features are rounded.

>>> import numpy as np
>>> model = FactorizedPrior()
>>> y = np.random.default_rng(0).normal(0, 3, (2, 4, 4, 8)).astype("float32")
>>> y_hat, bits = model(y)                # rounded features, bits per sample (2,)
"""
from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="jpeg_deep")
class FactorizedPrior(keras.layers.Layer):
    """Quantises ``(batch, ..., channels)`` features and returns ``(y_hat, bits)``: the features
    after rounding (training: after uniform noise) in their own units, and each sample's rate in
    bits under the learned per-channel distributions.

    Args:
        filters: widths of the hidden layers of each channel's CDF (Ballé et al.: 3, 3, 3).
        init_scale: the width of the initial distributions, in quantisation steps.
        step: the quantisation step (features are divided by it before rounding).
        likelihood_bound: the smallest probability of a symbol (bounds the rate of outliers).
    """

    def __init__(self, filters=(3, 3, 3), init_scale=10.0, step=1.0, likelihood_bound=1e-9,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = tuple(int(f) for f in filters)
        self.init_scale = float(init_scale)
        self.step = float(step)
        self.likelihood_bound = float(likelihood_bound)
        if self.step <= 0 or self.init_scale <= 0:
            raise ValueError(f"step ({step}) and init_scale ({init_scale}) must be positive")
        self.seed_generator = keras.random.SeedGenerator(0)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        widths = (1, *self.filters, 1)
        scale = self.init_scale ** (1 / (len(self.filters) + 1))
        self._matrices, self._biases, self._gates = [], [], []
        for i in range(len(widths) - 1):
            init = math.log(math.expm1(1 / scale / widths[i + 1]))
            self._matrices.append(self.add_weight(
                name=f"matrix_{i}", shape=(channels, widths[i + 1], widths[i]),
                initializer=keras.initializers.Constant(init)))
            self._biases.append(self.add_weight(
                name=f"bias_{i}", shape=(channels, widths[i + 1], 1),
                initializer=keras.initializers.RandomUniform(-0.5, 0.5, seed=i)))
            if i < len(widths) - 2:
                self._gates.append(self.add_weight(
                    name=f"gate_{i}", shape=(channels, widths[i + 1], 1),
                    initializer="zeros"))

    def cdf_logits(self, x):
        """The logits of ``F_c`` at ``x`` ``(channels, 1, n)`` -> ``(channels, 1, n)``."""
        for i, (matrix, bias) in enumerate(zip(self._matrices, self._biases)):
            x = ops.matmul(ops.softplus(matrix), x) + bias
            if i < len(self._gates):
                x = x + ops.tanh(self._gates[i]) * ops.tanh(x)
        return x

    def likelihood(self, q):
        """The probability of each value of ``q`` ``(batch, ..., channels)`` (in steps)."""
        shape = ops.shape(q)
        channels = shape[-1]
        flat = ops.transpose(ops.reshape(q, (-1, channels)))[:, None, :]   # (C, 1, n)
        lower = self.cdf_logits(flat - 0.5)
        upper = self.cdf_logits(flat + 0.5)
        # sigmoid(upper) - sigmoid(lower) computed on the side of zero where it does not cancel
        sign = -ops.sign(lower + upper)
        p = ops.abs(ops.sigmoid(sign * upper) - ops.sigmoid(sign * lower))
        p = ops.maximum(p, self.likelihood_bound)
        return ops.reshape(ops.transpose(p[:, 0, :]), shape)

    def call(self, y, training=None):
        q = y / self.step
        if training:
            q = q + keras.random.uniform(ops.shape(q), -0.5, 0.5, seed=self.seed_generator)
        else:
            q = ops.round(q)
        bits = -ops.sum(ops.reshape(ops.log(self.likelihood(q)) / math.log(2.0),
                                    (ops.shape(q)[0], -1)), axis=1)
        return q * self.step, bits

    def compute_output_shape(self, input_shape):
        return input_shape, (input_shape[0],)

    def get_config(self):
        return dict(super().get_config(), filters=self.filters, init_scale=self.init_scale,
                    step=self.step, likelihood_bound=self.likelihood_bound)
