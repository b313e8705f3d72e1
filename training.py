"""Train a network from a config folder, or resume an experiment.

    python training.py -c config/demo/vgg16_dct
    python training.py --restart experiments/demo_vgg16_dct_20261121-120000_ab12cd
"""
import argparse
import sys

from jpeg_deep.cli import run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("-c", "--config", help="config folder (holding config.py) or file")
    group.add_argument("-r", "--restart", help="experiment folder to resume")
    parser.add_argument("-o", "--output", help="parent of experiment folders "
                        "(default: $EXPERIMENTS_OUTPUT_DIRECTORY or ./experiments)")
    parser.add_argument("--epochs", type=int, help="override the config's number of epochs")
    args = parser.parse_args(argv)

    from jpeg_deep.training import train

    exp, _ = train(args.config, restart=args.restart, output_dir=args.output,
                   epochs=args.epochs)
    print(f"done: {exp.root}")


if __name__ == "__main__":
    sys.exit(run(main))
