"""Evaluate weights of an experiment: top-1 / top-5, printed and written as JSON.

    python evaluation.py <experiment> [weights] [--split test]

Same as the installed command ``jpeg-deep-evaluate``; ``--help`` lists the options.
"""
import sys

from jpeg_deep.cli import evaluate_main

if __name__ == "__main__":
    sys.exit(evaluate_main())
