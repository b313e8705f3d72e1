"""SSD300 on LC-RFA, MS-COCO 2017 (published AP@[.5:.95]: 25.8)."""
base = "../base_ssd300.py"
description = "SSD300 on LC-RFA, COCO 2017"
network = "ssd300_late_concat_rfa"
