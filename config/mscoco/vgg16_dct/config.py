"""SSD300 on VGG-DCT, MS-COCO 2017 (published AP@[.5:.95]: 14.3).

Data: train2017 for training, val2017 for validation and testing (as the reference's configs).
$DATASET_PATH is the COCO root (annotations/, train2017/, val2017/). The backbone starts from an
ImageNet classification experiment's weights when $SSD_BACKBONE_WEIGHTS names its .keras file
(every backbone layer must load; a VGG classifier's dense fc1 / fc2 are converted to SSD's 3x3
dilated fc6 and 1x1 fc7 on the fly, every 4th filter). COCO anchor scales (0.07 ... 1.05) are used
for the 81 classes.

Hyper-parameters as published: 240 epochs of 3700 steps, batch 32 per replica, SGD 0.001 with
momentum 0.9, ReduceLROnPlateau patience 5, EarlyStopping patience 15, JPEG quality 75.
"""
import os

from jpeg_deep.config import env_path

description = "SSD300 on VGG-DCT, COCO 2017"
task = "detection"
network = "ssd300_vgg16_dct"
input_size = 300
data = dict(format="coco", root=env_path("DATASET_PATH"),
            train=("annotations/instances_train2017.json", "train2017"),
            val=("annotations/instances_val2017.json", "val2017"),
            test=("annotations/instances_val2017.json", "val2017"))
backbone_weights = os.environ.get("SSD_BACKBONE_WEIGHTS")
transforms = dict(quality=75)
detection = dict(map_every=5, map_images=500)

batch_size = 32
epochs = 240
steps_per_epoch = 3700
optimizer = dict(name="sgd", learning_rate=0.001, momentum=0.9)
reduce_lr_on_plateau = dict(patience=5)
early_stopping = dict(patience=15)
workers = 8
