"""SSD300 on LC-RFA-Thinner (a ResNet-DCT backbone) on the demo detection scenes, for a CPU: 30
epochs."""
base = "../base_ssd300.py"
description = "SSD300 on LC-RFA-Thinner, 1/4 width, 160 px, demo scenes"
network = "ssd300_late_concat_rfa_thinner"
epochs = 30
