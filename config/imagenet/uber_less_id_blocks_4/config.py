"""ImageNet: LessIdBlocks-4 [U] (network ``less_id_blocks_4``).

An RGB speed/accuracy baseline of [U].
"""
base = "../base_resnet_rgb.py"
description = "LessIdBlocks-4 [U], ImageNet"
network = "less_id_blocks_4"
