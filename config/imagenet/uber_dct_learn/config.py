"""ImageNet: DCT-Learn [U] (network ``dct_learn``)."""
base = "../base_classifier.py"
description = "DCT-Learn [U], ImageNet"
network = "dct_learn"
