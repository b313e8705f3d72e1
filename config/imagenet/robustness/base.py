"""The ImageNet robustness configs' shared setting: every config under
config/imagenet/robustness/ (fine-tuning, expert and stability training of resnet50 and
late_concat_rfa) starts from it. The setting of Expert Training (EI 2022) at JPEG quality 10.

The training distortion re-quantises each file's coefficients to quality 10 (``form="dct"``;
``form="real"`` decodes and re-encodes with libjpeg-turbo instead). The whole network is trained
from the baseline's weights with Adam (betas 0.5, 0.99); the learning rate is divided by 5 when
the validation loss has not improved for 2 epochs, and training stops when it has not improved
for 6 (the third decay). The starting learning rate, 0.0001, is this project's choice. Inputs,
transforms and batch are ../base_classifier.py's, without its warm-up.

Weights: $BASELINE_WEIGHTS, the baseline's ``checkpoints/best.keras`` (each config names its
baseline config).
Data: $DATASET_PATH_TRAIN/train, $DATASET_PATH_VAL/validation, $DATASET_PATH_TEST/validation.
Evaluate: ``evaluation.py EXP --jpeg-quality 10 20 30 50 75 90 95 --compare <baseline>``.
"""
from jpeg_deep.config import env_path

base = "../base_classifier.py"
weights = env_path("BASELINE_WEIGHTS")
epochs = 30
optimizer = dict(name="adam", learning_rate=0.0001, beta_1=0.5, beta_2=0.99)
warmup_epochs = 0
reduce_lr_on_plateau = dict(patience=2, factor=0.2)
early_stopping = dict(patience=6)
