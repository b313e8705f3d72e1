"""ImageNet: LC-RFA-Thinner as drawn in [U] (network ``late_concat_rfa_thinner``).

Published top-1 / top-5: 75.39 / 92.57 [U].
"""
base = "../base_classifier.py"
description = "LC-RFA-Thinner as drawn in [U], ImageNet"
network = "late_concat_rfa_thinner"
