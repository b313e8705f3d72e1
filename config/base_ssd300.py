"""The published SSD300 recipe of the papers' detection experiments: what every config under
config/pascalvoc/ and config/mscoco/ shares, through config/pascalvoc/base_ssd300.py and
config/mscoco/base_ssd300.py (which add the data set and the steps per epoch).

Hyper-parameters as published: 300-pixel inputs, 240 epochs, batch 32 per replica, SGD 0.001
with momentum 0.9, ReduceLROnPlateau patience 5, EarlyStopping patience 15, JPEG quality 75.

The backbone starts from an ImageNet classification experiment's weights when
$SSD_BACKBONE_WEIGHTS names its .keras file (every backbone layer must load; for the VGG
backbones, a VGG classifier's dense fc1 / fc2 are converted to SSD's 3x3 dilated fc6 and 1x1 fc7
on the fly, every 4th filter).
"""
import os

task = "detection"
input_size = 300
backbone_weights = os.environ.get("SSD_BACKBONE_WEIGHTS")
transforms = dict(quality=75)
detection = dict(map_every=5, map_images=500)

batch_size = 32
epochs = 240
optimizer = dict(name="sgd", learning_rate=0.001, momentum=0.9)
reduce_lr_on_plateau = dict(patience=5)
early_stopping = dict(patience=15)
workers = 8
