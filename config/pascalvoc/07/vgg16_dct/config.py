"""SSD300 on VGG-DCT, Pascal VOC 07 (published: 48.9 mAP on VOC2007 test)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "SSD300 on VGG-DCT, VOC 07"
network = "ssd300_vgg16_dct"
data = merge(protocol="07")
