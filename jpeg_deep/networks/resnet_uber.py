"""The ResNet-50 variants of Gueguen et al. as drawn in the Uber block diagrams ([U]), and their
ablations (learned / fixed DCT stems, thinner and shorter RGB baselines).

These are the default versions of the networks where [U] and [D] disagree: the [D]-code
versions are registered by ``resnet`` with the suffix ``_dcode``. BN and ReLU are not drawn in
the diagrams; following [D], every DCT input stream starts with a BatchNormalization (once after
the merge when the streams merge at the input). Parameter counts of networks without a † in the
papers are our own (see ``tests/networks/test_registry.py``).
"""
from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers

from jpeg_deep.dct import dct_matrix
from jpeg_deep.networks.resnet import (
    Block, apply_blocks, chroma_rows, conv5_stage, conv_bn_relu, early_merge, late_concat,
    lc_rfa_y_rows, network, norm, resnet50_blocks, resnet_stem, rfa_stage, stage,
    upsampling_trunk,
)

# ---------------------------------------------------------------------------------------------
# 4.2 DCT variants


@network("upsampling", "y_cb_cr", "[U] UpSampling: Cb, Cr nearest 2x up, concat, res3-res5")
def _upsampling(inputs, width, maps):
    """13 blocks: concat 28x28x192 -> BN -> res3 CB s1 + 3 IB -> res4 -> res5."""
    return apply_blocks(early_merge(*inputs, "nearest", maps), upsampling_trunk(rfa=False),
                        width, maps)


@network("upsampling_rfa", "y_cb_cr", "[U] UpSampling-RFA: UpSampling with the RFA blocks")
def _upsampling_rfa(inputs, width, maps):
    """16 blocks: concat 28x28x192 -> BN -> RFA (k=1,2,3) -> res3 s1 -> res4 -> res5."""
    return apply_blocks(early_merge(*inputs, "nearest", maps), upsampling_trunk(), width, maps)


@network("downsampling", "y_cb_cr", "[U] DownSampling: Y 2x2/2 conv to 14x14, concat chroma")
def _downsampling(inputs, width, maps):
    """BN(Y) -> ``conv_y`` 2x2/2 256 (+BN, ReLU: our choice, not drawn); BN(Cb), BN(Cr);
    concat 14x14x384 -> RFA -> res3 s1 -> res4 **s1** -> res5 s2 (16 blocks)."""
    y, cb, cr = inputs
    y = conv_bn_relu(maps.mark(norm(y, "bn_y"), 8), 256, 2, 2, "conv_y")
    x = layers.Concatenate(name="concat_y_cb_cr")([y, norm(cb, "bn_cb"), norm(cr, "bn_cr")])
    rows = (rfa_stage((256, 256, 1024)) + stage("conv3", (128, 128, 512), 4, strides=1)
            + stage("conv4", (256, 256, 1024), 6, strides=1) + conv5_stage())
    return apply_blocks(maps.mark(x, 16), rows, width, maps)


@network("late_concat", "y_cbcr", "[U] Late-Concat: Y res3 + CB s2 to 14x14, chroma CB k=1")
def _late_concat(inputs, width, maps):
    """Y: res3 CB s1 + 3 IB -> CB(3,[256,256,512],2); CbCr: CB(1,[256,256,512],1);
    concat 1024 -> res4b-f -> res5 (14 blocks)."""
    y_rows = (stage("conv3", (128, 128, 512), 4, strides=1)
              + [Block("y_conv4_block1", 3, (256, 256, 512), 2, True)])
    return late_concat(*inputs, y_rows, chroma_rows((256, 256, 512)), width, maps)


@network("late_concat_rfa", "y_cbcr",
         "LC-RFA as drawn in [U]; 28,141,800 params")
def _late_concat_rfa(inputs, width, maps):
    """Y: RFA [256,256,1024] -> res3 [128,128,512] -> CB(3,[256,256,512],2);
    CbCr: CB(1,[256,256,512],1) (the [D] code uses 128 for both first widths)."""
    y_rows = lc_rfa_y_rows((256, 256, 1024), (128, 128, 512), (256, 256, 512))
    return late_concat(*inputs, y_rows, chroma_rows((256, 256, 512)), width, maps)


@network("late_concat_rfa_thinner", "y_cbcr",
         "LC-RFA-Thinner as drawn in [U]; 24,759,080 params")
def _late_concat_rfa_thinner(inputs, width, maps):
    """Y: RFA [96,96,384] -> res3-like [96,96,384] -> CB(3,[192,192,768],2);
    CbCr: CB(1,[128,128,256],1); concat 768 + 256."""
    y_rows = lc_rfa_y_rows((96, 96, 384), (96, 96, 384), (192, 192, 768))
    return late_concat(*inputs, y_rows, chroma_rows((128, 128, 256)), width, maps)


# ---------------------------------------------------------------------------------------------
# 4.3 Learned / fixed DCT ablations: RGB -> YCbCr -> 8x8 "DCT" convolutions inside the network

# JFIF RGB -> YCbCr (centred on 0: the JPEG level shift of 128 is applied to every plane).
_RGB_TO_YCBCR = np.array([[0.299, 0.587, 0.114],
                          [-0.168736, -0.331264, 0.5],
                          [0.5, -0.418688, -0.081312]], dtype="float32")
_CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype="float32")


def dct_basis(n=8):
    """Conv kernel ``(n, n, 1, n*n)`` of the orthonormal 2-D DCT-II, channel ``n*v + u``
    (v vertical, u horizontal frequency: the jpeg2dct natural order)."""
    c = dct_matrix(n)
    basis = np.einsum("vi,uj->ijvu", c, c).reshape(n, n, 1, n * n)
    return basis.astype("float32")


@keras.saving.register_keras_serializable(package="jpeg_deep")
class KernelOrthogonality(keras.regularizers.OrthogonalRegularizer):
    """``OrthogonalRegularizer`` (columns) for a convolution kernel: the kernel is seen as a
    ``(kh*kw*cin, filters)`` matrix whose filters are pushed towards orthogonality."""

    def __init__(self, factor=0.01, mode="columns"):
        super().__init__(factor=factor, mode=mode)

    def __call__(self, kernel):
        return super().__call__(keras.ops.reshape(kernel, (-1, kernel.shape[-1])))


def _ycbcr_planes(rgb):
    """Caffe-preprocessed BGR input (the ``rgb`` input kind) -> Y, Cb, Cr planes (level-shifted
    by -128), by three fixed 1x1 convolutions ``to_y``, ``to_cb``, ``to_cr``."""
    planes = []
    bgr_to_rgb = np.eye(3, dtype="float32")[::-1]
    for name, row in zip(("to_y", "to_cb", "to_cr"), _RGB_TO_YCBCR):
        kernel = bgr_to_rgb @ row             # weights on the B, G, R channels
        bias = kernel @ _CAFFE_MEAN_BGR - (128.0 if name == "to_y" else 0.0)
        conv = layers.Conv2D(1, 1, name=name, trainable=False)
        plane = conv(rgb)
        conv.set_weights([kernel.reshape(1, 1, 3, 1), np.array([bias], dtype="float32")])
        planes.append(plane)
    return planes


def _dct_conv(x, name, strides, mode):
    """8x8 convolution, 64 filters, no bias, initialised to the DCT basis. ``mode``: "frozen"
    (not trainable), "learn" (trainable), "ortho" (trainable, orthogonality regulariser)."""
    reg = KernelOrthogonality(0.01) if mode == "ortho" else None
    conv = layers.Conv2D(64, 8, strides=strides, padding="valid", use_bias=False,
                         kernel_regularizer=reg, trainable=mode != "frozen", name=name)
    out = conv(x)
    conv.set_weights([dct_basis()])
    return out


def _dct_ablation(mode):
    def impl(inputs, width, maps):
        y, cb, cr = _ycbcr_planes(inputs[0])
        y = maps.mark(_dct_conv(y, "conv_y", 8, mode), 8)
        chroma = []
        for plane, c in (("cb", cb), ("cr", cr)):
            c = layers.AveragePooling2D(2, name=f"pool_{plane}")(c)
            c = _dct_conv(c, f"conv_{plane}", 8, mode)
            chroma.append(c)
        return apply_blocks(early_merge(y, *chroma, "nearest", maps), upsampling_trunk(), width,
                            maps)

    impl.__doc__ = (
        "RGB -> YCbCr planes (fixed) -> ``conv_y`` 8x8/8 64 on Y; Cb, Cr average-pooled 2x2/2 ->"
        " 8x8/8 64 -> nearest 2x up; concat 28x28x192 -> BN -> UpSampling-RFA trunk. The stem"
        " convs start as the DCT basis; how Frozen / Learn / Ortho train them is our"
        " interpretation of the names (the three [U] diagrams are identical).")
    return impl


network("dct_frozen", "rgb", "[U] DCT-Frozen: RGB, fixed 8x8 DCT stem convs (interpretation)")(
    _dct_ablation("frozen"))
network("dct_learn", "rgb", "[U] DCT-Learn: RGB, DCT-initialised trainable stem (interpretation)")(
    _dct_ablation("learn"))
network("dct_ortho", "rgb",
        "[U] DCT-Ortho: RGB, DCT-initialised stem with orthogonality penalty (interpretation)")(
    _dct_ablation("ortho"))


@network("dct_frozen_x2", "rgb", "[U] DCT-Frozenx2: fixed 8x8/4 DCT convs, 55x55, baseline trunk")
def _dct_frozen_x2(inputs, width, maps):
    """Y, Cb, Cr full-resolution planes -> frozen DCT 8x8/4 valid, 64 each -> concat 55x55x192
    -> BN -> baseline res2 (s1) ... res5."""
    planes = _ycbcr_planes(inputs[0])
    convs = [_dct_conv(p, f"conv_{n}", 4, "frozen") for n, p in zip(("y", "cb", "cr"), planes)]
    x = norm(layers.Concatenate(name="concat_y_cb_cr")(convs), "bn_y_cb_cr")
    return apply_blocks(maps.mark(x, 4), resnet50_blocks(), width, maps)


# ---------------------------------------------------------------------------------------------
# 4.4 Channels-Div and 4.5 LessIdBlocks: RGB baselines with the [U] stem (unpadded pool, 55x55)

CHANNEL_DIVISORS = {"1_1": 1.1, "sqrt2": math.sqrt(2.0), "2": 2.0}


def _channels_div(divisor):
    def impl(inputs, width, maps):
        widths = [(int(f1 / divisor), int(f3 / divisor))
                  for f1, f3 in ((64, 256), (128, 512), (256, 1024), (512, 2048))]
        x = resnet_stem(inputs[0], maps, padded_pool=False)
        return apply_blocks(x, resnet50_blocks(widths), width, maps)

    impl.__doc__ = "Every bottleneck width divided by the divisor and floored; conv1 keeps 64."
    return impl


for _key, _div in CHANNEL_DIVISORS.items():
    network(f"channels_div_{_key}", "rgb",
            f"[U] Channels-Div{_div:.4g}: RGB ResNet-50 with widths / {_div:.4g}")(
        _channels_div(_div))

# blocks of res2 and res3 kept by LessIdBlocks-N; res4 and res5 are always complete.
LESS_ID_BLOCKS = {
    2: ((1,), (1, 2, 3, 4)),
    3: ((), (1, 2, 3, 4)),
    4: ((), (1, 3, 4)),
    5: ((), (1, 4)),
    6: ((), (1,)),
}


def _less_id_blocks(res2, res3):
    def impl(inputs, width, maps):
        rows = stage("conv2", (64, 64, 256), 3, strides=1, keep=res2)
        rows += stage("conv3", (128, 128, 512), 4, keep=res3)
        rows += stage("conv4", (256, 256, 1024), 6) + conv5_stage()
        return apply_blocks(resnet_stem(inputs[0], maps, padded_pool=False), rows, width, maps)

    impl.__doc__ = ("[U] baseline with identity blocks removed from the front; kept blocks keep"
                    " their keras.applications names.")
    return impl


for _n, (_res2, _res3) in LESS_ID_BLOCKS.items():
    network(f"less_id_blocks_{_n}", "rgb",
            f"[U] LessIdBlocks-{_n}: RGB ResNet-50 with {_n} blocks removed from the front")(
        _less_id_blocks(_res2, _res3))
