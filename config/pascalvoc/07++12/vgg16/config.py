"""SSD300 on VGG16 (RGB), Pascal VOC 07++12 (published: not reported)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "SSD300 on VGG16 (RGB), VOC 07++12"
network = "ssd300_vgg16"
data = merge(protocol="07++12")
