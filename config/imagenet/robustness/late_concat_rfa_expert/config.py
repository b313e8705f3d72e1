"""ImageNet, robustness to JPEG coding: expert training of LC-RFA (DCT) at quality 10.

Cross-entropy on quality-10 images plus KL(teacher || student), the teacher being the frozen
baseline on the clean image (its outputs cached per file). Baseline:
``config/imagenet/late_concat_rfa`` ($BASELINE_WEIGHTS: its ``checkpoints/best.keras``).
"""
base = "../base.py"
description = "LC-RFA (DCT), ImageNet: expert training against JPEG quality 10"
network = "late_concat_rfa_dcode"
robustness = dict(method="expert", quality=10, alpha=1.0)
