"""Building blocks shared by every family: inputs, VGG stacks and heads, ResNet bottlenecks.

Layer names follow ``keras.applications`` (``block4_conv1``, ``conv4_block2_1_conv``, ``fc1``)
wherever a layer plays the same role, so ImageNet weights transfer by name.
"""
from __future__ import annotations

import keras
from keras import layers, regularizers


def pixel_size(input_size):
    """``224`` / ``(224, 224)`` / ``None`` -> ``(h, w)`` with ``None`` for a variable axis."""
    if input_size is None:
        return None, None
    if isinstance(input_size, int):
        return input_size, input_size
    h, w = input_size
    return h, w


def _scaled(size, factor, name, exact=True):
    if size is None:
        return None
    if exact and size % factor:
        raise ValueError(
            f"input_size {size} must be a multiple of {factor} pixels for {name} inputs"
        )
    return -(-size // factor)


#: stride (pixels per cell) of each input of an input kind, in model order
INPUT_STRIDES = {"rgb": (1,), "y": (8,), "y_cbcr": (8, 16), "y_cb_cr": (8, 16, 16)}


def make_inputs(kind: str, input_size=224, *, exact=True):
    """Keras ``Input`` layers of one input kind (see ``registry.INPUT_KINDS``), in model order.

    ``exact``: a DCT input size must be a multiple of 16 pixels. Otherwise the chroma grid is
    ``ceil(S / 16)`` and the Y grid twice that (the data layout pads Y to twice the chroma grid:
    300 px -> Y 38, chroma 19)."""
    h, w = pixel_size(input_size)
    if kind == "rgb":
        return [keras.Input((h, w, 3), name="rgb")]
    ch, cw = _scaled(h, 16, "DCT", exact), _scaled(w, 16, "DCT", exact)
    yh, yw = (None if ch is None else 2 * ch), (None if cw is None else 2 * cw)
    y = keras.Input((yh, yw, 64), name="y")
    if kind == "y":
        return [y]
    if kind == "y_cbcr":
        return [y, keras.Input((ch, cw, 128), name="cbcr")]
    if kind == "y_cb_cr":
        return [y, keras.Input((ch, cw, 64), name="cb"), keras.Input((ch, cw, 64), name="cr")]
    raise ValueError(f"unknown input kind {kind!r}")


class FeatureMaps(dict):
    """The named maps of a backbone, filled while it is built: ``"stride{N}"`` is the deepest
    map at stride N (pixels per cell), ``"last"`` the last one.

    ``output_stride``: the largest stride the backbone may reach (32 for classifiers, 16 for
    SSD); ``ceil``: pooling rounds sizes up (``"same"`` padding) so any input size gives
    ``ceil(S / stride)`` grids. Builders call :meth:`mark` on every map they make (the blocks
    helpers do it for their rows) and :meth:`allowed` before a reducing layer.
    """

    def __init__(self, output_stride=32, ceil=False):
        super().__init__()
        self.output_stride = output_stride
        self.ceil = ceil
        self._strides = {}

    def mark(self, x, stride):
        self._strides[id(x)] = (x, stride)
        self[f"stride{stride}"] = x
        return x

    def stride(self, x):
        try:
            return self._strides[id(x)][1]
        except KeyError:
            raise ValueError("a backbone map was not marked with its stride") from None

    def allowed(self, x, factor):
        """``factor`` if reducing ``x`` by it stays within ``output_stride``, else 1."""
        return factor if self.stride(x) * factor <= self.output_stride else 1

    def strides(self):
        return sorted(int(k[6:]) for k in self if k.startswith("stride"))


def l2(value):
    return regularizers.L2(value) if value else None


def filters(n, width):
    """Scale a filter count by a width multiplier, never below 8."""
    return max(8, int(round(n * width)))


# ---------------------------------------------------------------------------------------------
# VGG


def vgg_block(x, block: int, convs: int, n_filters: int, *, l2_reg=5e-4, pool=True, start=1,
              maps=None):
    """``convs`` 3x3 "same" ReLU convolutions ``block{block}_conv{i}`` then (``pool``) a 2x2/2
    max-pool ``block{block}_pool``; with ``maps`` the maps are marked with their strides and the
    pool rounds up when ``maps.ceil``."""
    stride = maps.stride(x) if maps is not None else None
    for i in range(start, start + convs):
        x = layers.Conv2D(
            n_filters, 3, padding="same", activation="relu",
            kernel_regularizer=l2(l2_reg), name=f"block{block}_conv{i}",
        )(x)
    if maps is not None:
        maps.mark(x, stride)
    if pool:
        padding = "same" if maps is not None and maps.ceil else "valid"
        x = layers.MaxPooling2D(2, strides=2, padding=padding, name=f"block{block}_pool")(x)
        if maps is not None:
            maps.mark(x, stride * 2)
    return x


def output_dtype():
    """The dtype of a classifier's last layer: float32 under a mixed-precision policy (the
    probabilities, hence the loss, keep float32 precision), else the global policy."""
    policy = keras.mixed_precision.global_policy()
    return "float32" if policy.compute_dtype != policy.variable_dtype else None


def vgg_dense_head(x, classes, *, units=4096, l2_reg=5e-4, dropout=0.5,
                   classifier_activation="softmax"):
    """Flatten -> fc1 (4096, ReLU, L2 5e-4) -> dropout 0.5 -> fc2 (idem) -> dropout 0.5 ->
    predictions (softmax, no regulariser)."""
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(units, activation="relu", kernel_regularizer=l2(l2_reg), name="fc1")(x)
    x = layers.Dropout(dropout, name="drop1")(x)
    x = layers.Dense(units, activation="relu", kernel_regularizer=l2(l2_reg), name="fc2")(x)
    x = layers.Dropout(dropout, name="drop2")(x)
    return layers.Dense(classes, activation=classifier_activation, name="predictions",
                        dtype=output_dtype())(x)


def vgg_conv_head(x, classes, *, units=4096, kernel=7, classifier_activation="softmax"):
    """Fully convolutional head: the dense layers as convolutions (fc1 ``kernel`` x ``kernel``
    valid, fc2 and predictions 1x1, no dropout), a
    probability per window, then their average. Same names as the dense head, so a trained
    classifier's fc1/fc2/predictions weights reshape into it."""
    x = layers.Conv2D(units, kernel, padding="valid", activation="relu", name="fc1")(x)
    x = layers.Conv2D(units, 1, activation="relu", name="fc2")(x)
    x = layers.Conv2D(classes, 1, activation=classifier_activation, name="predictions",
                      dtype=output_dtype())(x)
    return layers.GlobalAveragePooling2D(name="avg_predictions")(x)


# ---------------------------------------------------------------------------------------------
# ResNet bottlenecks (Caffe / v1 style: the stride sits on the first 1x1 convolution)


def _conv_bn(x, n_filters, kernel, strides, name, *, l2_reg, bn_momentum, bn_epsilon, relu):
    x = layers.Conv2D(
        n_filters, kernel, strides=strides, padding="same",
        kernel_initializer="he_normal", kernel_regularizer=l2(l2_reg), name=name + "_conv",
    )(x)
    x = layers.BatchNormalization(momentum=bn_momentum, epsilon=bn_epsilon, name=name + "_bn")(x)
    return layers.Activation("relu", name=name + "_relu")(x) if relu else x


def bottleneck(x, kernel: int, widths, name: str, *, strides=1, shortcut=False,
               l2_reg=5e-5, bn_momentum=0.9, bn_epsilon=1e-5):
    """ResNet bottleneck ``name`` (e.g. ``conv4_block1``), keras.applications layer names.

    ``shortcut=True`` makes a conv block CB(kernel, widths, strides) with a projection
    (``<name>_0_conv``); otherwise an identity block IB(kernel, widths).
    """
    f1, f2, f3 = widths
    kw = dict(l2_reg=l2_reg, bn_momentum=bn_momentum, bn_epsilon=bn_epsilon)
    if shortcut:
        short = _conv_bn(x, f3, 1, strides, name + "_0", relu=False, **kw)
    else:
        if strides != 1:
            raise ValueError("an identity block cannot have a stride")
        short = x
    y = _conv_bn(x, f1, 1, strides, name + "_1", relu=True, **kw)
    y = _conv_bn(y, f2, kernel, 1, name + "_2", relu=True, **kw)
    y = _conv_bn(y, f3, 1, 1, name + "_3", relu=False, **kw)
    y = layers.Add(name=name + "_add")([short, y])
    return layers.Activation("relu", name=name + "_out")(y)


def resnet_stage(x, stage: int, widths, blocks: int, *, strides=2, kernel=3, first=1, **kw):
    """A conv block then ``blocks - 1`` identity blocks, named ``conv{stage}_block{i}``."""
    x = bottleneck(x, kernel, widths, f"conv{stage}_block{first}", strides=strides,
                   shortcut=True, **kw)
    for i in range(first + 1, first + blocks):
        x = bottleneck(x, kernel, widths, f"conv{stage}_block{i}", **kw)
    return x


def input_norm(x, name, **bn):
    """The learned normalisation every DCT network starts with: a BatchNormalization on the raw
    (de-quantised, unnormalised) coefficients."""
    return layers.BatchNormalization(name=name, **bn)(x)
