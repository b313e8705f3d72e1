"""Stability training of the demo VGG-DCT against JPEG quality 10: cross-entropy on the clean
image plus KL(f(clean) || f(quality-10 image)), both through the network being trained.

Starts from the newest finished ``config/demo/vgg16_dct`` experiment (train it first:
``python training.py -c config/demo/vgg16_dct``), or from $BASELINE_WEIGHTS when set. The
distortion is the DCT-domain re-quantisation of each training and validation file to quality 10
(``form="dct"``: no decode); evaluate with ``evaluation.py EXP --jpeg-quality 10 20 30 50 75 90
95`` (real re-encodes) and ``--compare`` the baseline.
"""
import os

from jpeg_deep.config import env_path
from jpeg_deep.demo import DEMO_ROOT
from jpeg_deep.engine.experiment import latest_weights

description = "VGG-DCT, 1/4 width, demo shapes: stability training against JPEG quality 10"
network = "vgg16_dct"
inference_network = "vgg16_dct_conv"
network_args = dict(width=0.25)
input_size = 96

train_dir = env_path("DATASET_PATH_TRAIN", "train", default=f"{DEMO_ROOT}/imagenet/train")
val_dir = env_path("DATASET_PATH_VAL", "validation", default=f"{DEMO_ROOT}/imagenet/validation")
test_dir = env_path("DATASET_PATH_TEST", "validation", default=f"{DEMO_ROOT}/imagenet/test")

transforms = dict(resize=112, crop=96, quality=95)

weights = (os.environ.get("BASELINE_WEIGHTS") or latest_weights("demo_vgg16_dct")
           or "experiments/demo_vgg16_dct_*/checkpoints/best.keras (train config/demo/vgg16_dct "
              "first)")
robustness = dict(method="stability", quality=10, alpha=1.0)

batch_size = 16
epochs = 8
optimizer = dict(name="adam", learning_rate=0.0001, beta_1=0.5, beta_2=0.99)
reduce_lr_on_plateau = dict(patience=2, factor=0.2)
early_stopping = None
workers = 2
seed = 0
