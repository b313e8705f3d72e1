"""Split computing on the demo VGG-DCT: block5_conv1, stride 2, 8 channels, lambda 10
(base_split.py)."""
from jpeg_deep.config import merge

base = "../base_split.py"
description = "VGG-DCT demo split: block5_conv1, stride 2, 8 channels, lambda 10"
split = merge(at='block5_conv1', stride=2)
