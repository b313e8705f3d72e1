"""ImageNet, robustness to JPEG coding: expert training of ResNet-50 (RGB) at quality 10.

Cross-entropy on quality-10 images plus KL(teacher || student), the teacher being the frozen
baseline on the clean image (its outputs cached per file). Baseline: ``config/imagenet/resnet50``
($BASELINE_WEIGHTS: its ``checkpoints/best.keras``).
"""
base = "../base.py"
description = "ResNet-50 (RGB), ImageNet: expert training against JPEG quality 10"
network = "resnet50"
robustness = dict(method="expert", quality=10, alpha=1.0)
