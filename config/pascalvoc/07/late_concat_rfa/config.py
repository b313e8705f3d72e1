"""SSD300 on LC-RFA, Pascal VOC 07 (published: 61.7 mAP on VOC2007 test)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "SSD300 on LC-RFA, VOC 07"
network = "ssd300_late_concat_rfa"
data = merge(protocol="07")
