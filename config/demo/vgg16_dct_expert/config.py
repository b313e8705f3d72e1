"""Expert training of the demo VGG-DCT against JPEG quality 10: cross-entropy on quality-10
images plus KL(teacher || student), the teacher being the frozen baseline on the clean images
(its outputs cached in the experiment folder)."""
base = "../base_robustness.py"
description = "VGG-DCT, 1/4 width, demo shapes: expert training against JPEG quality 10"
robustness = dict(method="expert", quality=10, alpha=1.0)
