"""MS-COCO 2017 for the SSD300 configs: every config under config/mscoco/ starts from it. The
recipe is ../base_ssd300.py's, with 3700 steps per epoch.

Data: train2017 for training, val2017 for validation and testing (as the reference's configs).
$DATASET_PATH is the COCO root (annotations/, train2017/, val2017/). COCO anchor scales (0.07 ...
1.05) are used for the 81 classes.
"""
from jpeg_deep.config import env_path

base = "../base_ssd300.py"
data = dict(format="coco", root=env_path("DATASET_PATH"),
            train=("annotations/instances_train2017.json", "train2017"),
            val=("annotations/instances_val2017.json", "val2017"),
            test=("annotations/instances_val2017.json", "val2017"))
steps_per_epoch = 3700
