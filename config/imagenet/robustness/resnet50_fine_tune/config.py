"""ImageNet, robustness to JPEG coding: fine-tuning of ResNet-50 (RGB) at quality 10.

The setting of Expert Training (EI 2022): cross-entropy on quality-10 images.
The training distortion re-quantises each file's coefficients to quality 10 (``form="dct"``;
``form="real"`` decodes and re-encodes with libjpeg-turbo instead). The whole network is trained
from the baseline's weights with Adam (betas 0.5, 0.99); the learning rate is divided by 5 when
the validation loss has not improved for 2 epochs, and training stops when it has not improved
for 6 (the third decay). The starting learning rate, 0.0001, is this project's choice.

Weights: $BASELINE_WEIGHTS, the baseline's ``checkpoints/best.keras``
(``config/imagenet/resnet50``).
Data: $DATASET_PATH_TRAIN/train, $DATASET_PATH_VAL/validation, $DATASET_PATH_TEST/validation.
Evaluate: ``evaluation.py EXP --jpeg-quality 10 20 30 50 75 90 95 --compare <baseline>``.
"""
from jpeg_deep.config import env_path

description = "ResNet-50 (RGB), ImageNet: fine-tuning against JPEG quality 10"
network = "resnet50"
input_size = 224

train_dir = env_path("DATASET_PATH_TRAIN", "train")
val_dir = env_path("DATASET_PATH_VAL", "validation")
test_dir = env_path("DATASET_PATH_TEST", "validation")

transforms = dict(resize=256, crop=224, quality=95)

weights = env_path("BASELINE_WEIGHTS")
robustness = dict(method="fine_tune", quality=10)

batch_size = 32  # per replica
epochs = 30
optimizer = dict(name="adam", learning_rate=0.0001, beta_1=0.5, beta_2=0.99)
scale_learning_rate = True  # x replicas under tf.distribute
warmup_epochs = 0
reduce_lr_on_plateau = dict(patience=2, factor=0.2)
early_stopping = dict(patience=6)
workers = 8  # data-loading processes
seed = 0
