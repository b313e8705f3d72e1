"""ImageNet: UpSampling [U] (network ``upsampling``)."""
base = "../base_classifier.py"
description = "UpSampling [U], ImageNet"
network = "upsampling"
