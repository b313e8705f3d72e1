"""SSD300 on LC-RFA-Thinner, MS-COCO 2017 (published AP@[.5:.95]: 25.4)."""
base = "../base_ssd300.py"
description = "SSD300 on LC-RFA-Thinner, COCO 2017"
network = "ssd300_late_concat_rfa_thinner"
