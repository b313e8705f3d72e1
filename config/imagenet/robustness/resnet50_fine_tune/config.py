"""ImageNet, robustness to JPEG coding: fine-tuning of ResNet-50 (RGB) at quality 10.

Cross-entropy on quality-10 images. Baseline: ``config/imagenet/resnet50`` ($BASELINE_WEIGHTS:
its ``checkpoints/best.keras``).
"""
base = "../base.py"
description = "ResNet-50 (RGB), ImageNet: fine-tuning against JPEG quality 10"
network = "resnet50"
robustness = dict(method="fine_tune", quality=10)
