"""ImageNet: Late-Concat [U] (network ``late_concat``)."""
base = "../base_classifier.py"
description = "Late-Concat [U], ImageNet"
network = "late_concat"
