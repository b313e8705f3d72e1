"""ResNet50 (RGB) and the ResNet-DCT networks of Deguerre et al., [D]-code versions; the machinery
every ResNet family module shares.

A network is written as *block tables*: lists of ``Block`` rows (name, middle kernel, widths,
stride, conv or identity block) that ``apply_blocks`` turns into layers, one bottleneck per row,
so each builder reads like the spec's table. Stages a network shares with ResNet50 keep the
keras.applications names (``conv3_block2``, ``conv4_block3``, ``conv5_block1``...) so ImageNet
weights transfer by name wherever the shapes match; blocks with no ResNet50 counterpart get their
own names (``rfa_block1..3`` for the receptive-field-aware blocks, ``y_conv4_block1`` /
``cbcr_conv4_block1`` for the per-stream blocks that end at stride 16).

Each network is registered twice from one definition: its backbone (``register_backbone``:
``impl(inputs, width, maps)``, every block output marked with its stride, so ``stride8``,
``stride16``... and ``last`` come for free) and the classifier built on it (GAP -> Dense).
With ``output_stride=16`` (SSD) a block that would take the map to stride 32 keeps stride 1:
stage 5 then runs at stride 16 (19x19 at 300 px), as in SSD300 on ResNets.

Every classifier builder takes ``classes``, ``input_size`` (pixels: int, ``(h, w)``, or ``None``
for any size: global average pooling makes every ResNet fully convolutional), ``weights`` (a local
file, transferred by layer name), ``width`` (multiplies every bottleneck width; 1.0 is the
paper) and ``classifier_activation``.

Where [D]'s code and [U]'s diagrams disagree, the plain name is the [U] diagram version
(``resnet_uber``) and the [D]-code version carries the suffix ``_dcode``
(``late_concat_rfa_dcode``, ``late_concat_rfa_thinner_dcode``). The Y-only networks exist only
in [D] and keep their [D] names. ``deconvolution_rfa`` is identical in both. The [D]-code and
[U] versions differ only in the widths of the LC-RFA Y stride-2 block and chroma block
([D] [128,128,512], [U] [256,256,512]) and, for the Thinner version, the Y blocks ([D] RFA
[256,256,384], res3-like [128,128,384], stride-2 [128,128,768]; [U] [96,96,384], [96,96,384],
[192,192,768]).
"""
from __future__ import annotations

from typing import NamedTuple

import keras
from keras import layers

from jpeg_deep.networks.blocks import bottleneck, filters, input_norm, l2, output_dtype
from jpeg_deep.networks.registry import backbone, register, register_backbone

RESNET_BN = dict(momentum=0.9, epsilon=1e-5)
L2_REG = 5e-5


class Block(NamedTuple):
    """One row of a block table: CB(kernel, widths, strides) if ``conv`` else IB(kernel, widths)."""
    name: str
    kernel: int
    widths: tuple
    strides: int = 1
    conv: bool = False


def stage(prefix, widths, blocks, *, strides=2, kernels=3, first=1, keep=None):
    """Rows ``{prefix}_block{first}`` .. : a conv block then identity blocks.

    ``kernels`` is one middle kernel for all blocks or one per block (RFA: ``(1, 2, 3)``);
    ``keep`` (block numbers) drops the others but keeps the names of the kept ones.
    """
    kernels = [kernels] * blocks if isinstance(kernels, int) else list(kernels)
    rows = []
    for i, k in enumerate(kernels):
        n = first + i
        if keep is not None and n not in keep:
            continue
        conv = not rows  # the first kept block projects its shortcut
        rows.append(Block(f"{prefix}_block{n}", k, tuple(widths), strides if conv else 1, conv))
    return rows


def rfa_stage(widths, prefix="rfa"):
    """[D]/[U] receptive-field-aware blocks: CB(1, w, 1), IB(2, w), IB(3, w) at stride 8."""
    return stage(prefix, widths, 3, strides=1, kernels=(1, 2, 3))


def conv4_trunk():
    """res4b-f: the five identity blocks every late-concat network merges into."""
    return stage("conv4", (256, 256, 1024), 6)[1:]


def conv5_stage():
    return stage("conv5", (512, 512, 2048), 3)


def apply_blocks(x, rows, width=1.0, maps=None):
    """One bottleneck per row. With ``maps`` (a ``FeatureMaps``) each block output is marked
    with its stride, and a block that would exceed ``maps.output_stride`` gets stride 1."""
    for row in rows:
        widths = [filters(f, width) for f in row.widths]
        strides = row.strides if maps is None else maps.allowed(x, row.strides)
        stride = None if maps is None else maps.stride(x) * strides
        x = bottleneck(x, row.kernel, widths, row.name, strides=strides, shortcut=row.conv,
                       l2_reg=L2_REG, bn_momentum=RESNET_BN["momentum"],
                       bn_epsilon=RESNET_BN["epsilon"])
        if maps is not None:
            maps.mark(x, stride)
    return x


def norm(x, name):
    """The learned input normalisation of ResNet-DCT networks (BN momentum 0.9, eps 1e-5)."""
    return input_norm(x, name, **RESNET_BN)


def conv_bn_relu(x, n_filters, kernel, strides, name, padding="same"):
    x = layers.Conv2D(n_filters, kernel, strides=strides, padding=padding,
                      kernel_initializer="he_normal", kernel_regularizer=l2(L2_REG),
                      name=name + "_conv")(x)
    x = layers.BatchNormalization(name=name + "_bn", **RESNET_BN)(x)
    return layers.Activation("relu", name=name + "_relu")(x)


def head(x, classes, classifier_activation="softmax"):
    """GAP -> Dense ``classes`` (L2 5e-5), the keras.applications names."""
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return layers.Dense(classes, activation=classifier_activation,
                        kernel_regularizer=l2(L2_REG), name="predictions",
                        dtype=output_dtype())(x)


def finish(inputs, x, name, classes, weights, classifier_activation):
    model = keras.Model(inputs, head(x, classes, classifier_activation), name=name)
    if weights is not None:
        from jpeg_deep.networks.weights import load_weights

        load_weights(model, weights)
    return model


def resnet_stem(x, maps, padded_pool=True):
    """conv1 7x7/2 64 -> BN -> ReLU -> max-pool 3x3/2: 224 -> 112 -> 56 ([D], keras.applications,
    ``padded_pool``; 300 -> 150 -> 75) or 55 ([U] baseline, unpadded pool)."""
    x = layers.ZeroPadding2D(3, name="conv1_pad")(x)
    x = layers.Conv2D(64, 7, strides=2, kernel_initializer="he_normal",
                      kernel_regularizer=l2(L2_REG), name="conv1_conv")(x)
    x = layers.BatchNormalization(name="conv1_bn", **RESNET_BN)(x)
    x = maps.mark(layers.Activation("relu", name="conv1_relu")(x), 2)
    if padded_pool:
        x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    return maps.mark(layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x), 4)


def resnet50_blocks(widths=((64, 256), (128, 512), (256, 1024), (512, 2048))):
    """Stages 2-5 of ResNet-50 (3, 4, 6, 3 blocks); ``widths`` = (f1, f3) per stage, f2 = f1."""
    rows = []
    for n, ((f1, f3), blocks) in enumerate(zip(widths, (3, 4, 6, 3)), 2):
        rows += stage(f"conv{n}", (f1, f1, f3), blocks, strides=1 if n == 2 else 2)
    return rows


def network(name, kind, description):
    """Register ``impl(inputs, width, maps) -> last map`` as the backbone ``name`` and, on it,
    the classifier ``name`` with the common signature."""

    def decorator(impl):
        register_backbone(name, inputs=kind, description=description)(impl)

        def builder(classes=1000, input_size=224, weights=None, width=1.0,
                    classifier_activation="softmax"):
            inputs, maps = backbone(name, input_size, width=width)
            return finish(inputs, maps["last"], name, classes, weights, classifier_activation)

        builder.__name__ = name
        builder.__doc__ = f"{description}\n\n{impl.__doc__ or ''}"
        register(name, inputs=kind, description=description, backbone=name)(builder)
        return impl

    return decorator


# ---------------------------------------------------------------------------------------------
# 3.6 ResNet50 (RGB), 25,636,712 params, same layers and names as keras.applications.ResNet50


@network("resnet50", "rgb", "ResNet-50 on RGB, keras.applications layout (padded max-pool, 56x56)")
def _resnet50(inputs, width, maps):
    return apply_blocks(resnet_stem(inputs[0], maps), resnet50_blocks(), width, maps)


# ---------------------------------------------------------------------------------------------
# Late-concat RFA family: a Y stream to stride 16, a chroma block, concat, res4b-f, res5.


def late_concat(y, cbcr, y_rows, cbcr_rows, width, maps):
    """BN per stream -> its blocks -> Concat [Y, CbCr] -> res4b-f -> res5."""
    x = apply_blocks(maps.mark(norm(y, "bn_y"), 8), y_rows, width, maps)
    if cbcr is not None:
        c = apply_blocks(maps.mark(norm(cbcr, "bn_cbcr"), 16), cbcr_rows, width, maps)
        x = maps.mark(layers.Concatenate(name="concat_y_cbcr")([x, c]), maps.stride(x))
    return apply_blocks(x, conv4_trunk() + conv5_stage(), width, maps)


def lc_rfa_y_rows(rfa, res3, down):
    """Y stream: RFA blocks (widths ``rfa``), res3-like CB s1 + 3 IB (``res3``), then the
    stride-2 conv block ``y_conv4_block1`` (``down``)."""
    return (rfa_stage(rfa) + stage("conv3", res3, 4, strides=1)
            + [Block("y_conv4_block1", 3, tuple(down), 2, True)])


def chroma_rows(widths):
    return [Block("cbcr_conv4_block1", 1, tuple(widths), 1, True)]


@network("late_concat_rfa_dcode", "y_cbcr",
         "LC-RFA, [D]-code widths; 27,434,728 params")
def _lc_rfa_dcode(inputs, width, maps):
    """Y: RFA [256,256,1024] -> res3 [128,128,512] s1 -> CB(3,[128,128,512],2);
    CbCr: CB(1,[128,128,512],1); concat 1024 at 14x14."""
    y_rows = lc_rfa_y_rows((256, 256, 1024), (128, 128, 512), (128, 128, 512))
    return late_concat(*inputs, y_rows, chroma_rows((128, 128, 512)), width, maps)


@network("late_concat_rfa_thinner_dcode", "y_cbcr",
         "LC-RFA-Thinner, [D]-code widths; 25,968,744 params")
def _lc_rfa_thinner_dcode(inputs, width, maps):
    """Y: RFA [256,256,384] -> res3 [128,128,384] s1 -> CB(3,[128,128,768],2);
    CbCr: CB(1,[128,128,256],1); concat 768 + 256."""
    y_rows = lc_rfa_y_rows((256, 256, 384), (128, 128, 384), (128, 128, 768))
    return late_concat(*inputs, y_rows, chroma_rows((128, 128, 256)), width, maps)


@network("late_concat_rfa_y", "y",
         "LC-RFA on luminance only, [D]; 27,596,776 params")
def _lc_rfa_y(inputs, width, maps):
    """Y stream of LC-RFA [D] whose stride-2 block outputs 1024 channels; no chroma."""
    y_rows = lc_rfa_y_rows((256, 256, 1024), (128, 128, 512), (128, 128, 1024))
    return late_concat(inputs[0], None, y_rows, None, width, maps)


@network("late_concat_rfa_y_thinner", "y",
         "LC-RFA-Thinner on luminance only, [D]; 25,999,720 params")
def _lc_rfa_y_thinner(inputs, width, maps):
    """Y stream of LC-RFA-Thinner [D] whose stride-2 block outputs 1024 channels; no chroma."""
    y_rows = lc_rfa_y_rows((256, 256, 384), (128, 128, 384), (128, 128, 1024))
    return late_concat(inputs[0], None, y_rows, None, width, maps)


# ---------------------------------------------------------------------------------------------
# 3.10 Deconvolution-RFA ([D] and [U] agree), 28,434,280 params


def early_merge(y, cb, cr, upsample, maps):
    """Cb, Cr 2x up (``upsample``: "deconv" learned 2x2/2 transposed convs, 64 filters, L2 5e-5;
    "nearest" non-learned) -> Concat [Y, Cb, Cr] -> BN: 28x28x192."""
    if upsample == "deconv":
        up = dict(strides=2, padding="valid", kernel_initializer="he_normal",
                  kernel_regularizer=l2(L2_REG))
        cb = layers.Conv2DTranspose(64, 2, name="conv_cb_upsample", **up)(cb)
        cr = layers.Conv2DTranspose(64, 2, name="conv_cr_upsample", **up)(cr)
    else:
        cb = layers.UpSampling2D(2, name="cb_upsample")(cb)
        cr = layers.UpSampling2D(2, name="cr_upsample")(cr)
    x = layers.Concatenate(name="concat_y_cb_cr")([y, cb, cr])
    return maps.mark(norm(x, "bn_y_cb_cr"), 8)


def upsampling_trunk(rfa=True):
    """[RFA blocks] -> res3 CB s1 + 3 IB -> res4 (s2) -> res5 (s2), from a 28x28 map."""
    rows = rfa_stage((256, 256, 1024)) if rfa else []
    rows += stage("conv3", (128, 128, 512), 4, strides=1)
    return rows + stage("conv4", (256, 256, 1024), 6) + conv5_stage()


@network("deconvolution_rfa", "y_cb_cr",
         "Deconvolution-RFA, [D] = [U]; 28,434,280 params")
def _deconvolution_rfa(inputs, width, maps):
    """Cb, Cr learned 2x up -> concat with Y -> BN -> RFA -> res3 s1 -> res4 -> res5."""
    return apply_blocks(early_merge(*inputs, "deconv", maps), upsampling_trunk(), width, maps)
