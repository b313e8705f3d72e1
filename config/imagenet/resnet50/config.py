"""ImageNet: ResNet-50 on RGB (network ``resnet50``).

Published top-1 / top-5: 74.73 / 92.33 [D]; 75.78 / 92.65 [U].
"""
base = "../base_resnet_rgb.py"
description = "ResNet-50 on RGB, ImageNet"
network = "resnet50"
