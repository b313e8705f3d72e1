"""ImageNet: UpSampling-RFA [U] (network ``upsampling_rfa``)."""
base = "../base_classifier.py"
description = "UpSampling-RFA [U], ImageNet"
network = "upsampling_rfa"
