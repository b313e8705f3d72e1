"""SSD300 on ResNet-50 (RGB), Pascal VOC 07 (published: 61.3 mAP on VOC2007 test).

Data: VOC2007 train; validation VOC2007 val; test VOC2007 test (the original jpeg_deep code's held-
out splits). $DATASET_PATH is the VOCdevkit folder (holding VOC2007/ and VOC2012/). The backbone
starts from an ImageNet classification experiment's weights when $SSD_BACKBONE_WEIGHTS names its
.keras file (every backbone layer must load).

Hyper-parameters as published: 240 epochs of 1000 steps, batch 32 per replica, SGD 0.001 with
momentum 0.9, ReduceLROnPlateau patience 5, EarlyStopping patience 15, JPEG quality 75.
"""
import os

from jpeg_deep.config import env_path

description = "SSD300 on ResNet-50 (RGB), VOC 07"
task = "detection"
network = "ssd300_resnet50"
input_size = 300
data = dict(format="voc", root=env_path("DATASET_PATH"), protocol="07", held_out=True)
backbone_weights = os.environ.get("SSD_BACKBONE_WEIGHTS")
transforms = dict(quality=75)
detection = dict(map_every=5, map_images=500)

batch_size = 32
epochs = 240
steps_per_epoch = 1000
optimizer = dict(name="sgd", learning_rate=0.001, momentum=0.9)
reduce_lr_on_plateau = dict(patience=5)
early_stopping = dict(patience=15)
workers = 8
