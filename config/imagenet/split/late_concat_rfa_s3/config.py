"""ImageNet split computing: LC-RFA, a DCT ResNet ([D]-code widths), cut at its
conv4_block5_out (the place of ResNet-50's S3, 14x14x1024), supervised. Baseline:
config/imagenet/late_concat_rfa."""
from jpeg_deep.config import merge

base = "../base.py"
description = "LC-RFA split at conv4_block5_out (S3), ImageNet"
network = "late_concat_rfa_dcode"
split = merge(at="conv4_block5_out")
