"""Inference and evaluation of a trained classification experiment.

:func:`predict_split` rebuilds the inference network from the experiment's saved config, loads
weights by layer name (a dense classifier's weights reshape into its fully convolutional twin),
predicts every file of a split with a progress bar and writes

``predictions/<split>_<weights>.csv``   path, true class, predicted class, top-5 with probabilities
``predictions/<split>_<weights>.npz``   ``paths``, ``labels``, ``probabilities`` (N x classes),
                                        ``class_ids``, ``skipped`` (unreadable files)

:func:`evaluate_split` computes top-1 / top-5 from those predictions and writes
``evaluation/<split>_<weights>.json``.
"""
from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import keras
import numpy as np

from jpeg_deep.data.datasets import ImageFolder
from jpeg_deep.data.pipeline import iter_samples
from jpeg_deep.networks.weights import load_weights
from jpeg_deep.training import Experiment, build_checked, sample_loader

logger = logging.getLogger(__name__)


def _tag(split, weights) -> str:
    return f"{split}_{Path(weights).name.split('.')[0]}"


def default_weights(exp: Experiment) -> Path:
    """The experiment's ``checkpoints/best.keras`` (what inference and evaluation use when no
    weights are named)."""
    path = exp.checkpoints / "best.keras"
    if not path.is_file():
        raise FileNotFoundError(f"{exp.root} has no checkpoints/best.keras yet; name the "
                                "weights to use (e.g. checkpoints/final.keras)")
    return path


def predict_split(experiment, weights=None, split="test", *, workers=None, limit=None):
    """Predict ``split`` (``train``, ``val`` or ``test``) and write the prediction files.
    ``weights`` defaults to the experiment's ``best.keras``; ``limit`` predicts at most that
    many files, spread evenly over the classes. Returns the path of the ``.npz`` file."""
    exp = Experiment.open(experiment)
    config = exp.load_config()
    weights = Path(weights) if weights is not None else default_weights(exp)
    dataset = ImageFolder.scan(config.split_dir(split), config.class_index)
    model = build_checked(config, dataset.num_classes, inference=True)
    load_weights(model, weights, strict=True)  # WeightsError naming the file if it does not fit
    loader = sample_loader(config, split, inference=True)
    subset = dataset.balanced_subset(limit)
    paths = [subset.path(i) for i in range(len(subset))]
    labels = list(subset.labels)
    probs, kept, kept_labels, skipped = [], [], [], {}
    bar = keras.utils.Progbar(len(paths), unit_name="image")
    n_workers = config.workers if workers is None else workers
    for (path, inputs, error), label in zip(iter_samples(loader, paths, n_workers), labels):
        if inputs is None:
            logger.warning("skipping %s: %s", path, error)
            skipped[str(path)] = error
        else:
            batch = [x[None] for x in inputs]
            out = model.predict_on_batch(batch[0] if len(batch) == 1 else batch)
            probs.append(np.asarray(out)[0])
            kept.append(str(path))
            kept_labels.append(label)
        bar.add(1)
    out_dir = exp.root / "predictions"
    out_dir.mkdir(exist_ok=True)
    tag = _tag(split, weights)
    probabilities = np.stack(probs) if probs else np.zeros((0, dataset.num_classes), np.float32)
    npz = out_dir / f"{tag}.npz"
    np.savez_compressed(npz, paths=np.array(kept), labels=np.array(kept_labels, np.int64),
                        probabilities=probabilities, class_ids=np.array(dataset.class_ids),
                        skipped=np.array(sorted(skipped)))
    names = dataset.class_names
    with open(out_dir / f"{tag}.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "true_class", "predicted_class", "top5"])
        for path, label, p in zip(kept, kept_labels, probabilities):
            top = np.argsort(-p)[:5]
            writer.writerow([path, names[label], names[top[0]],
                             " ".join(f"{names[t]}:{p[t]:.4f}" for t in top)])
    print(f"predictions of {len(kept)} images written to {npz} "
          f"({len(skipped)} unreadable files skipped)")
    return npz


def top_k_accuracy(probabilities: np.ndarray, labels: np.ndarray, k: int) -> float:
    if len(labels) == 0:
        return float("nan")
    k = min(k, probabilities.shape[1])
    top = np.argsort(-probabilities, axis=1)[:, :k]
    return float(np.mean(np.any(top == np.asarray(labels)[:, None], axis=1)))


def evaluate_split(experiment, weights=None, split="test", *, workers=None,
                   limit=None) -> dict:
    """Top-1 / top-5 of ``weights`` (default: ``best.keras``) on ``split``; prints a table and
    writes a JSON file."""
    exp = Experiment.open(experiment)
    weights = Path(weights) if weights is not None else default_weights(exp)
    npz = predict_split(exp.root, weights, split, workers=workers, limit=limit)
    data = np.load(npz)
    result = {
        "experiment": str(exp.root), "weights": str(weights), "split": split,
        "images": int(len(data["labels"])), "skipped": int(len(data["skipped"])),
        "top1": top_k_accuracy(data["probabilities"], data["labels"], 1),
        "top5": top_k_accuracy(data["probabilities"], data["labels"], 5),
    }
    out_dir = exp.root / "evaluation"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"{_tag(split, weights)}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"\n{'split':<8}{'images':>8}{'top-1':>9}{'top-5':>9}")
    print(f"{split:<8}{result['images']:>8}{result['top1']:>9.4f}{result['top5']:>9.4f}")
    print(f"written to {path}")
    return result
