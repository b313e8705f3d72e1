"""ImageNet: LessIdBlocks-3 [U] (network ``less_id_blocks_3``).

An RGB speed/accuracy baseline of [U].
"""
base = "../base_resnet_rgb.py"
description = "LessIdBlocks-3 [U], ImageNet"
network = "less_id_blocks_3"
