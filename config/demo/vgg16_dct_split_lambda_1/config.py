"""Split computing on the demo VGG-DCT: block5_pool, 8 channels, lambda 1 (base_split.py)."""
from jpeg_deep.config import merge

base = "../base_split.py"
description = "VGG-DCT demo split: block5_pool, 8 channels, lambda 1"
split = merge(rate_weight=1.0)
