"""SSD300 on VGG-DCT, Pascal VOC 07+12 (published: 60.0 mAP on VOC2007 test)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "SSD300 on VGG-DCT, VOC 07+12"
network = "ssd300_vgg16_dct"
data = merge(protocol="07+12")
