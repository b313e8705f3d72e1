"""Two ResNet-DCT networks of the INSA experiments, whose papers give no layer table: the glue
between the DCT inputs and the ResNet stages below is our own choice (parameter counts ours).

``cb5_only``         Y and CbCr meet at 14x14 and go through ResNet conv block 5 only.
``y_cb4_cbcr_cb5``   Y goes through conv blocks 3-4 (LC-RFA Y stream), CbCr joins before block 5.

Stage names are keras.applications' (``conv3_*``, ``conv4_*``, ``conv5_*``), so ImageNet
ResNet50 weights transfer wherever the shapes match.
"""
from __future__ import annotations

from keras import layers

from jpeg_deep.networks.resnet import (
    apply_blocks, conv5_stage, conv_bn_relu, network, norm, rfa_stage, stage,
)


@network("cb5_only", "y_cbcr", "INSA: Y and CbCr concatenated at 14x14, then only ResNet block 5")
def _cb5_only(inputs, width, maps):
    """BN(Y) -> ``conv_y`` 2x2/2, 256 + BN + ReLU (a learned space-to-depth, as [U]'s
    DownSampling) -> 14x14x256; BN(CbCr) 14x14x128; concat 384 -> ``proj`` 1x1 conv 1024 + BN +
    ReLU (so conv5_block1 sees the 1024 channels of ResNet50 and all of conv5 transfers) ->
    conv5 (CB(3,[512,512,2048],2) + 2 IB) -> 7x7x2048."""
    y, cbcr = inputs
    y = conv_bn_relu(maps.mark(norm(y, "bn_y"), 8), 256, 2, 2, "conv_y")
    x = layers.Concatenate(name="concat_y_cbcr")([y, norm(cbcr, "bn_cbcr")])
    x = maps.mark(conv_bn_relu(x, 1024, 1, 1, "proj"), 16)
    return apply_blocks(x, conv5_stage(), width, maps)


@network("y_cb4_cbcr_cb5", "y_cbcr",
         "INSA: Y through ResNet blocks 3-4 (LC-RFA Y stream), CbCr joins before block 5")
def _y_cb4_cbcr_cb5(inputs, width, maps):
    """BN(Y) -> RFA blocks [256,256,1024] (k=1,2,3) -> conv3 CB s1 + 3 IB [128,128,512] (28x28)
    -> conv4 CB s2 + 5 IB (14x14x1024, all ResNet50 shapes); BN(CbCr) 14x14x128;
    concat 1152 -> conv5 -> 7x7x2048."""
    y, cbcr = inputs
    rows = (rfa_stage((256, 256, 1024)) + stage("conv3", (128, 128, 512), 4, strides=1)
            + stage("conv4", (256, 256, 1024), 6))
    x = apply_blocks(maps.mark(norm(y, "bn_y"), 8), rows, width, maps)
    x = layers.Concatenate(name="concat_y_cbcr")([x, norm(cbcr, "bn_cbcr")])
    return apply_blocks(maps.mark(x, 16), conv5_stage(), width, maps)
