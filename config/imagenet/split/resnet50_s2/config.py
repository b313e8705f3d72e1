"""ImageNet split computing: ResNet-50 (RGB) cut at the paper's S2, layer4[0]
(conv5_block1_out, 7x7x2048), supervised. Baseline: config/imagenet/resnet50."""
from jpeg_deep.config import merge

base = "../base.py"
description = "ResNet-50 split at layer4[0] (S2), ImageNet"
network = "resnet50"
split = merge(at="layer4[0]")
