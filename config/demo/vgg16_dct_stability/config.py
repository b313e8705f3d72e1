"""Stability training of the demo VGG-DCT against JPEG quality 10: cross-entropy on the clean
image plus KL(f(clean) || f(quality-10 image)), both through the network being trained."""
base = "../base_robustness.py"
description = "VGG-DCT, 1/4 width, demo shapes: stability training against JPEG quality 10"
robustness = dict(method="stability", quality=10, alpha=1.0)
