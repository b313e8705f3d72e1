"""ImageNet split computing: ResNet-50 (RGB) cut at the paper's S3, layer3[4]
(conv4_block5_out, 14x14x1024), supervised. Baseline: config/imagenet/resnet50.

Published: 74.0 % top-1 at 0.22 bits per pixel of the input."""
from jpeg_deep.config import merge

base = "../base.py"
description = "ResNet-50 split at layer3[4] (S3), ImageNet"
network = "resnet50"
split = merge(at="layer3[4]")
