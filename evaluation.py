"""Evaluate weights of an experiment: top-1 / top-5, printed and written as JSON.

    python evaluation.py <experiment> <weights> [--split test]
"""
import argparse
import sys

from jpeg_deep.cli import run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", help="experiment folder written by training.py")
    parser.add_argument("weights", help="weights or model file (.keras, .weights.h5, .h5)")
    parser.add_argument("-s", "--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("-w", "--workers", type=int, help="data-loading processes")
    parser.add_argument("--limit", type=int, help="evaluate only the first N files")
    args = parser.parse_args(argv)

    from jpeg_deep.evaluation import evaluate_split

    evaluate_split(args.experiment, args.weights, args.split, workers=args.workers,
                   limit=args.limit)


if __name__ == "__main__":
    sys.exit(run(main))
