"""ImageNet: LessIdBlocks-2 [U] (shorter RGB ResNet-50) (network ``less_id_blocks_2``).

An RGB speed/accuracy baseline of [U].
"""
base = "../base_resnet_rgb.py"
description = "LessIdBlocks-2 [U] (shorter RGB ResNet-50), ImageNet"
network = "less_id_blocks_2"
