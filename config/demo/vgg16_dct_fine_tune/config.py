"""Fine-tuning of the demo VGG-DCT against JPEG quality 10: cross-entropy on quality-10 images."""
base = "../base_robustness.py"
description = "VGG-DCT, 1/4 width, demo shapes: fine-tuning against JPEG quality 10"
robustness = dict(method="fine_tune", quality=10)
