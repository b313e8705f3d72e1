"""The command-line tools: ``training.py`` / ``jpeg-deep-train``, ``inference.py`` /
``jpeg-deep-infer`` and ``evaluation.py`` / ``jpeg-deep-evaluate``, and ``jpeg-deep <command>``
(``train``, ``infer``, ``evaluate``: the same three; ``predict``: your own files; ``export``: a
SavedModel or a LiteRT model; ``display``: detections drawn; ``split``: a split-computing
experiment's two halves, streams encoded and predicted; ``demo``: the demo data;
``convert-fc``: VGG weights for an SSD backbone).

Every tool turns a user's mistake (a bad config or ``--set`` value, a missing folder, weights
that do not fit, no GPU where the job was given some) into one line on stderr and exit status 2,
never a traceback; nothing is written before the checks pass.
"""
from __future__ import annotations

import argparse
import ast
import logging
import os
import sys

from jpeg_deep.errors import JpegDeepError

TRAIN_USAGE = """Train a network from a config folder, or resume an experiment.

    python training.py -c config/demo/vgg16_dct
    python training.py -c config/imagenet/vgg16_dct --train-dir /data/imagenet --epochs 3
    python training.py --restart experiments/demo_vgg16_dct_20261121-120000_ab12cd
    srun python training.py -c config/imagenet/late_concat_rfa --strategy multi-worker
"""
INFER_USAGE = """Predict a split of an experiment's dataset with some weights and write the predictions.

    python inference.py <experiment> [weights] [--split test]
"""
EVALUATE_USAGE = """Evaluate weights of an experiment: top-1 / top-5, printed and written as JSON.

    python evaluation.py <experiment> [weights] [--split test]

Rate-accuracy sweep (each test file re-encoded at each quality first; table, JSON and PNG plot
under the experiment's evaluation/):

    python evaluation.py <experiment> [weights] --jpeg-quality 10 20 30 50 75 90 95
        [--codec jpeg|webp|jp2] [--distortion real|dct] [--compare <experiment> ...]
"""


def tensorflow_problem() -> str | None:
    """Why TensorFlow cannot be used as installed, or None: missing, or both of its builds in
    one environment (``tensorflow`` and ``tensorflow-cpu`` write the same ``tensorflow/``
    folder, so whichever was installed last half-replaced the other)."""
    from importlib import metadata

    installed = []
    for name in ("tensorflow", "tensorflow-cpu"):
        try:
            installed.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    if len(installed) > 1:
        return (f"both {' and '.join(installed)} are installed in this environment; they share "
                "one tensorflow/ folder: run `make install` (GPU=1 or GPU=0), which keeps one")
    try:
        import tensorflow  # noqa: F401
    except ImportError as err:
        return (f"TensorFlow cannot be imported ({err}); install jpeg_deep with `make install` "
                "(or pip install -e '.[cpu]', or '.[gpu]' on an NVIDIA machine; see the README)")
    return None


def run(main, argv=None) -> int:
    """Run ``main(argv)``; a user error (bad config, bad path, unreadable data, weights that do
    not fit, missing GPUs) prints one clear line and exits with status 2 instead of a
    traceback."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("absl", "tensorflow", "h5py"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    problem = tensorflow_problem()  # one line instead of an ImportError deep inside Keras
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        main(argv)
    except (JpegDeepError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def setting(text):
    """``NAME=VALUE`` of ``--set``: VALUE must be a Python literal (strings quoted)."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise argparse.ArgumentTypeError(
            f"{name}={value}: not a Python literal ({reason}); write dicts as {{'name': 'adam'}} "
            f"and quote strings, e.g. {name}=\"'text'\"") from None


def _parser(usage):
    return argparse.ArgumentParser(description=usage,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def _train(argv=None):
    from jpeg_deep.distribute import STRATEGIES

    parser = _parser(TRAIN_USAGE)
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
    parser.add_argument("--set", type=setting, action="append", default=[], metavar="NAME=VALUE",
                        help="override any config setting, e.g. --set batch_size=32 "
                        "(Python literal; repeatable)")
    parser.add_argument("--strategy", choices=STRATEGIES, default=None,
                        help="tf.distribute strategy (default: auto; see README)")
    parser.add_argument("--allow-cpu", action="store_true",
                        help="train on the CPU even where the job was given GPUs that "
                        "TensorFlow cannot use (same as --set allow_cpu=True)")
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
    if args.allow_cpu:
        overrides["allow_cpu"] = True

    from jpeg_deep.engine.train import train

    exp, _ = train(args.config, restart=args.restart, output_dir=args.output,
                   epochs=args.epochs, strategy=strategy, overrides=overrides)
    print(f"done: {exp.root}")


def _prediction_parser(usage, limit_help):
    parser = _parser(usage)
    parser.add_argument("experiment", help="experiment folder written by training.py")
    parser.add_argument("weights", nargs="?", help="weights or model file (.keras, .weights.h5, "
                        ".h5; default: the experiment's checkpoints/best.keras)")
    parser.add_argument("-s", "--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("-w", "--workers", type=int, help="data-loading processes")
    parser.add_argument("--limit", type=int, help=limit_help)
    return parser


def _infer(argv=None):
    args = _prediction_parser(INFER_USAGE, "predict at most N files, spread evenly over the "
                              "classes").parse_args(argv)
    from jpeg_deep.engine.evaluate import predict_split

    predict_split(args.experiment, args.weights, args.split, workers=args.workers,
                  limit=args.limit)


def _evaluate(argv=None):
    parser = _prediction_parser(EVALUATE_USAGE, "evaluate at most N files, spread evenly over "
                                "the classes")
    sweep = parser.add_argument_group(
        "rate-accuracy sweep", "evaluate once per coding quality, each file distorted first; "
        "writes evaluation/<split>_<weights>_<codec>_<distortion>.quality.json and .png")
    sweep.add_argument("--jpeg-quality", type=int, nargs="+", metavar="Q",
                       help="qualities (1..100) to evaluate at, e.g. 10 20 30 50 75 90 95")
    sweep.add_argument("--codec", default="jpeg", choices=["jpeg", "webp", "jp2"],
                       help="codec of the distortion (webp / jp2: where OpenCV has it; DCT "
                       "networks read the result re-encoded as a quality-100 JPEG)")
    sweep.add_argument("--distortion", default="real", choices=["real", "dct"],
                       help="real: decode and re-encode (the reference); dct: re-quantise the "
                       "coefficients (JPEG only, no decode)")
    sweep.add_argument("--subsampling", default="4:2:0", choices=["4:2:0", "4:4:4"],
                       help="chroma subsampling of the real JPEG re-encode")
    sweep.add_argument("--compare", nargs="+", metavar="EXPERIMENT",
                       help="further experiments (their best.keras, or their saved sweep) "
                       "overlaid with this one in one plot")
    args = parser.parse_args(argv)
    if args.jpeg_quality is None:
        if args.compare:
            parser.error("--compare needs --jpeg-quality")
        if (args.codec, args.distortion, args.subsampling) != ("jpeg", "real", "4:2:0"):
            parser.error("--codec / --distortion / --subsampling need --jpeg-quality")
        from jpeg_deep.engine.evaluate import evaluate_split

        evaluate_split(args.experiment, args.weights, args.split, workers=args.workers,
                       limit=args.limit)
        return
    bad = [q for q in args.jpeg_quality if not 1 <= q <= 100]
    if bad:
        parser.error(f"--jpeg-quality must be in 1..100, not {bad[0]}")
    if args.distortion == "dct" and args.codec != "jpeg":
        parser.error(f"--distortion dct re-quantises JPEG coefficients; {args.codec} has only "
                     "the real form")
    from jpeg_deep.codec.distortions import available_codecs

    if args.codec not in available_codecs():
        parser.error(f"this OpenCV build cannot encode {args.codec} (available: "
                     f"{', '.join(available_codecs())})")
    from jpeg_deep.engine.evaluate import compare_sweeps, quality_sweep

    options = dict(qualities=args.jpeg_quality, codec=args.codec, form=args.distortion,
                   subsampling=args.subsampling, workers=args.workers, limit=args.limit)
    quality_sweep(args.experiment, args.weights, args.split, **options)
    if args.compare:
        compare_sweeps([args.experiment, *args.compare], args.split, weights=args.weights,
                       **options)


PREDICT_USAGE = """Predict your own image files (and folders, recursively) with an experiment.

    jpeg-deep predict <experiment> [weights] photo.jpg holiday/ [--output DIR] [--top 5]
        [--threshold 0.5]

JPEG files are read as stored; other formats are re-encoded to JPEG first (said so). Writes
predictions.json (and predictions.csv for a classifier, images/ with the boxes drawn for a
detector) to --output (default: <experiment>/predictions/files_<weights>/). Unreadable files are
listed and skipped.
"""


def _predict(argv=None):
    parser = _parser(PREDICT_USAGE)
    parser.add_argument("experiment", help="experiment folder written by training.py")
    parser.add_argument("paths", nargs="+", metavar="[weights] PATH",
                        help="image files or folders; a first .keras / .h5 file is the weights "
                        "(default: the experiment's checkpoints/best.keras)")
    parser.add_argument("-o", "--output", help="folder of the prediction files")
    parser.add_argument("--top", type=int, default=5, help="classes per image (classifiers)")
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="lowest detection score kept and drawn (detectors)")
    args = parser.parse_args(argv)
    paths, weights = list(args.paths), None
    if len(paths) > 1 and paths[0].endswith((".keras", ".h5")):
        weights = paths.pop(0)
    if args.top < 1:
        parser.error(f"--top must be at least 1, not {args.top}")
    from pathlib import Path

    from jpeg_deep.engine.experiment import Experiment
    from jpeg_deep.predict import Predictor, write_predictions
    from jpeg_deep.tasks import weights_tag

    predictor = Predictor.from_experiment(args.experiment, weights)
    records = predictor.predict(paths, top=args.top, threshold=args.threshold, progress=True)
    output = Path(args.output) if args.output else (
        Experiment(Path(args.experiment)).predictions / weights_tag("files", predictor.weights))
    written = write_predictions(records, output, predictor)
    failed = [r for r in records if "error" in r]
    print(f"{len(records) - len(failed)} of {len(records)} files predicted; written: "
          + ", ".join(str(p) for p in written))
    for r in failed:
        print(f"  skipped {r['source']}: {r['error']}")


EXPORT_USAGE = """Export a trained experiment for serving: a SavedModel or a LiteRT (.tflite) model.

    jpeg-deep export <experiment> [weights] --format savedmodel|litert [--output DIR]

Writes the model, client.json, input_side.pkl (and anchors.npz for a detector) to --output
(default: <experiment>/export/<format>_<weights>/). The client:
Predictor.from_export(DIR).predict(files) (see docs/serving.md).
"""


def _export(argv=None):
    from jpeg_deep.export import FORMATS, export_experiment

    parser = _parser(EXPORT_USAGE)
    parser.add_argument("experiment", help="experiment folder written by training.py")
    parser.add_argument("weights", nargs="?", help="weights (default: checkpoints/best.keras)")
    parser.add_argument("--format", choices=FORMATS, default="savedmodel")
    parser.add_argument("-o", "--output", help="export folder")
    args = parser.parse_args(argv)
    folder = export_experiment(args.experiment, args.weights, format=args.format,
                               output=args.output)
    print(f"{args.format} export written to {folder}")


SPLIT_USAGE = """Deploy a split-computing experiment (a config with a split block) in two halves.

    jpeg-deep split export  <experiment> [--weights W]
    jpeg-deep split encode  <experiment> IMAGES... OUT [--weights W]     (the device)
    jpeg-deep split predict <experiment> STREAMS... [--weights W] [-o OUTPUT]  (the server)

export writes the device and server halves (Keras models), the code tables and split.json to
<experiment>/export/split_<weights>/; encode runs the device half on JPEG files (or folders)
and writes one stream per image, OUT/<name>.jdsc; predict decodes streams (files or folders)
and writes the prediction files (default <experiment>/predictions/streams_<weights>.npz and
.csv). A file that cannot be used is reported with its reason; the others are processed.
"""


def _split(argv=None):
    parser = _parser(SPLIT_USAGE)
    parser.add_argument("action", choices=["export", "encode", "predict"])
    parser.add_argument("experiment", help="split-computing experiment folder")
    parser.add_argument("paths", nargs="*", help="encode: images then the output folder; "
                        "predict: streams")
    parser.add_argument("--weights", help="weights (default: checkpoints/best.keras)")
    parser.add_argument("-o", "--output", help="predict: the prediction files' stem")
    parser.add_argument("-w", "--workers", type=int, help="encode: data-loading processes")
    args = parser.parse_args(argv)
    from jpeg_deep.engine import split

    if args.action == "export":
        print(f"split halves written to {split.export_halves(args.experiment, args.weights)}")
    elif args.action == "encode":
        if len(args.paths) < 2:
            parser.error("encode takes images (files or folders) then the output folder")
        split.encode_images(args.experiment, args.paths[:-1], args.paths[-1], args.weights,
                            workers=args.workers)
    else:
        if not args.paths:
            parser.error("predict takes streams (files or folders)")
        split.predict_streams(args.experiment, args.paths, args.weights, output=args.output)


DISPLAY_USAGE = """Draw a detection experiment's boxes on its images and write them as pictures.

    jpeg-deep display <experiment> [weights] [--split test] [--images 16]
        [--ground-truth] [--threshold 0.5]

Writes display/<split>_<weights>/<image id>.png (detections above --threshold in red with class
name and score; with --ground-truth the annotated boxes in green, difficult ones in yellow) and
one grid of all of them, grid.png, under the experiment folder.
"""


def _display(argv=None):
    from jpeg_deep.engine.display import display

    parser = _parser(DISPLAY_USAGE)
    parser.add_argument("experiment", help="detection experiment folder written by training.py")
    parser.add_argument("weights", nargs="?", help="weights (default: checkpoints/best.keras)")
    parser.add_argument("-s", "--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--images", type=int, default=16, help="pictures to draw (default 16)")
    parser.add_argument("--ground-truth", action="store_true",
                        help="draw the annotated boxes too (green; difficult: yellow)")
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="lowest score drawn (default 0.5)")
    parser.add_argument("-w", "--workers", type=int, help="data-loading processes")
    args = parser.parse_args(argv)
    display(args.experiment, args.weights, args.split, images=args.images,
            ground_truth=args.ground_truth, threshold=args.threshold, workers=args.workers)


DEMO_USAGE = """Write the demo data the demo configs (config/demo/) read: the shapes and the
detection scenes, under ./demo_data (make demo runs this; what is there is kept).

    jpeg-deep demo [--root demo_data]

python -m jpeg_deep.demo writes demo sets of other sizes.
"""


def _demo(argv=None):
    from jpeg_deep.demo import DEMO_ROOT, make_demo_data

    parser = _parser(DEMO_USAGE)
    parser.add_argument("--root", default=DEMO_ROOT,
                        help=f"output folder (default {DEMO_ROOT}, where the demo configs read "
                             "from the working directory)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or status line")
    args = parser.parse_args(argv)
    make_demo_data(args.root, verbose=not args.quiet)


BENCH_USAGE = """Run one of the benchmarks of the repository's benchmarks/ folder (a source checkout, as
make install makes; docs/benchmarks.md says what each measures).

    jpeg-deep bench input_pipeline [--sets photos] [--json out.json]
    jpeg-deep bench model_speed --device cpu
    jpeg-deep bench prediction_time <experiment> [weights]

Every option after the name goes to the benchmark (`jpeg-deep bench NAME --help` lists them).
"""


def _benchmarks_folder():
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / "benchmarks"


def _bench(argv=None):
    import runpy

    folder = _benchmarks_folder()
    names = sorted(p.stem for p in folder.glob("*.py")) if folder.is_dir() else []
    argv = list(argv or [])
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: jpeg-deep bench NAME [options]\n\n" + BENCH_USAGE
              + ("\nbenchmarks: " + ", ".join(names) if names else ""))
        return
    if not names:
        raise FileNotFoundError(f"{folder}: no benchmarks here; they run from a source checkout "
                                "of jpeg_deep (git clone, then make install)")
    if argv[0] not in names:
        raise FileNotFoundError(f"no benchmark {argv[0]!r} in {folder}; known: {', '.join(names)}")
    script = folder / f"{argv[0]}.py"
    saved = sys.argv
    sys.argv = [str(script), *argv[1:]]
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = saved


def _convert_fc(argv=None):
    from jpeg_deep.networks.convert_fc import main as convert_main

    code = convert_main(argv, prog="jpeg-deep convert-fc")
    if code:
        sys.exit(code)


COMMANDS = {"train": _train, "infer": _infer, "evaluate": _evaluate, "predict": _predict,
            "export": _export, "display": _display, "split": _split, "demo": _demo,
            "convert-fc": _convert_fc,
            "bench": _bench}


def main(argv=None) -> int:
    """``jpeg-deep <command> ...``: one entry point for every tool."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print("usage: jpeg-deep {" + ",".join(COMMANDS) + "} ...\n\n"
              "  train     train a network from a config folder, or resume an experiment\n"
              "  infer     predict a split of an experiment's dataset\n"
              "  evaluate  score an experiment (top-k, mAP, rate-accuracy sweeps)\n"
              "  predict   predict your own image files and folders\n"
              "  export    export a trained network as a SavedModel or a LiteRT model\n"
              "  display   draw a detection experiment's boxes on its images\n"
              "  split     a split-computing experiment's halves: export, encode, predict\n"
              "  demo      write the demo data the demo configs read\n"
              "  convert-fc  VGG classifier weights -> SSD backbone weights\n"
              "  bench     run a benchmark of benchmarks/ (a source checkout)\n\n"
              "`jpeg-deep <command> --help` describes one.",
              file=sys.stderr if argv and argv[0] not in ("-h", "--help") else sys.stdout)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    return run(COMMANDS[argv[0]], argv[1:])


def train_main(argv=None) -> int:
    """``jpeg-deep-train`` / ``python training.py``."""
    return run(_train, argv)


def infer_main(argv=None) -> int:
    """``jpeg-deep-infer`` / ``python inference.py``."""
    return run(_infer, argv)


def evaluate_main(argv=None) -> int:
    """``jpeg-deep-evaluate`` / ``python evaluation.py``."""
    return run(_evaluate, argv)


def display_main(argv=None) -> int:
    """``python -m jpeg_deep.display``."""
    return run(_display, argv)


if __name__ == "__main__":  # python -m jpeg_deep.cli <command> ...: the `jpeg-deep` command
    sys.exit(main())
