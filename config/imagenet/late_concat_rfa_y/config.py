"""ImageNet: LC-RFA Y (luminance only) (network ``late_concat_rfa_y``).

Published top-1 / top-5: 73.25 / 91.40 [D].
"""
base = "../base_classifier.py"
description = "LC-RFA Y (luminance only), ImageNet"
network = "late_concat_rfa_y"
