"""Draw a detection experiment's boxes on its images and write them as pictures.

    python -m jpeg_deep.display <experiment> [weights] [--split test] [--images 16]
        [--ground-truth] [--threshold 0.5]

Writes ``display/<split>_<weights>/<image id>.png`` (detections above ``--threshold`` in red
with class name and score; with ``--ground-truth`` the annotated boxes in green, difficult ones
in yellow) and one grid of all of them, ``display/<split>_<weights>/grid.png``, under the
experiment folder. ``weights`` defaults to the experiment's ``checkpoints/best.keras``; the
images are ``--images`` evenly spaced over the split. Boxes are drawn with
``keras.visualization.draw_bounding_boxes`` (:func:`jpeg_deep.plot.draw`).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jpeg_deep.plot import DIFFICULT, PREDICTED, TRUTH, draw, grid


def display(experiment, weights=None, split="test", *, images=16, ground_truth=False,
            threshold=0.5, workers=None) -> Path:
    """Draw and write the pictures; returns their folder."""
    from PIL import Image

    from jpeg_deep.config import ConfigError
    from jpeg_deep.data.augmentation import decode_rgb
    from jpeg_deep.evaluation import open_experiment
    from jpeg_deep.tasks import weights_tag

    exp, task, weights = open_experiment(experiment, weights)
    if task.name != "detection":
        raise ConfigError(f"{exp.root}: display draws detections; this is a {task.name} "
                          "experiment")
    samples, detections, dataset = task.detections(weights, split, workers=workers,
                                                   limit=images)
    out_dir = exp.root / "display" / weights_tag(split, weights)
    out_dir.mkdir(parents=True, exist_ok=True)
    pictures = []
    for sample in samples:
        rgb = decode_rgb(Path(sample.path).read_bytes(), sample.path)
        if ground_truth:
            for flag, color in ((False, TRUTH), (True, DIFFICULT)):
                keep = sample.difficult == flag
                rgb = draw(rgb, sample.boxes[keep], sample.labels[keep], dataset.class_names,
                           color)
        det = detections.get(sample.image_id)
        if det is not None:
            keep = det["scores"] >= threshold
            rgb = draw(rgb, det["boxes"][keep], det["labels"][keep], dataset.class_names,
                       PREDICTED, det["scores"][keep])
        Image.fromarray(rgb).save(out_dir / f"{sample.image_id}.png")
        pictures.append(rgb)
    if pictures:
        Image.fromarray(grid(pictures)).save(out_dir / "grid.png")
    print(f"{len(pictures)} pictures and grid.png written to {out_dir}")
    return out_dir


def _main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m jpeg_deep.display",
                                     description=__doc__.splitlines()[0])
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


def main(argv=None) -> int:
    from jpeg_deep.cli import run

    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
