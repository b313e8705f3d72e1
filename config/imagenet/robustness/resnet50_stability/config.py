"""ImageNet, robustness to JPEG coding: stability training of ResNet-50 (RGB) at quality 10.

Cross-entropy on the clean image plus KL(f(clean) || f(quality-10 image)). Baseline:
``config/imagenet/resnet50`` ($BASELINE_WEIGHTS: its ``checkpoints/best.keras``).
"""
base = "../base.py"
description = "ResNet-50 (RGB), ImageNet: stability training against JPEG quality 10"
network = "resnet50"
robustness = dict(method="stability", quality=10, alpha=1.0)
