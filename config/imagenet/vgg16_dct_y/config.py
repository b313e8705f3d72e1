"""ImageNet: VGG-DCT Y (luminance only) (network ``vgg16_dct_y``).

Published top-1 / top-5: 62.6 / 84.6 [D].
"""
base = "../base_vgg.py"
description = "VGG-DCT Y (luminance only), ImageNet"
network = "vgg16_dct_y"
inference_network = "vgg16_dct_y_conv"  # fully convolutional twin for full images
