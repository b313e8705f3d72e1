"""SSD300 on VGG-DCT Deconvolution (block4 pooling fixed), Pascal VOC 07 (published: 38.4 mAP on
VOC2007 test)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "SSD300 on VGG-DCT Deconvolution (block4 pooling fixed), VOC 07"
network = "ssd300_vgg16_dct_deconv"
data = merge(protocol="07")
