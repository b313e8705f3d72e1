"""ImageNet: LessIdBlocks-5 [U] (network ``less_id_blocks_5``).

An RGB speed/accuracy baseline of [U].
"""
base = "../base_resnet_rgb.py"
description = "LessIdBlocks-5 [U], ImageNet"
network = "less_id_blocks_5"
