"""SSD300 on Deconvolution-RFA (a DCT ResNet whose Cb / Cr are brought up to Y's resolution and
joined with it at the input: the early fusion that gives a detector split points) on the demo
scenes, for a CPU: 30 epochs. The uncut network of config/demo/ssd300_deconvolution_rfa_split."""
base = "../base_ssd300.py"
description = "SSD300 on Deconvolution-RFA, 1/4 width, 160 px, demo scenes"
network = "ssd300_deconvolution_rfa"
epochs = 30
