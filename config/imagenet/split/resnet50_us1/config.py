"""ImageNet split computing: ResNet-50 (RGB) cut at S1, layer4[2], unsupervised (US1):
the bottleneck learns to reproduce the uncut network's outputs, no label is read. Baseline:
config/imagenet/resnet50."""
from jpeg_deep.config import merge

base = "../base.py"
description = "ResNet-50 split at layer4[2], distilled (US1), ImageNet"
network = "resnet50"
split = merge(labels=False)
