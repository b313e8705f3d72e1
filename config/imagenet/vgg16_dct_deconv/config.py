"""ImageNet: VGG-DCT Deconvolution (network ``vgg16_dct_deconv``).

Published top-1 / top-5: 65.9 / 86.7 [D].
"""
base = "../base_vgg.py"
description = "VGG-DCT Deconvolution, ImageNet"
network = "vgg16_dct_deconv"
inference_network = "vgg16_dct_deconv_conv"  # fully convolutional twin for full images
