"""The ImageNet split-computing configs' shared settings: every config under
config/imagenet/split/ starts from it. The bottleneck of Ahuja et al. (CVPR 2023) between the
frozen halves of a trained network, trained for the task term plus lambda x bits per pixel of the
224x224 input (jpeg_deep/procedures/split.py).

From the paper: the split points (``layer4[2]``, ``layer4[0]``, ``layer3[4]``, resolved to
Keras' ``conv5_block3_out``, ``conv5_block1_out``, ``conv4_block5_out``; the DCT ResNets of
[D] use the same block names), the single depthwise-separable bottleneck layer, and its
published S1 setting: stride 2, 128 channels, quantisation step 3.38.
Our choices (the paper publishes no training code or recipe): lambda 50 on our loss (task term
+ lambda x bits per pixel of the input; theirs weights the task term, with another rate unit):
a bit then weighs what it weighs at lambda 10 on the demo's 96-pixel crops (50176 / 9216 ~ 5.4
times the pixels), the demo's best trade; Adam 1e-3 for 10 epochs, the learning rate divided by
5 after 2 epochs without progress, halves frozen.

Weights: $BASELINE_WEIGHTS, the uncut network's ``checkpoints/best.keras`` (each config names
its baseline config).
Data: $DATASET_PATH_TRAIN/train, $DATASET_PATH_VAL/validation, $DATASET_PATH_TEST/validation
(test images are read through the validation transform: the bottleneck fixes the input size).
Evaluate: ``evaluation.py EXP``, then ``evaluation.py <baseline experiment> --jpeg-quality 5 10
20 30 50 75 95 --compare EXP ...`` for the rate-accuracy plot.
"""
from jpeg_deep.config import env_path

base = "../base_classifier.py"
weights = env_path("BASELINE_WEIGHTS")
inference_network = None
split = dict(at="layer4[2]", channels=128, stride=2, step=3.38, rate_weight=50.0)
epochs = 10
optimizer = dict(name="adam", learning_rate=0.001)
warmup_epochs = 0
reduce_lr_on_plateau = dict(patience=2, factor=0.2)
early_stopping = dict(patience=4)
