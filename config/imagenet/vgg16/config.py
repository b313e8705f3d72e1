"""ImageNet: VGG16 on RGB (network ``vgg16``).

Published top-1 / top-5: 71.9 / 90.8 [D].
"""
base = "../base_vgg.py"
description = "VGG16 on RGB, ImageNet"
network = "vgg16"
inference_network = "vgg16_conv"  # fully convolutional twin for full images
epochs = 120  # VGG16 RGB's recipe, here and below (base_vgg.py's is VGG-DCT's)
reduce_lr_on_plateau = dict(patience=7)
early_stopping = dict(patience=15)
