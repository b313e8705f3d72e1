"""Train a network from a config folder, or resume an experiment.

    python training.py -c config/demo/vgg16_dct
    python training.py -c config/imagenet/vgg16_dct --train-dir /data/imagenet --epochs 3
    python training.py --restart experiments/demo_vgg16_dct_20261121-120000_ab12cd
    srun python training.py -c config/imagenet/late_concat_rfa --strategy multi-worker
"""
import argparse
import ast
import sys

from jpeg_deep.cli import run


def _setting(text):
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value  # a plain string


def main(argv=None):
    from jpeg_deep.distribute import STRATEGIES

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("-c", "--config", help="config folder (holding config.py) or file")
    group.add_argument("-r", "--restart", help="experiment folder to resume")
    parser.add_argument("-o", "--output", help="parent of experiment folders "
                        "(default: $EXPERIMENTS_OUTPUT_DIRECTORY or ./experiments)")
    parser.add_argument("--epochs", type=int, help="override the config's number of epochs "
                        "(with --restart: continue a finished run up to this many)")
    parser.add_argument("--train-dir", help="training split folder (overrides the config and "
                        "$DATASET_PATH_TRAIN)")
    parser.add_argument("--val-dir", help="validation split folder")
    parser.add_argument("--test-dir", help="test split folder")
    parser.add_argument("--set", type=_setting, action="append", default=[], metavar="NAME=VALUE",
                        help="override any config setting, e.g. --set batch_size=32 "
                        "(Python literal; repeatable)")
    parser.add_argument("--strategy", choices=STRATEGIES, default=None,
                        help="tf.distribute strategy (default: auto; see README)")
    horovod = parser.add_mutually_exclusive_group()
    horovod.add_argument("--horovod", dest="horovod", action="store_true", default=None,
                         help="reference flag, mapped to --strategy auto")
    horovod.add_argument("--no-horovod", dest="horovod", action="store_false",
                         help="reference flag, mapped to --strategy local")
    args = parser.parse_args(argv)

    strategy = args.strategy or "auto"
    if args.horovod is not None:
        from jpeg_deep.distribute import strategy_for_horovod_flag

        mapped, message = strategy_for_horovod_flag(args.horovod)
        if args.strategy and args.strategy != mapped:
            parser.error(f"--{'' if args.horovod else 'no-'}horovod means --strategy {mapped}; "
                         f"it cannot be combined with --strategy {args.strategy}")
        print(message, file=sys.stderr)
        strategy = mapped
    overrides = dict(args.set)
    for name in ("train_dir", "val_dir", "test_dir"):
        if getattr(args, name):
            overrides[name] = getattr(args, name)

    from jpeg_deep.training import train

    exp, _ = train(args.config, restart=args.restart, output_dir=args.output,
                   epochs=args.epochs, strategy=strategy, overrides=overrides)
    print(f"done: {exp.root}")


if __name__ == "__main__":
    sys.exit(run(main))
