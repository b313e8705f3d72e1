"""ImageNet, robustness to JPEG coding: fine-tuning of LC-RFA (DCT) at quality 10.

Cross-entropy on quality-10 images. Baseline: ``config/imagenet/late_concat_rfa``
($BASELINE_WEIGHTS: its ``checkpoints/best.keras``).
"""
base = "../base.py"
description = "LC-RFA (DCT), ImageNet: fine-tuning against JPEG quality 10"
network = "late_concat_rfa_dcode"
robustness = dict(method="fine_tune", quality=10)
