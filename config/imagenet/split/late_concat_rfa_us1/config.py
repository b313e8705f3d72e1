"""ImageNet split computing: LC-RFA, a DCT ResNet ([D]-code widths), cut at
conv5_block3_out, unsupervised: the bottleneck reproduces the uncut network's outputs, no label
is read. Baseline: config/imagenet/late_concat_rfa."""
from jpeg_deep.config import merge

base = "../base.py"
description = "LC-RFA split at conv5_block3_out, distilled, ImageNet"
network = "late_concat_rfa_dcode"
split = merge(labels=False)
