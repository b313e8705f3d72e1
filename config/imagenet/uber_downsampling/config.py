"""ImageNet: DownSampling [U] (network ``downsampling``)."""
base = "../base_classifier.py"
description = "DownSampling [U], ImageNet"
network = "downsampling"
