"""ImageNet: DCT-Frozen [U] (RGB in, fixed DCT stem) (network ``dct_frozen``)."""
base = "../base_classifier.py"
description = "DCT-Frozen [U] (RGB in, fixed DCT stem), ImageNet"
network = "dct_frozen"
