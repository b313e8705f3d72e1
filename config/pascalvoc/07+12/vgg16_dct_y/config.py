"""SSD300 on VGG-DCT Y, Pascal VOC 07+12 (published: 59.8 mAP on VOC2007 test)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "SSD300 on VGG-DCT Y, VOC 07+12"
network = "ssd300_vgg16_dct_y"
data = merge(protocol="07+12")
