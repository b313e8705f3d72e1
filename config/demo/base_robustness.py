"""The demo robustness configs' shared settings: config/demo/vgg16_dct_fine_tune, _expert and
_stability start from it. The demo VGG-DCT (base_classifier.py) trained 8 more epochs against
JPEG quality 10 with Adam 1e-4 (betas 0.5, 0.99), the learning rate divided by 5 after 2 epochs
without progress.

Starts from the newest finished ``config/demo/vgg16_dct`` experiment (train it first:
``python training.py -c config/demo/vgg16_dct``), or from $BASELINE_WEIGHTS when set. The
distortion is the DCT-domain re-quantisation of each training and validation file to quality 10
(``form="dct"``: no decode); evaluate with ``evaluation.py EXP --jpeg-quality 10 20 30 50 75 90
95`` (real re-encodes) and ``--compare`` the baseline.
"""
from jpeg_deep.engine.experiment import baseline_weights

base = "base_classifier.py"
network = "vgg16_dct"
inference_network = "vgg16_dct_conv"

weights = baseline_weights("demo_vgg16_dct", "config/demo/vgg16_dct")

epochs = 8
optimizer = dict(name="adam", learning_rate=0.0001, beta_1=0.5, beta_2=0.99)
reduce_lr_on_plateau = dict(patience=2, factor=0.2)
