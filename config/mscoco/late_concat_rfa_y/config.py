"""SSD300 on LC-RFA Y, MS-COCO 2017 (published AP@[.5:.95]: 25.2)."""
base = "../base_ssd300.py"
description = "SSD300 on LC-RFA Y, COCO 2017"
network = "ssd300_late_concat_rfa_y"
