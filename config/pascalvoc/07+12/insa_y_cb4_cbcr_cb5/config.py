"""INSA y_cb4_cbcr_cb5, Pascal VOC 07+12 (published: 48.5 mAP on VOC2007 test, INSA project)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "INSA y_cb4_cbcr_cb5, VOC 07+12"
network = "ssd_insa_y_cb4_cbcr_cb5"
data = merge(protocol="07+12")
