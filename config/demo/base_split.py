"""The demo split-computing configs' shared settings (config/demo/vgg16_dct_split*): the demo
VGG-DCT (base_classifier.py) cut after ``block5_pool`` (3x3x128 at the demo's 96-pixel crops),
a separable bottleneck to 8 channels (stride 1) and a learned entropy model trained between the
frozen halves for the cross-entropy plus ``rate_weight`` (lambda, 10 here) x bits per pixel of
the network's input (see jpeg_deep/procedures/split.py), 15 epochs of Adam 1e-3. The other demo
split configs change lambda (1, 30, 100, 300), the split point (``block5_conv1``, 6x6x128,
stride 2) or the objective (``labels=False``: distillation of the uncut network, no label
read). Lambda weighs bits per pixel against a cross-entropy: below ~3 the rate term hardly
moves the encoder (a bit costs 1/9216 bpp at 96 px), the entropy model alone sets the rate.

Starts from the newest finished ``config/demo/vgg16_dct`` experiment (train it first:
``python training.py -c config/demo/vgg16_dct``), or from $BASELINE_WEIGHTS when set. Evaluate
with ``evaluation.py EXP`` (the scores and the real rate of the coded features), and put them on
the uncut network's JPEG curve with ``evaluation.py <uncut experiment> --jpeg-quality 5 10 20 30
50 75 95 --compare EXP ...``.
"""
from jpeg_deep.engine.experiment import baseline_weights

base = "base_classifier.py"
network = "vgg16_dct"
inference_network = None

weights = baseline_weights("demo_vgg16_dct", "config/demo/vgg16_dct")

split = dict(at="block5_pool", channels=8, stride=1, rate_weight=10.0)
epochs = 15
optimizer = dict(name="adam", learning_rate=0.001)
reduce_lr_on_plateau = dict(patience=2, factor=0.3)
