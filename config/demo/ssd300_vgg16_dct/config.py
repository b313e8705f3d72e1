"""SSD300-DCT (the VGG-DCT backbone) on the demo detection scenes, for a CPU: 55 epochs."""
base = "../base_ssd300.py"
description = "SSD300 on VGG-DCT, 1/4 width, 160 px, demo scenes"
network = "ssd300_vgg16_dct"
epochs = 55
