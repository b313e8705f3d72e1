"""SSD300 on ResNet-50 (RGB), Pascal VOC 07++12 (published: not reported)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "SSD300 on ResNet-50 (RGB), VOC 07++12"
network = "ssd300_resnet50"
data = merge(protocol="07++12")
