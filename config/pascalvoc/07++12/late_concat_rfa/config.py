"""SSD300 on LC-RFA, Pascal VOC 07++12 (published: not reported)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "SSD300 on LC-RFA, VOC 07++12"
network = "ssd300_late_concat_rfa"
data = merge(protocol="07++12")
