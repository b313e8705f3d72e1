"""SSD300 on VGG-DCT Deconvolution (block4 pooling fixed), Pascal VOC 07++12 (published: not
reported)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "SSD300 on VGG-DCT Deconvolution (block4 pooling fixed), VOC 07++12"
network = "ssd300_vgg16_dct_deconv"
data = merge(protocol="07++12")
