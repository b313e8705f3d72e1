"""VGG16 and the VGG-DCT family of Deguerre et al. (ARCHITECTURES.md 3.1-3.5).

Every builder takes ``classes``, ``input_size`` (pixels: int, ``(h, w)`` or ``None``),
``weights`` (a local weights file, transferred by layer name), ``width`` (multiplies every
convolution and dense width; 1.0 is the paper) and ``classifier_activation``. The ``*_conv``
builders are the fully convolutional inference versions: any input size, the dense head as
convolutions whose first kernel covers the training map (``train_input_size / 32``).
"""
from __future__ import annotations

import keras
from keras import layers

from jpeg_deep.networks.blocks import (
    filters, input_norm, make_inputs, vgg_block, vgg_conv_head, vgg_dense_head,
)
from jpeg_deep.networks.registry import register


def _finish(inputs, outputs, name, weights):
    model = keras.Model(inputs, outputs, name=name)
    if weights is not None:
        from jpeg_deep.networks.weights import load_weights

        load_weights(model, weights)
    return model


def _head(x, classes, width, conv, train_input_size, classifier_activation, dropout=0.5):
    units = filters(4096, width)
    if conv:
        kernel = max(1, int(train_input_size) // 32)
        return vgg_conv_head(x, classes, units=units, kernel=kernel,
                             classifier_activation=classifier_activation)
    return vgg_dense_head(x, classes, units=units, dropout=dropout,
                          classifier_activation=classifier_activation)


def _vgg16_rgb(conv, classes, input_size, weights, width, classifier_activation,
               train_input_size, dropout):
    inputs = make_inputs("rgb", input_size)
    x = inputs[0]
    for block, (convs, n) in enumerate([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)], 1):
        x = vgg_block(x, block, convs, filters(n, width))
    out = _head(x, classes, width, conv, train_input_size, classifier_activation, dropout)
    return _finish(inputs, out, "vgg16_conv" if conv else "vgg16", weights)


def _y_trunk(y, width):
    """BN on Y -> Conv 3x3 256 (stands for VGG blocks 1-3) -> block4 -> pool: stride 16."""
    x = input_norm(y, "bn_y")
    x = layers.Conv2D(filters(256, width), 3, padding="same", activation="relu",
                      kernel_regularizer=keras.regularizers.L2(5e-4), name="block3_conv_dct")(x)
    return vgg_block(x, 4, 3, filters(512, width))


def _vgg16_dct(conv, classes, input_size, weights, width, classifier_activation,
               train_input_size, dropout):
    inputs = make_inputs("y_cbcr", input_size)
    y, cbcr = inputs
    x = _y_trunk(y, width)
    c = input_norm(cbcr, "bn_cbcr")
    x = layers.Concatenate(name="concat_y_cbcr")([x, c])
    x = vgg_block(x, 5, 3, filters(512, width))
    out = _head(x, classes, width, conv, train_input_size, classifier_activation, dropout)
    return _finish(inputs, out, "vgg16_dct_conv" if conv else "vgg16_dct", weights)


def _vgg16_dct_y(conv, classes, input_size, weights, width, classifier_activation,
                 train_input_size, dropout):
    inputs = make_inputs("y", input_size)
    x = _y_trunk(inputs[0], width)
    x = vgg_block(x, 5, 3, filters(512, width))
    out = _head(x, classes, width, conv, train_input_size, classifier_activation, dropout)
    return _finish(inputs, out, "vgg16_dct_y_conv" if conv else "vgg16_dct_y", weights)


def _vgg16_dct_deconv(conv, classes, input_size, weights, width, classifier_activation,
                      train_input_size, dropout):
    inputs = make_inputs("y_cb_cr", input_size)
    y, cb, cr = inputs
    up = dict(strides=2, padding="valid", kernel_regularizer=keras.regularizers.L2(5e-4))
    cb_up = layers.Conv2DTranspose(64, 2, name="deconv_cb", **up)(cb)
    cr_up = layers.Conv2DTranspose(64, 2, name="deconv_cr", **up)(cr)
    x = layers.Concatenate(name="concat_y_cb_cr")([y, cb_up, cr_up])
    x = input_norm(x, "bn_y_cb_cr")
    x = vgg_block(x, 4, 3, filters(512, width))
    x = vgg_block(x, 5, 3, filters(512, width))
    out = _head(x, classes, width, conv, train_input_size, classifier_activation, dropout)
    return _finish(inputs, out, "vgg16_dct_deconv_conv" if conv else "vgg16_dct_deconv", weights)


_FAMILY = [
    ("vgg16", "rgb", _vgg16_rgb, "VGG16 on RGB (keras.applications layout)"),
    ("vgg16_dct", "y_cbcr", _vgg16_dct, "VGG-DCT: Y at stride 8, CbCr joins at stride 16"),
    ("vgg16_dct_y", "y", _vgg16_dct_y, "VGG-DCT Y: luminance only"),
    ("vgg16_dct_deconv", "y_cb_cr", _vgg16_dct_deconv,
     "VGG-DCT Deconvolution: Cb, Cr upsampled by learned 2x2 transposed convs"),
]


def _register_family():
    for name, kind, impl, description in _FAMILY:
        for conv in (False, True):
            default_size = 224 if not conv else None

            def builder(classes=1000, input_size=default_size, weights=None, width=1.0,
                        classifier_activation="softmax", train_input_size=224, dropout=0.5,
                        _impl=impl, _conv=conv):
                return _impl(_conv, classes, input_size, weights, width,
                             classifier_activation, train_input_size, dropout)

            builder.__name__ = name + ("_conv" if conv else "")
            builder.__doc__ = description + (
                " -- fully convolutional inference version" if conv else "")
            register(builder.__name__, inputs=kind, description=builder.__doc__,
                     fully_convolutional=conv)(builder)


_register_family()
