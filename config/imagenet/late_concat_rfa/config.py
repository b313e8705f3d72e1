"""ImageNet: LC-RFA, [D]-code widths (network ``late_concat_rfa_dcode``).

Published top-1 / top-5: 74.82 / 92.58 [D].
"""
base = "../base_classifier.py"
description = "LC-RFA, [D]-code widths, ImageNet"
network = "late_concat_rfa_dcode"
