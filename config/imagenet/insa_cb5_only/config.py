"""ImageNet: CB5-only (INSA variant: Y and CbCr meet before ResNet block 5) (network ``cb5_only``, defined in jpeg_deep/networks/resnet_insa.py).

Hyper-parameters of the published config family:
ImageNet LC-RFA, -Thinner, -Y variants: 90 epochs, batch 32, SGD 0.0125 / 0.9, ReduceLROnPlateau p 5, EarlyStopping p 11.
Under tf.distribute the batch is per replica and the learning rate is multiplied by the
number of replicas with a 5-epoch warm-up, as the reference did under Horovod.

A [D]-code network variant without a published config; trained with the [D] ResNet DCT recipe.
As in the INSA project, the stages it shares with ResNet-50 (by layer name) start from
keras.applications' ImageNet weights (downloaded into ~/.keras/models/ on first use; the
loading report names what loaded).

Data: $DATASET_PATH_TRAIN/train, $DATASET_PATH_VAL/validation, and the test split is
$DATASET_PATH_TEST/validation evaluated on full images (or --train-dir / --val-dir / --test-dir).
"""
from jpeg_deep.config import env_path

description = "CB5-only (INSA variant: Y and CbCr meet before ResNet block 5), ImageNet"
network = "cb5_only"
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
reduce_lr_on_plateau = dict(patience=5)
early_stopping = dict(patience=11)
workers = 8  # data-loading processes
seed = 0
weights = "imagenet"  # keras.applications ResNet50's, into the layers that share its names
