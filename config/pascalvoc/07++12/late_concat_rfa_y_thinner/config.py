"""SSD300 on LC-RFA-Thinner Y, Pascal VOC 07++12 (published: not reported)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "SSD300 on LC-RFA-Thinner Y, VOC 07++12"
network = "ssd300_late_concat_rfa_y_thinner"
data = merge(protocol="07++12")
