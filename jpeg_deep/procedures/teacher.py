"""The expert's teacher: its outputs on every training and validation file, computed once by
the chief and cached in the experiment folder (``teacher/outputs.npz``, keyed by the teacher
file's SHA-256, the network and the transform), and the targets made of them."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from jpeg_deep.data.loader import predict_files
from jpeg_deep.networks import build
from jpeg_deep.networks.weights import load_weights

logger = logging.getLogger(__name__)

def expert_target(target, num_classes: int) -> np.ndarray:
    """The expert's encoder: ``(label, teacher probabilities)`` -> ``[one-hot | teacher]``."""
    label, teacher = target
    if teacher is None:
        raise ValueError("no teacher output for this file: it was unreadable when the teacher "
                         "pass ran (delete teacher/outputs.npz to run the pass again)")
    out = np.zeros(2 * num_classes, np.float32)
    out[int(label)] = 1
    out[num_classes:] = teacher
    return out


class TeacherTargets:
    """A dataset whose ``target(i)`` is ``(label, teacher probabilities of path(i))``; a file
    the teacher could not read has None (the loader skips and counts it as unreadable before
    its target is encoded)."""

    def __init__(self, dataset, outputs: dict):
        self.dataset, self.outputs = dataset, outputs

    def __len__(self):
        return len(self.dataset)

    def __getattr__(self, name):  # root, num_classes, class_names... of the dataset
        if name.startswith("__") or "dataset" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["dataset"], name)

    def path(self, i):
        return self.dataset.path(i)

    def target(self, i):
        return self.dataset.target(i), self.outputs.get(str(self.dataset.path(i)))


def file_digest(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def teacher_file(config) -> str:
    """The expert's teacher weights: ``robustness["teacher"]``, else the starting ``weights``."""
    return (config.robustness or {}).get("teacher") or config.weights


def teacher_key(task) -> str:
    """What the cached outputs depend on: the teacher file's bytes, the network, its arguments,
    the input size, the teacher's transform and the reader."""
    config = task.config
    parts = [file_digest(teacher_file(config)), config.network, repr(sorted(config.network_args.items())),
             str(config.input_size), repr(task.transform_config()), config.reader_backend]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def read_teacher_file(path, key) -> dict | None:
    """``{file path: probabilities}`` from a teacher file written with ``key`` (None if absent,
    unreadable, or written for another teacher)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            if str(data["key"]) != key:
                logger.warning("%s was computed with another teacher or transform: computing "
                               "the teacher outputs again", path)
                return None
            return dict(zip(map(str, data["paths"]), data["probabilities"]))
    except (OSError, KeyError, ValueError) as err:
        logger.warning("%s unreadable (%s): computing the teacher outputs again", path, err)
        return None


def compute_teacher_outputs(task, datasets, workers=None) -> dict:
    """The frozen teacher's probabilities on the clean files of ``datasets`` (the validation
    transform), with a progress bar; unreadable files are left out."""
    config = task.config
    teacher_path = teacher_file(config)
    classes = datasets[0].num_classes
    model = build(config.network, classes=classes, input_size=config.input_size,
                  **config.network_args)
    load_weights(model, teacher_path, strict=True)
    loader = task.loader("val")
    paths = list(dict.fromkeys(str(d.path(i)) for d in datasets for i in range(len(d))))
    print(f"teacher {teacher_path}: outputs on {len(paths)} clean files", flush=True)
    outputs = {}
    n_workers = config.workers if workers is None else workers
    for indices, probs in predict_files(model.predict_on_batch, loader, paths, batch_size=64,
                                        workers=n_workers, what="teacher"):
        outputs.update(zip((paths[i] for i in indices), np.asarray(probs).astype(np.float32)))
    return outputs


def teacher_outputs(task, exp, datasets, *, runtime=None) -> dict:
    """The teacher outputs of the experiment ``exp``: read from ``exp/teacher/outputs.npz`` when
    it was written for this teacher, else computed (by the chief; the other workers wait, then
    read the file)."""
    key = teacher_key(task)
    path = exp.teacher_outputs
    outputs = read_teacher_file(path, key)
    if outputs is not None:
        print(f"teacher outputs read from {path} ({len(outputs)} files)", flush=True)
        return outputs
    chief = runtime is None or runtime.is_chief
    if chief:
        outputs = compute_teacher_outputs(task, datasets)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp.npz")
        names = sorted(outputs)
        np.savez(tmp, key=np.array(key), paths=np.array(names), probabilities=np.stack(
            [outputs[n] for n in names]) if names else np.zeros((0, 0), np.float32))
        tmp.replace(path)
        print(f"teacher outputs written to {path}", flush=True)
    if runtime is not None:
        runtime.barrier()
    if not chief:
        outputs = read_teacher_file(path, key)
        if outputs is None:
            raise RuntimeError(f"{path}: the chief's teacher outputs are not readable from this "
                               "worker (the experiment folder must be shared)")
    return outputs
