"""ImageNet split computing: ResNet-50 (RGB) cut at the paper's S1, layer4[2]
(conv5_block3_out, 7x7x2048), supervised. Baseline: config/imagenet/resnet50.

Published: 74.9 % top-1 at 0.069 bits per pixel of the input (uncut about 75.6 %)."""
base = "../base.py"
description = "ResNet-50 split at layer4[2] (S1), ImageNet"
network = "resnet50"
