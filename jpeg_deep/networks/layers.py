"""Custom layers used by the networks' heads."""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="jpeg_deep")
class L2Normalization(keras.layers.Layer):
    """``gamma * x / ||x||`` over the channel axis, with a learnable per-channel scale ``gamma``
    initialised to ``scale`` (20 in SSD, on the stride-8 source map).

    Unlike ``keras.layers.UnitNormalization`` the scale is learnt. The norm is computed in
    float32 (under mixed precision the input is cast up and the output back to the compute
    dtype); ``||x||`` is floored at ``1e-12`` as ``tf.math.l2_normalize`` does.
    """

    def __init__(self, scale=20.0, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)
        self.axis = axis

    def build(self, input_shape):
        self.gamma = self.add_weight(
            name="gamma", shape=(input_shape[self.axis],),
            initializer=keras.initializers.Constant(self.scale), trainable=True)

    def call(self, x):
        x32 = ops.cast(x, "float32")
        norm = ops.sqrt(ops.maximum(ops.sum(ops.square(x32), axis=self.axis, keepdims=True),
                                    1e-24))
        gamma = ops.cast(self.gamma, "float32")
        if self.axis not in (-1, len(x.shape) - 1):
            shape = [1] * len(x.shape)
            shape[self.axis] = -1
            gamma = ops.reshape(gamma, shape)
        return ops.cast(x32 / norm * gamma, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "axis": self.axis}
