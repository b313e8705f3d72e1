"""SSD300 on VGG16 (RGB), Pascal VOC 07 (published: 65.0 mAP on VOC2007 test)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "SSD300 on VGG16 (RGB), VOC 07"
network = "ssd300_vgg16"
data = merge(protocol="07")
