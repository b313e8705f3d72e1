"""ImageNet: Channels-Div1.1 [U] (thinner RGB ResNet-50) (network ``channels_div_1_1``).

An RGB speed/accuracy baseline of [U].
"""
base = "../base_resnet_rgb.py"
description = "Channels-Div1.1 [U] (thinner RGB ResNet-50), ImageNet"
network = "channels_div_1_1"
