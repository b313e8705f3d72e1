"""ImageNet, robustness to JPEG coding: stability training of LC-RFA (DCT) at quality 10.

Cross-entropy on the clean image plus KL(f(clean) || f(quality-10 image)). Baseline:
``config/imagenet/late_concat_rfa`` ($BASELINE_WEIGHTS: its ``checkpoints/best.keras``).
"""
base = "../base.py"
description = "LC-RFA (DCT), ImageNet: stability training against JPEG quality 10"
network = "late_concat_rfa_dcode"
robustness = dict(method="stability", quality=10, alpha=1.0)
