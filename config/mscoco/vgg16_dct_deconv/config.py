"""SSD300 on VGG-DCT Deconvolution (block4 pooling fixed), MS-COCO 2017 (published AP@[.5:.95]:
13.5)."""
base = "../base_ssd300.py"
description = "SSD300 on VGG-DCT Deconvolution (block4 pooling fixed), COCO 2017"
network = "ssd300_vgg16_dct_deconv"
