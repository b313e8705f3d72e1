"""SSD300 on LC-RFA-Thinner, Pascal VOC 07+12 (published: 67.5 mAP on VOC2007 test)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "SSD300 on LC-RFA-Thinner, VOC 07+12"
network = "ssd300_late_concat_rfa_thinner"
data = merge(protocol="07+12")
