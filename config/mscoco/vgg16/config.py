"""SSD300 on VGG16 (RGB), MS-COCO 2017 (published AP@[.5:.95]: 24.5)."""
base = "../base_ssd300.py"
description = "SSD300 on VGG16 (RGB), COCO 2017"
network = "ssd300_vgg16"
