"""ImageNet: LessIdBlocks-6 [U] (network ``less_id_blocks_6``).

An RGB speed/accuracy baseline of [U].
"""
base = "../base_resnet_rgb.py"
description = "LessIdBlocks-6 [U], ImageNet"
network = "less_id_blocks_6"
