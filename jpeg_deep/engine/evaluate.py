"""Inference and evaluation of a trained experiment, whatever its task.

:func:`predict_split` rebuilds the inference network from the experiment's saved config, loads
weights by layer name (every layer must load: weights that do not fit stop with one line),
predicts a split with a progress bar and writes the task's prediction files under
``predictions/``; :func:`evaluate_split` scores them and writes ``evaluation/<split>_<weights>.json``
(classification: :mod:`jpeg_deep.tasks.classification`; detection:
:mod:`jpeg_deep.tasks.detection.task` says what each writes).

:func:`quality_sweep` evaluates the split once per coding quality, each file distorted first
(:mod:`jpeg_deep.codec.distortions`): it prints a table and writes, under ``evaluation/``,
``<split>_<weights>_<codec>_<form>.quality.json`` (a list of rows: ``quality``, ``bpp`` -- the
mean bits per pixel of the evaluated files' real encode -- and the task's scores: ``top1``,
``top5``; detection ``map_11point``, ``map_area``, ``AP``, ``AP50``) and a ``.quality.png`` plot
of the scores against bits per pixel; :func:`compare_sweeps` overlays several experiments.
"""
from __future__ import annotations

import json
from pathlib import Path

from jpeg_deep.codec.distortions import Distortion
from jpeg_deep.engine.experiment import Experiment, default_weights, open_experiment
from jpeg_deep.errors import InvalidJPEGError
from jpeg_deep.plot import line_plot
from jpeg_deep.procedures import procedure_for
from jpeg_deep.tasks import task_for, weights_tag


def predict_split(experiment, weights=None, split="test", *, workers=None, limit=None):
    """Predict ``split`` (``train``, ``val`` or ``test``) with ``weights`` (default: the
    experiment's ``best.keras``) and write the task's prediction files; ``limit`` predicts at
    most that many images (classification: spread over the classes)."""
    exp, task, weights = open_experiment(experiment, weights)
    return task.predict(exp, weights, split, workers=workers, limit=limit,
                        inference=procedure_for(task).inference())


def evaluate_split(experiment, weights=None, split="test", *, workers=None,
                   limit=None) -> dict:
    """Score ``weights`` (default: ``best.keras``) on ``split``; prints a table and writes a
    JSON file. Returns the scores."""
    exp, task, weights = open_experiment(experiment, weights)
    return task.evaluate(exp, weights, split, workers=workers, limit=limit,
                         inference=procedure_for(task).inference())


def sweep_name(split, weights, codec="jpeg", form="real", subsampling="4:2:0") -> str:
    """``test_best_jpeg_real``: the stem of a sweep's files (``.quality.json`` / ``.png``)."""
    sampling = "_444" if codec == "jpeg" and subsampling == "4:4:4" else ""
    return f"{weights_tag(split, weights)}_{codec}_{form}{sampling}"


def mean_bits_per_pixel(paths, distortion) -> float:
    """Mean bits per pixel of ``paths`` after ``distortion`` (files that are not readable JPEGs
    are left out, as prediction leaves them out)."""
    values = []
    for path in paths:
        try:
            values.append(distortion.bits_per_pixel(Path(path).read_bytes()))
        except InvalidJPEGError:
            continue
    return float(sum(values) / len(values)) if values else float("nan")


def print_rows(rows, title=""):
    if not rows:
        return
    metrics = [k for k in rows[0] if k not in ("quality", "bpp")]
    if title:
        print(title)
    print(f"{'quality':>8}{'bpp':>9}" + "".join(f"{m:>13}" for m in metrics))
    for row in rows:
        print(f"{row['quality']:>8}{row['bpp']:>9.4f}"
              + "".join(f"{row[m]:>13.4f}" for m in metrics))


def plot_sweeps(sweeps, path, title="", clean=None) -> Path:
    """Plot ``{label: rows}``: each score of each sweep against bits per pixel, on a log axis,
    each point labelled with its quality, the score axis fitted to the data (several sweeps:
    a colour per sweep, its first score solid, the others dashed). ``clean``: ``{label:
    {score: value}}``, each sweep's scores without distortion, drawn as dotted reference lines
    of the sweep's colour."""
    series, references = [], []
    for e, (label, rows) in enumerate(sweeps.items()):
        metrics = [k for k in rows[0] if k not in ("quality", "bpp")] if rows else []
        for m, metric in enumerate(metrics):
            name = metric if len(sweeps) == 1 else f"{label} {metric}"
            # one experiment: a colour per score; several: a colour per experiment, the first
            # score solid and the others dashed
            style = dict(colour=m) if len(sweeps) == 1 else dict(colour=e, dashed=m > 0)
            style["points"] = [r["quality"] if isinstance(r["quality"], str)
                               else f"q{r['quality']}" for r in rows]
            series.append((name, [r["bpp"] for r in rows], [r[metric] for r in rows], style))
            value = (clean or {}).get(label, {}).get(metric)
            if value is not None:
                references.append((f"{name}, undistorted {value:.3f}", value,
                                   m if len(sweeps) == 1 else e))
    return line_plot(series, path, xlabel="bits per pixel (log)", ylabel="score", title=title,
                     xlog=True, references=references)


def clean_scores(exp, task, weights, split, images=None) -> dict | None:
    """The sweep scores of ``weights`` on ``split`` without distortion, from its evaluation
    file (``evaluation/<split>_<weights>.json``, written by ``evaluation.py``) when there is
    one (of ``images`` images, when given: the same subset as the sweep's); None otherwise."""
    path = exp.evaluation / f"{weights_tag(split, weights)}.json"
    try:
        result = json.loads(path.read_text())
        if images is not None and result.get("images") != images:
            return None
        return task.sweep_metrics(result)
    except (OSError, ValueError, KeyError):
        return None


def experiment_label(exp, config) -> str:
    """An experiment's name in a legend: its config's ``description`` when it has one (the
    folder name otherwise)."""
    return config.description or exp.root.name


def quality_sweep(experiment, weights=None, split="test", *, qualities, codec="jpeg",
                  form="real", subsampling="4:2:0", workers=None, limit=None) -> list[dict]:
    """Evaluate ``split`` once per quality of ``qualities``, every file distorted by
    :class:`~jpeg_deep.codec.distortions.Distortion` ``(quality, codec, form, subsampling)`` before
    the task's test transform. Prints a table, writes ``evaluation/<name>.quality.json`` and
    ``.quality.png`` (``<name>``: :func:`sweep_name`; the per-quality evaluation and prediction
    files carry the distortion's tag, e.g. ``test_best_jpeg_real_q10.json``). Returns the rows,
    in the order of ``qualities``."""
    exp, task, weights = open_experiment(experiment, weights)
    distortions = [Distortion(int(q), codec, form, subsampling) for q in qualities]  # checks
    paths = task.evaluated_paths(split, limit)
    rows = []
    for distortion in distortions:
        print(f"\n== {distortion.tag} ==")
        result = task.evaluate(exp, weights, split, workers=workers, limit=limit,
                               distortion=distortion, inference=procedure_for(task).inference())
        rows.append({"quality": distortion.quality,
                     "bpp": mean_bits_per_pixel(paths, distortion),
                     **task.sweep_metrics(result)})
    name = sweep_name(split, weights, codec, form, subsampling)
    out_dir = exp.evaluation
    out_dir.mkdir(exist_ok=True)
    json_path = out_dir / f"{name}.quality.json"
    json_path.write_text(json.dumps(rows, indent=2))
    clean = clean_scores(exp, task, weights, split, images=len(paths))
    if clean is None:
        print(f"(no undistorted reference line: evaluation.py {exp.root} "
              f"{'--limit ' + str(limit) + ' ' if limit else ''}writes the score it draws)")
    label = experiment_label(exp, task.config)
    png = plot_sweeps({label: rows}, out_dir / f"{name}.quality.png",
                      title=f"{label}: {split}, {codec} ({form})",
                      clean={label: clean} if clean else None)
    print()
    print_rows(rows, f"{exp.root.name} ({split}, {codec}, {form})")
    print(f"written to {json_path} and {png}")
    return rows


def split_point(experiment, split="test", *, workers=None, limit=None) -> tuple[str, dict]:
    """``(series label, row)`` of a split-computing experiment (a config with a split block)
    for a rate-accuracy plot: its ``best.keras`` scores and the real streams' bits per pixel
    (from its evaluation file, evaluated first when there is none), the row's point labelled
    with its lambda."""
    exp = Experiment.open(experiment)
    config = exp.load_config(check_paths=False)
    weights = default_weights(exp)
    path = exp.evaluation / f"{weights_tag(split, weights)}.json"
    result = None
    if path.is_file():
        result = json.loads(path.read_text())
        if "bpp" not in result or (limit is not None and result.get("images") != limit):
            result = None
    if result is None:
        result = evaluate_split(experiment, weights, split, workers=workers, limit=limit)
    s = config.split
    label = (f"{config.network} split at {s['at']}, {s.get('channels')} ch"
             + ("" if s.get("labels", True) else ", distilled"))
    return label, {"quality": f"l={s.get('rate_weight', 10.0):g}", "bpp": result["bpp"],
                   **task_for(config).sweep_metrics(result)}


def compare_sweeps(experiments, split="test", *, qualities, codec="jpeg", form="real",
                   subsampling="4:2:0", workers=None, limit=None, output=None,
                   weights=None) -> Path:
    """Overlay the sweeps of several experiments (each with its ``best.keras``; the first with
    ``weights`` when given) in one plot:
    an experiment's saved ``<split>_best_<codec>_<form>.quality.json`` is reused when present
    (whatever qualities it holds), otherwise its sweep is run. Split-computing experiments
    are points at the real rate of their streams instead (:func:`split_point`), those of one
    network, split point and objective joined in one series ordered by rate. The plot goes to
    ``output`` (default: the first experiment's ``evaluation/<name>.compare.png``). Returns its
    path."""
    sweeps, clean = {}, {}
    first_weights = None
    for i, experiment in enumerate(experiments):
        exp = Experiment.open(experiment)
        config = exp.load_config(check_paths=False)
        if config.split is not None:
            label, row = split_point(experiment, split, workers=workers, limit=limit)
            sweeps.setdefault(label, []).append(row)
            sweeps[label].sort(key=lambda r: r["bpp"])
            continue
        exp_weights = Path(weights) if i == 0 and weights else default_weights(exp)
        first_weights = first_weights or exp_weights
        name = sweep_name(split, exp_weights, codec, form, subsampling)
        saved = exp.evaluation / f"{name}.quality.json"
        if saved.is_file():
            rows = json.loads(saved.read_text())
            print(f"{exp.root.name}: reusing {saved}")
        else:
            rows = quality_sweep(experiment, exp_weights, split, qualities=qualities, codec=codec,
                                 form=form, subsampling=subsampling, workers=workers,
                                 limit=limit)
        label = experiment_label(exp, config)
        while label in sweeps:
            label += "'"
        sweeps[label] = rows
        reference = clean_scores(exp, task_for(config), exp_weights, split)  # if evaluated
        if reference is not None:
            clean[label] = reference
    first = Experiment.open(experiments[0])
    name = sweep_name(split, first_weights or default_weights(first), codec, form, subsampling)
    output = Path(output) if output else first.evaluation / f"{name}.compare.png"
    plot_sweeps(sweeps, output, title=f"{split}, {codec} ({form}) and split computing"
                if any(isinstance(r["quality"], str) for rows in sweeps.values() for r in rows)
                else f"{split}, {codec} ({form})", clean=clean)
    for label, rows in sweeps.items():
        print()
        print_rows(rows, label)
    print(f"comparison plot written to {output}")
    return output
