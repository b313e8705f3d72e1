"""SSD300 on VGG-DCT, MS-COCO 2017 (published AP@[.5:.95]: 14.3)."""
base = "../base_ssd300.py"
description = "SSD300 on VGG-DCT, COCO 2017"
network = "ssd300_vgg16_dct"
