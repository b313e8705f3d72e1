"""Split computing on the demo detector: SSD300 on Deconvolution-RFA cut after conv3_block4_out
(20x20x128 at 160 px: the map its first head reads; the server computes every later one), a
separable bottleneck of stride 2 to 16 channels, lambda 10, 12 epochs of Adam 1e-3 between the
frozen halves (see jpeg_deep/procedures/split.py). Its score and rate, and those of 8 channels
at lambda 100: docs/results/split_computing.md.

Starts from the newest finished ``config/demo/ssd300_deconvolution_rfa`` experiment (train it
first), or from $BASELINE_WEIGHTS when set. ``evaluation.py EXP`` reports the mAP and the real
rate of the coded features."""
from jpeg_deep.engine.experiment import baseline_weights

base = "../base_ssd300.py"
description = "SSD300 on Deconvolution-RFA, demo scenes, split after conv3_block4_out"
network = "ssd300_deconvolution_rfa"
weights = baseline_weights("demo_ssd300_deconvolution_rfa",
                           "config/demo/ssd300_deconvolution_rfa")
split = dict(at="conv3_block4_out", channels=16, stride=2, rate_weight=10.0)
epochs = 12
optimizer = dict(name="adam", learning_rate=0.001)
