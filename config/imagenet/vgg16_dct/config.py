"""ImageNet: VGG-DCT (network ``vgg16_dct``).

Published top-1 / top-5: 65.5 / 86.4 [D].
"""
base = "../base_vgg.py"
description = "VGG-DCT, ImageNet"
network = "vgg16_dct"
inference_network = "vgg16_dct_conv"  # fully convolutional twin for full images
