"""Split computing on the demo VGG-DCT: block5_pool, 8 channels, lambda 10 (base_split.py)."""
base = "../base_split.py"
description = "VGG-DCT demo split: block5_pool, 8 channels, lambda 10"
