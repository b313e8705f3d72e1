"""ImageNet: Channels-Div1.414 [U] (network ``channels_div_sqrt2``).

An RGB speed/accuracy baseline of [U].
"""
base = "../base_resnet_rgb.py"
description = "Channels-Div1.414 [U], ImageNet"
network = "channels_div_sqrt2"
