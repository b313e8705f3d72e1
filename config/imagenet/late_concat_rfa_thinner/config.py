"""ImageNet: LC-RFA-Thinner, [D]-code widths (network ``late_concat_rfa_thinner_dcode``).

Published top-1 / top-5: 74.62 / 92.33 [D].
"""
base = "../base_classifier.py"
description = "LC-RFA-Thinner, [D]-code widths, ImageNet"
network = "late_concat_rfa_thinner_dcode"
