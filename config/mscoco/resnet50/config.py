"""SSD300 on ResNet-50 (RGB), MS-COCO 2017 (published AP@[.5:.95]: 26.8)."""
base = "../base_ssd300.py"
description = "SSD300 on ResNet-50 (RGB), COCO 2017"
network = "ssd300_resnet50"
