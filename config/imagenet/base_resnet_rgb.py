"""[D]'s ImageNet ResNet50 RGB recipe: base_classifier.py's (90 epochs, batch 32, SGD 0.0125 /
0.9, 5-epoch warm-up) with a step schedule, learning rate x1 / x0.1 (30) / x0.01 (60) / x0.001
(80), instead of ReduceLROnPlateau, and no EarlyStopping.

Used by resnet50 and the RGB speed/accuracy baselines of [U] (uber_channels_div_*,
uber_less_id_blocks_*).
"""
base = "base_classifier.py"
lr_schedule = {0: 1.0, 30: 0.1, 60: 0.01, 80: 0.001}
reduce_lr_on_plateau = None
early_stopping = None
