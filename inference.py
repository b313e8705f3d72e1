"""Predict a split of an experiment's dataset with some weights and write the predictions.

    python inference.py <experiment> [weights] [--split test]

Same as the installed command ``jpeg-deep-infer``; ``--help`` lists the options.
"""
import sys

from jpeg_deep.cli import infer_main

if __name__ == "__main__":
    sys.exit(infer_main())
