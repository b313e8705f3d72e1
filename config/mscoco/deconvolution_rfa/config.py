"""SSD300 on Deconvolution-RFA, MS-COCO 2017 (published AP@[.5:.95]: 25.9)."""
base = "../base_ssd300.py"
description = "SSD300 on Deconvolution-RFA, COCO 2017"
network = "ssd300_deconvolution_rfa"
