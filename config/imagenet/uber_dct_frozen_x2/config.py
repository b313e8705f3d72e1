"""ImageNet: DCT-Frozenx2 [U] (network ``dct_frozen_x2``)."""
base = "../base_classifier.py"
description = "DCT-Frozenx2 [U], ImageNet"
network = "dct_frozen_x2"
