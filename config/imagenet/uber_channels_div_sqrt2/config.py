"""ImageNet: Channels-Div1.414 [U] (network ``channels_div_sqrt2``).

Hyper-parameters of the published config family:
ImageNet ResNet50 RGB: 90 epochs, batch 32, SGD 0.0125 / 0.9, step schedule x1 / x0.1 (30) / x0.01 (60) / x0.001 (80), no EarlyStopping.
Under tf.distribute the batch is per replica and the learning rate is multiplied by the
number of replicas with a 5-epoch warm-up, as the reference did under Horovod.

An RGB speed/accuracy baseline of [U]; trained with the [D] ResNet50 RGB recipe.

Data: $DATASET_PATH_TRAIN/train, $DATASET_PATH_VAL/validation, and the test split is
$DATASET_PATH_TEST/validation evaluated on full images (or --train-dir / --val-dir / --test-dir).
"""
from jpeg_deep.config import env_path

description = "Channels-Div1.414 [U], ImageNet"
network = "channels_div_sqrt2"
input_size = 224

train_dir = env_path("DATASET_PATH_TRAIN", "train")
val_dir = env_path("DATASET_PATH_VAL", "validation")
test_dir = env_path("DATASET_PATH_TEST", "validation")

transforms = dict(resize=256, crop=224, quality=95)

batch_size = 32  # per replica
epochs = 90
optimizer = dict(name="sgd", learning_rate=0.0125, momentum=0.9)
scale_learning_rate = True  # x replicas under tf.distribute
warmup_epochs = 5
lr_schedule = {0: 1.0, 30: 0.1, 60: 0.01, 80: 0.001}
reduce_lr_on_plateau = None
early_stopping = None
workers = 8  # data-loading processes
seed = 0
