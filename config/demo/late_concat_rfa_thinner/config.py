"""LC-RFA-Thinner ([D]-code widths) on the built-in demo shapes, on a CPU.

The network is the paper's graph at 1/4 width on 96-pixel crops (Y 12x12x64, CbCr 6x6x128),
the transforms are the reference ones at demo sizes (shorter side 112, crop 96, JPEG quality 95).
Adam 1e-3 for 20 epochs: 0.99 top-1 on the full test images (2026-11-22; 3.5 minutes on 2
free CPU cores; batch normalisation makes it start slower than VGG-DCT).
Data: $DATASET_PATH_TRAIN etc. when set, else ./demo_data (written by jpeg-deep demo, which make demo runs).
"""
from jpeg_deep.config import env_path
from jpeg_deep.demo import DEMO_ROOT

description = "LC-RFA-Thinner, 1/4 width, demo shapes"
network = "late_concat_rfa_thinner_dcode"
network_args = dict(width=0.25)
input_size = 96

train_dir = env_path("DATASET_PATH_TRAIN", "train", default=f"{DEMO_ROOT}/imagenet/train")
val_dir = env_path("DATASET_PATH_VAL", "validation", default=f"{DEMO_ROOT}/imagenet/validation")
test_dir = env_path("DATASET_PATH_TEST", "validation", default=f"{DEMO_ROOT}/imagenet/test")

transforms = dict(resize=112, crop=96, quality=95)

batch_size = 16
epochs = 20
optimizer = dict(name="adam", learning_rate=0.001)
reduce_lr_on_plateau = dict(patience=3, factor=0.3)
early_stopping = None
workers = 2
seed = 0

