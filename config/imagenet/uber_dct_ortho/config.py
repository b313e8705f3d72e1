"""ImageNet: DCT-Ortho [U] (network ``dct_ortho``)."""
base = "../base_classifier.py"
description = "DCT-Ortho [U], ImageNet"
network = "dct_ortho"
