"""SSD300 on LC-RFA-Thinner, Pascal VOC 07 (published: 58.5 mAP on VOC2007 test)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "SSD300 on LC-RFA-Thinner, VOC 07"
network = "ssd300_late_concat_rfa_thinner"
data = merge(protocol="07")
