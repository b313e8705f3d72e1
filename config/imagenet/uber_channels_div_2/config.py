"""ImageNet: Channels-Div2 [U] (network ``channels_div_2``).

An RGB speed/accuracy baseline of [U].
"""
base = "../base_resnet_rgb.py"
description = "Channels-Div2 [U], ImageNet"
network = "channels_div_2"
