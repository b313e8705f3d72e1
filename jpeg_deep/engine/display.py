"""Draw a detection experiment's boxes on its images and write them as pictures
(``jpeg-deep display``, ``python -m jpeg_deep.display``).

Writes ``display/<split>_<weights>/<image id>.png`` (detections above ``--threshold`` in red
with class name and score; with ``--ground-truth`` the annotated boxes in green, difficult ones
in yellow) and one grid of all of them, ``display/<split>_<weights>/grid.png``, under the
experiment folder. ``weights`` defaults to the experiment's ``checkpoints/best.keras``; the
images are ``--images`` evenly spaced over the split. Boxes are drawn with
``keras.visualization.draw_bounding_boxes`` (:func:`jpeg_deep.plot.draw`).
"""
from __future__ import annotations

from pathlib import Path

from jpeg_deep.codec.jpeg import decode_rgb
from jpeg_deep.engine.experiment import open_experiment
from jpeg_deep.errors import ConfigError
from jpeg_deep.plot import DIFFICULT, PREDICTED, TRUTH, draw, grid
from jpeg_deep.procedures import procedure_for
from jpeg_deep.tasks import weights_tag


def display(experiment, weights=None, split="test", *, images=16, ground_truth=False,
            threshold=0.5, workers=None) -> Path:
    """Draw and write the pictures; returns their folder."""
    from PIL import Image

    exp, task, weights = open_experiment(experiment, weights)
    if task.name != "detection":
        raise ConfigError(f"{exp.root}: display draws detections; this is a {task.name} "
                          "experiment")
    samples, detections, dataset = task.detections(weights, split, workers=workers,
                                                   limit=images,
                                                   inference=procedure_for(task).inference())
    out_dir = exp.display / weights_tag(split, weights)
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
