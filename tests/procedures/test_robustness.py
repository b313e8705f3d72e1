"""Training against coding artifacts (jpeg_deep.procedures.robustness): the per-sample distortion, the
losses on hand-computed cases, the teacher cache, the stability pairs, the config checks and the
three procedures end to end through training.py / evaluation.py."""
import csv
import json
import os

import numpy as np
import pytest

from helpers import REPO, run, write_config
from jpeg_deep.codec import distortions as D
from jpeg_deep.procedures import losses as L
from jpeg_deep.procedures import robustness as R
from jpeg_deep.procedures import teacher as T
from jpeg_deep.config import ConfigError, load_config


def test_random_distortion_is_drawn_from_the_seed():
    rd = D.RandomDistortion(quality=(10, 30), p=0.5, form="dct")
    draws = [rd.draw(seed) for seed in range(400)]
    assert draws[:50] == [rd.draw(seed) for seed in range(50)]  # the seed decides, nothing else
    kept = [d for d in draws if d is not None]
    assert 0.4 < len(kept) / len(draws) < 0.6
    assert {d.quality for d in kept} == set(range(10, 31))
    assert all(d.form == "dct" and d.codec == "jpeg" for d in kept)
    assert D.RandomDistortion(quality=20).draw(3) == D.Distortion(20)
    assert all(D.RandomDistortion(quality=20, p=0.0).draw(s) is None for s in range(20))
    fixed = D.Distortion(40)
    assert fixed.draw(7) is fixed
    for bad, match in ((dict(quality=(30, 10)), "range"), (dict(quality=0), "1..100"),
                       (dict(p=1.5), "probability"), (dict(form="x"), "unknown distortion")):
        with pytest.raises(ValueError, match=match):
            D.RandomDistortion(**bad)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_expert_loss_by_hand():
    labels = np.array([[0, 1, 0], [1, 0, 0]], np.float32)
    teacher = np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]], np.float32)
    student = _softmax(np.array([[0.1, 2.0, -1.0], [0.3, 0.2, 0.9]], np.float32))
    ce = -np.log(student[np.arange(2), [1, 0]])
    kl = np.sum(teacher * np.log(teacher / student), axis=1)  # KL(teacher || student)
    y_true = np.concatenate([labels, teacher], 1)
    loss = L.RobustnessLoss("expert", alpha=0.3)
    assert float(loss(y_true, student)) == pytest.approx(np.mean(ce + 0.3 * kl), rel=1e-5)
    assert np.asarray(L.expert_kl(y_true, student)) == pytest.approx(kl, rel=1e-5)
    assert np.asarray(L.expert_cross_entropy(y_true, student)) == pytest.approx(ce, rel=1e-5)
    top1 = np.asarray(L.expert_top_k(y_true, student, k=1))
    assert top1.tolist() == [1.0, 0.0]  # the labels' half of y_true, not the teacher's


def test_stability_loss_by_hand():
    labels = np.array([[0, 0, 1], [0, 1, 0]], np.float32)
    clean = _softmax(np.array([[0.0, 0.5, 2.0], [1.0, 1.2, -0.5]], np.float32))
    distorted = _softmax(np.array([[0.4, 1.5, 1.0], [0.0, 2.0, 0.0]], np.float32))
    ce = -np.log(clean[np.arange(2), [2, 1]])
    kl = np.sum(clean * np.log(clean / distorted), axis=1)  # KL(f(clean) || f(distorted))
    y_pred = np.concatenate([clean, distorted], 1)
    loss = L.RobustnessLoss("stability", alpha=2.0)
    assert float(loss(labels, y_pred)) == pytest.approx(np.mean(ce + 2.0 * kl), rel=1e-5)
    assert np.asarray(L.stability_top_k(labels, y_pred, k=1)).tolist() == [1.0, 1.0]
    assert np.asarray(L.stability_top_k(labels, y_pred, k=1, part=1)).tolist() == [0.0, 1.0]
    # the KL term vanishes when the distortion changes nothing
    same = np.concatenate([clean, clean], 1)
    assert float(loss(labels, same)) == pytest.approx(float(np.mean(ce)), rel=1e-5)


def test_stability_pairs_share_their_crop(tiny_demo):
    from jpeg_deep.data.transforms.classification_dct import DCTTransformConfig
    from jpeg_deep.data.loader import ClassificationDCTTransform, SampleLoader

    path = sorted((tiny_demo / "imagenet" / "train").rglob("*.jpg"))[0]
    base = SampleLoader("y_cbcr", "train", DCTTransformConfig(resize=40, crop=32),
                        transform_factory=ClassificationDCTTransform)
    pair = R.PairLoader(base, D.RandomDistortion(quality=10, form="dct"))
    x = pair(path, rng_seed=11)
    clean = base(path, rng_seed=11)
    distorted = SampleLoader("y_cbcr", "train", DCTTransformConfig(resize=40, crop=32),
                             transform_factory=ClassificationDCTTransform,
                             distortion=D.Distortion(10, form="dct"))(path, rng_seed=11)
    assert len(x) == 4
    for got, want in zip(x, tuple(clean) + tuple(distorted)):
        np.testing.assert_array_equal(got, want)
    assert np.abs(x[0] - x[2]).mean() > 0.5  # the distorted half differs


def _tiny_model_file(tmp_path, classes=5):
    from jpeg_deep.networks import build

    model = build("vgg16_dct", classes=classes, input_size=32, width=0.0625)
    path = tmp_path / "teacher.keras"
    model.save(path)
    return path


def test_teacher_outputs_are_computed_once(tmp_path, tiny_demo, monkeypatch):
    from jpeg_deep.tasks import task_for
    from jpeg_deep.engine.experiment import Experiment

    weights = _tiny_model_file(tmp_path)
    config = load_config(write_config(tmp_path / "config" / "expert", tiny_demo, workers=0,
                                      weights=str(weights),
                                      robustness=dict(method="expert", quality=10)))
    task = task_for(config)
    datasets = [task.dataset("train"), task.dataset("val")]
    exp = Experiment(tmp_path / "exp")
    calls = []
    real = T.compute_teacher_outputs
    monkeypatch.setattr(T, "compute_teacher_outputs",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    first = T.teacher_outputs(task, exp, datasets)
    n = sum(len(d) for d in datasets)
    assert len(calls) == 1 and len(first) == n
    assert (exp.root / "teacher" / "outputs.npz").is_file()
    probs = np.stack(list(first.values()))
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    again = T.teacher_outputs(task_for(config), exp, datasets)  # e.g. after a restart
    assert len(calls) == 1  # no second teacher pass
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    _tiny_model_file(tmp_path)  # another teacher in the same file: a new pass
    other = T.teacher_outputs(task_for(config), exp, datasets)
    assert len(calls) == 2
    assert any(not np.allclose(first[k], other[k]) for k in first)


def test_robustness_config_errors(tmp_path, tiny_demo):
    weights = tmp_path / "w.keras"
    weights.write_bytes(b"")

    def refused(match, **robustness_and_settings):
        settings = dict(weights=str(weights))
        settings.update(robustness_and_settings)
        folder = write_config(tmp_path / "config" / "bad", tiny_demo, **settings)
        with pytest.raises(ConfigError, match=match):
            load_config(folder)

    refused("robustness method must be one of", robustness=dict(method="distill"))
    refused(r"robustness 'qualty' unknown", robustness=dict(method="expert", qualty=10))
    refused("range", robustness=dict(method="fine_tune", quality=(50, 20)))
    refused("alpha must be a number", robustness=dict(method="expert", alpha=-1))
    refused("teacher is for method 'expert' only",
            robustness=dict(method="stability", teacher=str(weights)))
    refused("starts from a trained network", weights=None, robustness=dict(method="fine_tune"))
    refused("teacher .* does not exist",
            robustness=dict(method="expert", teacher=str(tmp_path / "none.keras")))


def test_expert_and_stability_are_for_classifiers(tmp_path):
    from jpeg_deep.config import Config

    config = Config(path=tmp_path / "config.py", network="ssd300_vgg16_dct", task="detection",
                    weights="w.keras", robustness=dict(method="expert"))
    with pytest.raises(ConfigError, match="for classifiers"):
        R.check(config, check_paths=False)
    config.robustness = dict(method="fine_tune", quality=(10, 50), p=0.5)
    R.check(config, check_paths=False)


def _csv_columns(exp):
    with open(exp / "logs" / "training.csv", newline="") as f:
        return next(csv.reader(f))


def test_each_procedure_trains_and_evaluates(tmp_path, tiny_demo):
    """From a tiny baseline: fine-tuning, expert and stability training through training.py,
    their loss terms in the logs, the expert's teacher cache reused by a restart, and the
    rate-accuracy sweep of the stability experiment (whose checkpoints hold the network nested
    in the clean / distorted pair model)."""
    out = tmp_path / "experiments"
    env = {"EXPERIMENTS_OUTPUT_DIRECTORY": str(out)}
    base = run("training.py", "-c", write_config(tmp_path / "config" / "base", tiny_demo,
                                                 epochs=1), env=env)
    assert base.returncode == 0, base.stderr[-3000:]
    (baseline,) = out.iterdir()
    weights = baseline / "checkpoints" / "best.keras"
    exps = {}
    for method in R.METHODS:
        folder = write_config(tmp_path / "config" / method, tiny_demo, epochs=1,
                              weights=str(weights),
                              robustness=dict(method=method, quality=(10, 30), alpha=0.5))
        result = run("training.py", "-c", folder, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        (exps[method],) = out.glob(f"{method}_*")
        assert f"into vgg16_dct" in result.stderr  # the baseline's weights were loaded
    assert {"loss", "top1", "val_loss"} <= set(_csv_columns(exps["fine_tune"]))
    assert "kl" not in _csv_columns(exps["fine_tune"])
    for method in ("expert", "stability"):
        columns = set(_csv_columns(exps[method]))
        assert {"cross_entropy", "kl", "val_cross_entropy", "val_kl", "top1"} <= columns
        assert any(f.name.startswith("events") for f in
                   (exps[method] / "logs" / "tensorboard" / "train").iterdir())
    assert "top1_distorted" in _csv_columns(exps["stability"])
    assert (exps["expert"] / "teacher" / "outputs.npz").is_file()
    pinned = json.loads((exps["expert"] / "config" / "overrides.json").read_text())
    assert pinned["weights"] == str(weights)  # a restart starts from the same file
    summary = json.loads((exps["stability"] / "summary.json").read_text())
    assert summary["settings"]["robustness"]["method"] == "stability"

    again = run("training.py", "-r", exps["expert"], "--epochs", "2")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "teacher outputs read from" in again.stdout
    assert "outputs on" not in again.stdout  # no second teacher pass

    sweep = run("evaluation.py", exps["stability"], "--jpeg-quality", "10", "--limit", "5")
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    rows = json.loads((exps["stability"] / "evaluation" /
                       "test_best_jpeg_real.quality.json").read_text())
    assert [r["quality"] for r in rows] == [10]


def test_demo_robustness_configs_start_from_the_demo_baseline(tmp_path, monkeypatch):
    """Without a finished demo baseline the configs say to train it; with one they start from
    its best.keras (the newest finished one)."""
    from jpeg_deep.engine.experiment import latest_weights

    monkeypatch.setenv("EXPERIMENTS_OUTPUT_DIRECTORY", str(tmp_path))
    monkeypatch.delenv("BASELINE_WEIGHTS", raising=False)
    assert latest_weights("demo_vgg16_dct") is None
    for stamp, finished in (("20260101-000000_aaaaaa", True), ("20260102-000000_bbbbbb", True),
                            ("20260103-000000_cccccc", False)):
        exp = tmp_path / f"demo_vgg16_dct_{stamp}"
        (exp / "checkpoints").mkdir(parents=True)
        (exp / "checkpoints" / "best.keras").write_bytes(b"")
        (exp / "summary.json").write_text(json.dumps({"finished": "x"} if finished else {}))
    other = tmp_path / "demo_vgg16_dct_expert_20270101-000000_dddddd" / "checkpoints"
    other.mkdir(parents=True)  # another config's experiment
    assert latest_weights("demo_vgg16_dct") == str(
        tmp_path / "demo_vgg16_dct_20260102-000000_bbbbbb" / "checkpoints" / "best.keras")
    monkeypatch.setenv("BASELINE_WEIGHTS", os.devnull)
    for method in R.METHODS:
        config = load_config(REPO / "config" / "demo" / f"vgg16_dct_{method}",
                             check_paths=False)
        assert config.weights == os.devnull and config.robustness["method"] == method


@pytest.mark.parametrize("folder", sorted(p.parent.name for p in (
    REPO / "config" / "imagenet" / "robustness").glob("*/config.py")))
def test_imagenet_robustness_configs_load(folder, tiny_demo, monkeypatch):
    for var in ("DATASET_PATH_TRAIN", "DATASET_PATH_VAL", "DATASET_PATH_TEST"):
        monkeypatch.setenv(var, str(tiny_demo / "imagenet"))
    monkeypatch.setenv("BASELINE_WEIGHTS", os.devnull)
    config = load_config(REPO / "config" / "imagenet" / "robustness" / folder)
    assert config.robustness["quality"] == 10
    assert config.robustness["method"] in folder and folder.endswith(config.robustness["method"])
    assert config.network in ("resnet50", "late_concat_rfa_dcode")
    assert config.weights == os.devnull and config.input_size == 224


def test_an_unreadable_file_is_skipped_in_expert_training(tmp_path, tiny_demo):
    """A corrupt training file has no teacher output; the batches skip and count it as
    unreadable, as in any training, instead of failing on its missing target."""
    import functools
    import shutil

    from jpeg_deep.data.datasets.folders import ImageFolder
    from jpeg_deep.data.transforms.classification_dct import DCTTransformConfig
    from jpeg_deep.data.batches import Batches, EventLog
    from jpeg_deep.data.loader import ClassificationDCTTransform, SampleLoader

    root = tmp_path / "train"
    shutil.copytree(tiny_demo / "imagenet" / "train", root)
    bad = sorted(root.rglob("*.jpg"))[0]
    bad.write_bytes(b"not a jpeg")
    dataset = ImageFolder.scan(root)
    outputs = {str(dataset.path(i)): np.full(dataset.num_classes, 0.2, np.float32)
               for i in range(len(dataset)) if dataset.path(i) != bad}
    targets = T.TeacherTargets(dataset, outputs)
    i_bad = [dataset.path(i) for i in range(len(dataset))].index(bad)
    assert targets.target(i_bad)[1] is None
    loader = SampleLoader("y_cbcr", "train", DCTTransformConfig(resize=40, crop=32),
                          transform_factory=ClassificationDCTTransform,
                          encoder=functools.partial(T.expert_target,
                                                    num_classes=dataset.num_classes))
    events = EventLog(tmp_path / "events.tsv")
    batches = Batches(targets, batch_size=len(dataset), loader=loader, event_log=events,
                      shuffle=False)
    x, y = batches[0]
    assert y.shape == (len(dataset), 2 * dataset.num_classes)
    assert list(events.skipped()) == [str(bad)]
    with pytest.raises(ValueError, match="no teacher output"):
        T.expert_target((0, None), dataset.num_classes)
