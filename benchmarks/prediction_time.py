"""Prediction time of an experiment's network, measured as the reference's ``prediction_time.py``:
one batch of real inputs is read and preloaded, then ``--predictions`` predictions are run on
it, ``--runs`` times; FPS = batch size x predictions / run time, reported as mean, spread
(standard deviation), min and max over the runs. Only the network is timed (no JPEG reading).

    python benchmarks/prediction_time.py <experiment> [weights] [--runs 10] [--predictions 200]
    python -m benchmarks.prediction_time <experiment> --split test   # full images, batch 1

The batch is the first ``--batch-size`` (default: the config's) images of ``--split``
(default ``val``: centre crops at the training size). ``--split test`` feeds full images one at
a time to the inference network, as the papers' test protocol does. Without ``weights`` the
network keeps its initial weights (the timing does not depend on them). The result is printed
and written to ``<experiment>/benchmarks/prediction_time_<split>_<weights>.json``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(predict, batch, predictions: int, runs: int) -> list[float]:
    predict(batch)  # warm-up: tracing and memory allocation
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(predictions):
            predict(batch)
        seconds.append(time.perf_counter() - start)
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment")
    parser.add_argument("weights", nargs="?", help="weights or model file (default: none)")
    parser.add_argument("-nr", "--runs", type=int, default=10)
    parser.add_argument("-p", "--predictions", type=int, default=200,
                        help="predictions per run (the reference used 200)")
    parser.add_argument("-b", "--batch-size", type=int, help="default: the config's")
    parser.add_argument("-s", "--split", default="val", choices=["train", "val", "test"])
    args = parser.parse_args(argv)

    import numpy as np

    from jpeg_deep.data.loader import iter_samples
    from jpeg_deep.tasks import task_for
    from jpeg_deep.engine.experiment import Experiment

    exp = Experiment.open(args.experiment)
    config = exp.load_config()
    task = task_for(config)
    full_images = args.split == "test" and task.name == "classification"
    dataset = task.dataset(args.split)
    model = task.build(dataset, inference=full_images)
    if args.weights:
        from jpeg_deep.networks.weights import load_weights

        load_weights(model, args.weights)
    batch_size = 1 if full_images else (args.batch_size or config.batch_size)
    loader = task.loader("test" if full_images else "val", inference=full_images)
    samples = []
    for _, inputs, _ in iter_samples(loader, (dataset.path(i) for i in range(len(dataset)))):
        if inputs is not None:
            samples.append(inputs)
        if len(samples) == batch_size:
            break
    if len(samples) < batch_size:
        raise SystemExit(f"{dataset.root}: only {len(samples)} readable images, "
                         f"batch size {batch_size}")
    batch = [np.stack(parts) for parts in zip(*samples)]
    batch = batch[0] if len(batch) == 1 else batch

    seconds = measure(model.predict_on_batch, batch, args.predictions, args.runs)
    fps = np.array([batch_size * args.predictions / s for s in seconds])
    result = {
        "experiment": str(exp.root), "network": model.name, "weights": args.weights,
        "parameters": int(model.count_params()), "split": args.split,
        "batch_size": batch_size, "predictions_per_run": args.predictions, "runs": args.runs,
        "seconds_per_run_mean": float(np.mean(seconds)),
        "fps_mean": float(fps.mean()), "fps_std": float(fps.std()),
        "fps_min": float(fps.min()), "fps_max": float(fps.max()),
        "device": _device(),
    }
    print(f"{model.name}: {result['parameters']:,} parameters, batch {batch_size}, "
          f"{args.predictions} predictions x {args.runs} runs on {result['device']}")
    print(f"mean {result['seconds_per_run_mean']:.3f} s per run; FPS {fps.mean():.1f} "
          f"+/- {fps.std():.1f} (min {fps.min():.1f}, max {fps.max():.1f})")
    out = exp.root / "benchmarks"
    out.mkdir(exist_ok=True)
    tag = Path(args.weights).name.split(".")[0] if args.weights else "initial"
    path = out / f"prediction_time_{args.split}_{tag}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"written to {path}")
    return result


def _device() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return f"{len(gpus)} GPU(s)" if gpus else "CPU"


if __name__ == "__main__":
    from jpeg_deep.cli import run

    sys.exit(run(main))
