"""SSD300 on VGG-DCT-Deconv (Cb / Cr brought up to Y's resolution and joined before block 4:
the early fusion that gives the detector split points) on the demo scenes, for a CPU: 55 epochs.
The uncut network of config/demo/ssd300_vgg16_dct_deconv_split."""
base = "../base_ssd300.py"
description = "SSD300 on VGG-DCT-Deconv, 1/4 width, 160 px, demo scenes"
network = "ssd300_vgg16_dct_deconv"
epochs = 55
