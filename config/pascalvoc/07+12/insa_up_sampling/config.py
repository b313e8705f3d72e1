"""INSA up_sampling (UpSampling-RFA), Pascal VOC 07+12 (published: 51.9 mAP on VOC2007 test, INSA
project)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "INSA up_sampling (UpSampling-RFA), VOC 07+12"
network = "ssd_insa_up_sampling"
data = merge(protocol="07+12")
