"""VGG16 and the VGG-DCT family of Deguerre et al.: backbones, and the classifiers built on them.

Backbones (registered with ``register_backbone``, used by the classifiers here and by SSD):

``vgg16``             RGB: blocks of (2, 2, 3, 3, 3) 3x3 convs, (64, 128, 256, 512, 512) filters,
                      a 2x2/2 max-pool after each block.
``vgg16_dct``         BN(Y) -> 3x3 conv 256 (stands for VGG blocks 1-3: Y enters at stride 8) ->
                      block4 (3 x 512) -> pool -> concat [Y path, BN(CbCr)] (stride 16, 640
                      channels) -> block5 (3 x 512) -> pool.
``vgg16_dct_y``       the same without chroma.
``vgg16_dct_deconv``  Cb, Cr each 2x2/2 transposed conv (64, linear, L2 5e-4) -> concat [Y, Cb,
                      Cr] -> BN -> block4 -> pool -> block5 -> pool (no 256-filter conv).

Named maps: ``stride8`` = ``block4_conv3``; at output stride 32 (classifiers) ``stride16`` =
``block5_conv3`` and ``stride32`` = ``last`` = ``block5_pool``; at output stride 16 (SSD) the
block5 pool becomes ``pool5`` 3x3/1 "same" followed by ``fc6`` (3x3, dilation 6, 1024, ReLU) and
``fc7`` (1x1, 1024, ReLU), the convolutional, 4x-decimated form of the dense fc1 / fc2, and
``stride16`` = ``last`` = ``fc7``.

Classifier builders take ``classes``, ``input_size`` (pixels: int, ``(h, w)`` or ``None``),
``weights`` (a local weights file, transferred by layer name), ``width`` (multiplies every
convolution and dense width; 1.0 is the paper) and ``classifier_activation``. Their head:
Flatten -> fc1 4096 -> dropout -> fc2 4096 -> dropout -> predictions. The ``*_conv`` builders are
the fully convolutional inference versions: any input size, the dense head as convolutions whose
first kernel covers the training map (``train_input_size / 32``).
"""
from __future__ import annotations

import keras
from keras import layers

from jpeg_deep.networks.blocks import (
    filters, input_norm, l2, vgg_block, vgg_conv_head, vgg_dense_head,
)
from jpeg_deep.networks.layers import DilatedConv2D
from jpeg_deep.networks.registry import backbone, register, register_backbone

SSD_L2 = 5e-4


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


def _top(x, width, maps):
    """block5_conv3 -> ``block5_pool`` 2x2/2, or at output stride 16 the atrous top:
    ``pool5`` 3x3/1 -> ``fc6`` 3x3 dilation 6, 1024 -> ``fc7`` 1x1, 1024 (ReLU, he_normal,
    L2 5e-4)."""
    if maps.allowed(x, 2) == 2:
        padding = "same" if maps.ceil else "valid"
        out = layers.MaxPooling2D(2, strides=2, padding=padding, name="block5_pool")(x)
        return maps.mark(out, maps.stride(x) * 2)
    stride = maps.stride(x)
    conv = dict(activation="relu", kernel_initializer="he_normal", kernel_regularizer=l2(SSD_L2))
    x = layers.MaxPooling2D(3, strides=1, padding="same", name="pool5")(x)
    x = DilatedConv2D(filters(1024, width), 3, dilation_rate=6, padding="same", name="fc6",
                      **conv)(x)
    x = layers.Conv2D(filters(1024, width), 1, name="fc7", **conv)(x)
    return maps.mark(x, stride)


@register_backbone("vgg16", inputs="rgb", description="VGG16 on RGB (keras.applications layout)")
def _vgg16_backbone(inputs, width, maps):
    x = inputs[0]
    for block, (convs, n) in enumerate([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)], 1):
        x = vgg_block(x, block, convs, filters(n, width), pool=block < 5, maps=maps)
    return _top(x, width, maps)


def _y_trunk(y, width, maps):
    """BN on Y -> Conv 3x3 256 (stands for VGG blocks 1-3) -> block4 -> pool: stride 16."""
    x = maps.mark(input_norm(y, "bn_y"), 8)
    x = layers.Conv2D(filters(256, width), 3, padding="same", activation="relu",
                      kernel_regularizer=keras.regularizers.L2(5e-4), name="block3_conv_dct")(x)
    return vgg_block(maps.mark(x, 8), 4, 3, filters(512, width), maps=maps)


@register_backbone("vgg16_dct", inputs="y_cbcr",
                   description="VGG-DCT: Y at stride 8, CbCr joins at stride 16")
def _vgg16_dct_backbone(inputs, width, maps):
    y, cbcr = inputs
    x = _y_trunk(y, width, maps)
    c = input_norm(cbcr, "bn_cbcr")
    x = maps.mark(layers.Concatenate(name="concat_y_cbcr")([x, c]), 16)
    x = vgg_block(x, 5, 3, filters(512, width), pool=False, maps=maps)
    return _top(x, width, maps)


@register_backbone("vgg16_dct_y", inputs="y", description="VGG-DCT Y: luminance only")
def _vgg16_dct_y_backbone(inputs, width, maps):
    x = _y_trunk(inputs[0], width, maps)
    x = vgg_block(x, 5, 3, filters(512, width), pool=False, maps=maps)
    return _top(x, width, maps)


@register_backbone("vgg16_dct_deconv", inputs="y_cb_cr",
                   description="VGG-DCT Deconvolution: Cb, Cr upsampled by learned 2x2 "
                   "transposed convs")
def _vgg16_dct_deconv_backbone(inputs, width, maps):
    """The pool after block4 takes ``block4_conv3`` (as every VGG): the reference SSD of this
    network pooled ``block4_conv2`` instead, so its ``block4_conv3`` fed only the stride-8 head;
    here it feeds block5 too."""
    y, cb, cr = inputs
    up = dict(strides=2, padding="valid", kernel_regularizer=keras.regularizers.L2(5e-4))
    cb_up = layers.Conv2DTranspose(64, 2, name="deconv_cb", **up)(cb)
    cr_up = layers.Conv2DTranspose(64, 2, name="deconv_cr", **up)(cr)
    x = layers.Concatenate(name="concat_y_cb_cr")([y, cb_up, cr_up])
    x = maps.mark(input_norm(x, "bn_y_cb_cr"), 8)
    x = vgg_block(x, 4, 3, filters(512, width), maps=maps)
    x = vgg_block(x, 5, 3, filters(512, width), pool=False, maps=maps)
    return _top(x, width, maps)


_FAMILY = [
    ("vgg16", "rgb", "VGG16 on RGB (keras.applications layout)"),
    ("vgg16_dct", "y_cbcr", "VGG-DCT: Y at stride 8, CbCr joins at stride 16"),
    ("vgg16_dct_y", "y", "VGG-DCT Y: luminance only"),
    ("vgg16_dct_deconv", "y_cb_cr",
     "VGG-DCT Deconvolution: Cb, Cr upsampled by learned 2x2 transposed convs"),
]


def _register_family():
    for name, kind, description in _FAMILY:
        for conv in (False, True):
            default_size = 224 if not conv else None

            def builder(classes=1000, input_size=default_size, weights=None, width=1.0,
                        classifier_activation="softmax", train_input_size=224, dropout=0.5,
                        _name=name, _conv=conv):
                inputs, maps = backbone(_name, input_size, width=width)
                out = _head(maps["last"], classes, width, _conv, train_input_size,
                            classifier_activation, dropout)
                return _finish(inputs, out, _name + ("_conv" if _conv else ""), weights)

            builder.__name__ = name + ("_conv" if conv else "")
            builder.__doc__ = description + (
                " -- fully convolutional inference version" if conv else "")
            register(builder.__name__, inputs=kind, description=builder.__doc__,
                     fully_convolutional=conv, backbone=name)(builder)


_register_family()
