"""Pascal VOC for the SSD300 configs: every config under config/pascalvoc/{07,07+12,07++12}/
starts from it. The recipe is ../base_ssd300.py's, with 1000 steps per epoch. $DATASET_PATH is
the VOCdevkit folder (holding VOC2007/ and VOC2012/).

Each config names its protocol (its folder); the splits are the original jpeg_deep code's
held-out ones:

- 07: train VOC2007 train; validation VOC2007 val; test VOC2007 test.
- 07+12: train VOC2007 train + VOC2012 train; validation VOC2007 val + VOC2012 val; test VOC2007
  test.
- 07++12: train VOC2007 trainval + VOC2012 trainval; validation VOC2007 test; test VOC2012 test
  (no public labels: submit the devkit files).
"""
from jpeg_deep.config import env_path

base = "../base_ssd300.py"
data = dict(format="voc", root=env_path("DATASET_PATH"),
            protocol=None,  # each config's own: 07, 07+12 or 07++12
            held_out=True)
steps_per_epoch = 1000
