"""SSD300 on Deconvolution-RFA, Pascal VOC 07 (published: 54.7 mAP on VOC2007 test)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "SSD300 on Deconvolution-RFA, VOC 07"
network = "ssd300_deconvolution_rfa"
data = merge(protocol="07")
