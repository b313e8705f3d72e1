"""ImageNet: Deconvolution-RFA (network ``deconvolution_rfa``).

Published top-1 / top-5: 74.55 / 92.39 [D]; 76.06 / 92.02 [U].
"""
base = "../base_classifier.py"
description = "Deconvolution-RFA, ImageNet"
network = "deconvolution_rfa"
epochs = 140  # [D]'s Deconvolution-RFA recipe differs from base_classifier.py's only here
