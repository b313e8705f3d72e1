"""INSA cb5_only, Pascal VOC 07+12 (published: 47.7 mAP on VOC2007 test, INSA project)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "INSA cb5_only, VOC 07+12"
network = "ssd_insa_cb5_only"
data = merge(protocol="07+12")
