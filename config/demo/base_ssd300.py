"""The demo detectors' shared settings: config/demo/ssd300_late_concat_rfa_thinner and
config/demo/ssd300_vgg16_dct start from it.

SSD300 at 1/4 width on 160-pixel inputs (Y 20x20x64, CbCr 10x10x128), trained from scratch on
the demo's VOC devkit: ``train`` to train, ``val`` to validate (mAP every 5 epochs), ``test`` to
test. The scenes hold one to six shapes of five classes, some small, some overlapping, some
flagged difficult. A shorter recipe than the paper's: Adam 0.003 (each config sets its epochs), a
zoom-out of at most 1.5x. Data: $DATASET_PATH when set (a VOCdevkit folder), else
./demo_data/detection (written by jpeg-deep demo, which make demo runs).
"""
from jpeg_deep.config import env_path
from jpeg_deep.demo import CLASSES, DEMO_ROOT

task = "detection"
network_args = dict(width=0.25)
input_size = 160

data = dict(format="voc", protocol="07", held_out=True, class_names=CLASSES,
            root=env_path("DATASET_PATH", default=f"{DEMO_ROOT}/detection/VOCdevkit"))
transforms = dict(quality=75, max_expand=1.5)   # a milder zoom-out than SSD's 4x: a short run
detection = dict(map_every=5, map_images=60)

batch_size = 16
optimizer = dict(name="adam", learning_rate=0.003)
reduce_lr_on_plateau = dict(patience=4, factor=0.3)
early_stopping = None
workers = 2
seed = 0
