"""SSD300 on VGG-DCT Y, MS-COCO 2017 (published AP@[.5:.95]: 14.4)."""
base = "../base_ssd300.py"
description = "SSD300 on VGG-DCT Y, COCO 2017"
network = "ssd300_vgg16_dct_y"
