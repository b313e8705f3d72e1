"""INSA deconv (Deconvolution-RFA), Pascal VOC 07+12 (published: 52.7 mAP on VOC2007 test, INSA
project)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "INSA deconv (Deconvolution-RFA), VOC 07+12"
network = "ssd_insa_deconv"
data = merge(protocol="07+12")
