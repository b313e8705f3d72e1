"""The demo classifiers' shared settings: config/demo/vgg16_dct, late_concat_rfa_thinner
and, through base_robustness.py, config/demo/vgg16_dct_fine_tune, _expert and _stability start
from it. The papers' graphs at 1/4 width on 96-pixel crops (Y 12x12x64, CbCr 6x6x128) of the
built-in demo shapes, small enough for a CPU; the transforms are the reference ones at demo sizes
(shorter side 112, crop 96, JPEG quality 95).

Data: $DATASET_PATH_TRAIN etc. when set, else ./demo_data (written by jpeg-deep demo, which make
demo runs).
"""
from jpeg_deep.config import env_path
from jpeg_deep.demo import DEMO_ROOT

network_args = dict(width=0.25)
input_size = 96

train_dir = env_path("DATASET_PATH_TRAIN", "train", default=f"{DEMO_ROOT}/imagenet/train")
val_dir = env_path("DATASET_PATH_VAL", "validation", default=f"{DEMO_ROOT}/imagenet/validation")
test_dir = env_path("DATASET_PATH_TEST", "validation", default=f"{DEMO_ROOT}/imagenet/test")

transforms = dict(resize=112, crop=96, quality=95)

batch_size = 16
reduce_lr_on_plateau = dict(patience=3, factor=0.3)
early_stopping = None
workers = 2
seed = 0
