"""Deploying a split-computing experiment (:mod:`jpeg_deep.procedures.split`) in two halves.

:func:`export_halves` writes, under ``<experiment>/export/split_<weights>/``:

``device.keras``  the device half: the network's inputs (the coefficients or pixels of an
                  image) -> the quantised symbols of the code.
``server.keras``  the server half: the symbols -> the network's outputs.
``tables.npz``    the entropy model's code tables
                  (:class:`~jpeg_deep.networks.streams.CodeTables`).
``split.json``    the code's shape, the tables' identity, the task and its classes.

:func:`encode_images` (``jpeg-deep split encode EXP IMAGES OUT``) runs the device half on JPEG
files and writes one stream per image (``OUT/<name>.jdsc``, format in
:mod:`jpeg_deep.networks.streams`); :func:`predict_streams` (``jpeg-deep split predict EXP
STREAMS``) decodes streams and runs the server half, writing the prediction files
``inference.py`` writes (classification). A file that cannot be read (not a JPEG; a truncated
or corrupt stream; a stream of another model) is reported with its reason, and the other files
are processed.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from jpeg_deep.data.datasets.scans import IMAGE_EXTENSIONS
from jpeg_deep.engine.experiment import open_experiment
from jpeg_deep.errors import ConfigError
from jpeg_deep.procedures import procedure_for

STREAM_SUFFIX = ".jdsc"


def _split_procedure(experiment, weights):
    exp, task, weights = open_experiment(experiment, weights)
    procedure = procedure_for(task)
    if procedure.name != "split":
        raise ConfigError(f"{exp.root}: not a split-computing experiment (its config has no "
                          "split block)")
    return exp, task, weights, procedure


def export_folder(exp, weights) -> Path:
    return exp.root / "export" / f"split_{Path(weights).name.split('.')[0]}"


def export_halves(experiment, weights=None) -> Path:
    """Write the two halves, the code tables and ``split.json`` (see the module); returns the
    folder. Rewritten when the weights file is newer than the export."""
    from jpeg_deep.procedures.split import SplitHalves

    exp, task, weights, procedure = _split_procedure(experiment, weights)
    folder = export_folder(exp, weights)
    meta = folder / "split.json"
    if meta.is_file() and meta.stat().st_mtime >= Path(weights).stat().st_mtime:
        return folder
    classes = exp.classes()
    halves = SplitHalves(procedure, classes, weights)
    folder.mkdir(parents=True, exist_ok=True)
    halves.device.save(folder / "device.keras")
    halves.server.save(folder / "server.keras")
    np.savez(folder / "tables.npz", **halves.tables.to_arrays())
    meta.write_text(json.dumps({
        "task": task.name, "code_shape": list(halves.shape),
        "identity": halves.tables.identity.hex(), "weights": str(weights),
        "classes": list(classes.class_names),
        "settings": procedure.settings}, indent=2, default=str))
    return folder


def _halves(folder: Path, which: str):
    import keras

    import jpeg_deep.networks.split  # noqa: F401  (registers the layers the halves hold)
    from jpeg_deep.networks.streams import CodeTables

    model = keras.saving.load_model(folder / f"{which}.keras", compile=False)
    with np.load(folder / "tables.npz") as arrays:
        tables = CodeTables.from_arrays(arrays)
    return model, tables, json.loads((folder / "split.json").read_text())


def _files(paths, suffixes) -> list[Path]:
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in suffixes))
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p} does not exist")
    return out


def encode_images(experiment, images, output, weights=None, *, workers=None) -> dict:
    """Streams of ``images`` (files or folders of JPEG files) in ``output``; returns
    ``{"written": [...], "skipped": {path: reason}, "bytes": mean, "bpp": mean}``."""
    from jpeg_deep.codec.readers import inspect_jpeg
    from jpeg_deep.data.loader import predict_files
    from jpeg_deep.networks import streams

    exp, task, weights, procedure = _split_procedure(experiment, weights)
    folder = export_halves(exp.root, weights)
    device, tables, meta = _halves(folder, "device")
    paths = _files(images, IMAGE_EXTENSIONS)
    loader = procedure.inference().input_loader("test")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    written, skipped, sizes, bpps = [], {}, [], []
    n_workers = task.config.workers if workers is None else workers
    for (i,), symbols in predict_files(device.predict_on_batch, loader, paths, batch_size=1,
                                       workers=n_workers, skipped=skipped, what="encode"):
        path = paths[i]
        info = inspect_jpeg(path.read_bytes(), path)
        data = streams.encode(np.asarray(symbols)[0].astype(np.int64), tables,
                              image_size=(info.height, info.width))
        target = output / f"{path.stem}{STREAM_SUFFIX}"
        target.write_bytes(data)
        written.append(target)
        sizes.append(len(data))
        bpps.append(8 * len(data) / (info.width * info.height))
    summary = dict(written=[str(p) for p in written], skipped={str(k): v for k, v in
                                                               skipped.items()},
                   bytes=float(np.mean(sizes)) if sizes else float("nan"),
                   bpp=float(np.mean(bpps)) if bpps else float("nan"))
    print(f"{len(written)} streams written to {output} (mean {summary['bytes']:.1f} bytes, "
          f"{summary['bpp']:.4f} bits per pixel of the images; header "
          f"{streams.HEADER_BYTES} bytes each)")
    for path, reason in skipped.items():
        print(f"  skipped {path}: {reason}")
    return summary


def predict_streams(experiment, stream_paths, weights=None, *, output=None, top=5) -> dict:
    """Predictions of the streams ``stream_paths`` (files or folders of ``.jdsc`` files) with
    the server half; writes ``<output>.npz`` (paths, probabilities, class_ids, skipped) and
    ``<output>.csv`` (path, predicted class, top classes), ``output`` defaulting to the
    experiment's ``predictions/streams_<weights>``. Returns ``{"predicted": n, "skipped":
    {path: reason}, "files": [...]}``."""
    from jpeg_deep.networks import streams
    from jpeg_deep.tasks import weights_tag

    exp, task, weights, procedure = _split_procedure(experiment, weights)
    if task.name != "classification":
        raise ConfigError(f"{exp.root}: split predict writes classification predictions; a "
                          f"{task.name} split experiment is evaluated with evaluation.py")
    folder = export_halves(exp.root, weights)
    server, tables, meta = _halves(folder, "server")
    shape = tuple(meta["code_shape"])
    names = meta["classes"]
    paths = _files(stream_paths, {STREAM_SUFFIX})
    kept, probabilities, skipped = [], [], {}
    for path in paths:
        try:
            symbols = streams.decode(path.read_bytes(), tables, shape)
        except streams.StreamError as err:
            skipped[str(path)] = str(err)
            print(f"error: {path}: {err}")
            continue
        probabilities.append(np.asarray(server.predict_on_batch(
            symbols[None].astype(np.float32)))[0])
        kept.append(str(path))
    output = Path(output) if output else exp.predictions / weights_tag("streams", weights)
    output.parent.mkdir(parents=True, exist_ok=True)
    probs = np.stack(probabilities) if probabilities else np.zeros((0, len(names)), np.float32)
    np.savez_compressed(output.with_suffix(".npz"), paths=np.array(kept), probabilities=probs,
                        class_ids=np.array(names), skipped=np.array(sorted(skipped)))
    with open(output.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "predicted_class", f"top{top}"])
        for path, p in zip(kept, probs):
            order = np.argsort(-p)[:top]
            writer.writerow([path, names[order[0]],
                             " ".join(f"{names[t]}:{p[t]:.4f}" for t in order)])
    files = [output.with_suffix(".npz"), output.with_suffix(".csv")]
    print(f"{len(kept)} of {len(paths)} streams predicted; written: "
          + ", ".join(str(p) for p in files))
    return dict(predicted=len(kept), skipped=skipped, files=[str(p) for p in files],
                probabilities=probs, paths=kept)
