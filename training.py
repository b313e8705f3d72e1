"""Train a network from a config folder, or resume an experiment.

    python training.py -c config/demo/vgg16_dct
    python training.py -c config/imagenet/vgg16_dct --train-dir /data/imagenet --epochs 3
    python training.py --restart experiments/demo_vgg16_dct_20261121-120000_ab12cd
    srun python training.py -c config/imagenet/late_concat_rfa --strategy multi-worker

Same as the installed command ``jpeg-deep-train``; ``--help`` lists the options.
"""
import sys

from jpeg_deep.cli import train_main

if __name__ == "__main__":
    sys.exit(train_main())
