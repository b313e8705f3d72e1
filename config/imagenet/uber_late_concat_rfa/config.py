"""ImageNet: LC-RFA as drawn in [U] (network ``late_concat_rfa``).

Published top-1 / top-5: 75.92 / 92.81 [U].
"""
base = "../base_classifier.py"
description = "LC-RFA as drawn in [U], ImageNet"
network = "late_concat_rfa"
