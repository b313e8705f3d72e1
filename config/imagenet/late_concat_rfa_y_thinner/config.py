"""ImageNet: LC-RFA-Thinner Y (luminance only) (network ``late_concat_rfa_y_thinner``).

Published top-1 / top-5: 72.48 / 91.04 [D].
"""
base = "../base_classifier.py"
description = "LC-RFA-Thinner Y (luminance only), ImageNet"
network = "late_concat_rfa_y_thinner"
