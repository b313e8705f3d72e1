"""SSD300 on ResNet-50 (RGB), Pascal VOC 07 (published: 61.3 mAP on VOC2007 test)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "SSD300 on ResNet-50 (RGB), VOC 07"
network = "ssd300_resnet50"
data = merge(protocol="07")
