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


@keras.saving.register_keras_serializable(package="jpeg_deep")
class DilatedConv2D(keras.layers.Conv2D):
    """``Conv2D`` with ``dilation_rate`` > 1 and "same" padding, computed as one matrix product:
    the ``kh * kw`` shifted views of the zero-padded input are concatenated on the channel axis
    and multiplied by the kernel reshaped to ``(kh * kw * channels, filters)``.

    Same variables, same result as ``Conv2D`` (up to float rounding); on TensorFlow's CPU
    kernels a dilated convolution goes through space-to-batch on small tiles and takes about 3x
    the time of an undilated one of equal work (SSD's fc6: 3x3, dilation 6, on a 19x19x512 map),
    the matrix product does not.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.padding != "same" or tuple(self.strides) != (1, 1):
            raise ValueError("DilatedConv2D supports 'same' padding and stride 1 only")
        if self.groups != 1 or self.data_format != "channels_last":
            raise ValueError("DilatedConv2D supports channels_last, one group only")

    def call(self, inputs):
        kh, kw, cin, cout = self.kernel.shape
        dh, dw = self.dilation_rate
        ph, pw = dh * (kh - 1), dw * (kw - 1)
        padded = ops.pad(inputs, [[0, 0], [ph // 2, ph - ph // 2], [pw // 2, pw - pw // 2],
                                  [0, 0]])
        h, w = inputs.shape[1], inputs.shape[2]
        if h is None or w is None:
            shape = ops.shape(inputs)
            h, w = shape[1], shape[2]
        views = [padded[:, i * dh:i * dh + h, j * dw:j * dw + w, :]
                 for i in range(kh) for j in range(kw)]
        columns = ops.concatenate(views, axis=-1)
        out = ops.matmul(columns, ops.reshape(self.kernel, (kh * kw * cin, cout)))
        if self.use_bias:
            out = out + self.bias
        return self.activation(out) if self.activation is not None else out
