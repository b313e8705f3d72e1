"""The ImageNet classification recipe of [D]'s ResNet DCT family (LC-RFA, -Thinner, -Y
variants): 224-pixel crops of images resized to 256 (JPEG quality 95), 90 epochs, batch 32, SGD
0.0125 with momentum 0.9, ReduceLROnPlateau patience 5, EarlyStopping patience 11. Under
tf.distribute the batch is per replica and the learning rate is multiplied by the number of
replicas with a 5-epoch warm-up, as the reference did under Horovod.

Every config under config/imagenet/ starts from it:

- as it is: late_concat_rfa*, insa_* and the [U] DCT variants (uber_* but the RGB baselines;
  the [U] paper's own training recipe is not part of the reference, so they use [D]'s and their
  results compare with [D]'s); deconvolution_rfa with 140 epochs;
- through base_resnet_rgb.py: resnet50 and the [U] RGB baselines (step schedule);
- through base_vgg.py: vgg16, vgg16_dct, vgg16_dct_y, vgg16_dct_deconv;
- through robustness/base.py: the robustness configs.

Data: $DATASET_PATH_TRAIN/train, $DATASET_PATH_VAL/validation, and the test split is
$DATASET_PATH_TEST/validation evaluated on full images (or --train-dir / --val-dir / --test-dir).
"""
from jpeg_deep.config import env_path

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
