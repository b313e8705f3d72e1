"""Split computing on the demo detector: SSD300 on VGG-DCT-Deconv cut after block4_conv3 (the
map its first head reads; every later map is computed by the server), a separable bottleneck of
stride 2 to 8 channels, lambda 100, 12 epochs of Adam 1e-3 between the frozen halves (see
jpeg_deep/procedures/split.py).

Starts from the newest finished ``config/demo/ssd300_vgg16_dct_deconv`` experiment (train it
first), or from $BASELINE_WEIGHTS when set. ``evaluation.py EXP`` reports the mAP and the real
rate of the coded features."""
import os

from jpeg_deep.engine.experiment import latest_weights

base = "../base_ssd300.py"
description = "SSD300 on VGG-DCT-Deconv, demo scenes, split after block4_conv3"
network = "ssd300_vgg16_dct_deconv"
weights = (os.environ.get("BASELINE_WEIGHTS") or latest_weights("demo_ssd300_vgg16_dct_deconv")
           or "experiments/demo_ssd300_vgg16_dct_deconv_*/checkpoints/best.keras (train "
              "config/demo/ssd300_vgg16_dct_deconv first)")
split = dict(at="block4_conv3", channels=8, stride=2, rate_weight=100.0)
epochs = 12
optimizer = dict(name="adam", learning_rate=0.001)
