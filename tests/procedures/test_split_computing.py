"""Split computing (jpeg_deep.procedures.split, jpeg_deep.engine.split): the loss on
hand-computed cases, the config checks before any folder, supervised and unsupervised training
lowering rate and loss, evaluation through the real streams, and the device / server commands
with corrupt and foreign streams among the files."""
import csv
import json

import numpy as np
import pytest

from helpers import run, write_config, write_detection_config
from jpeg_deep.procedures import split as P


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_split_loss_by_hand():
    labels = np.array([[0, 1, 0], [1, 0, 0]], np.float32)
    student = _softmax(np.array([[0.1, 2.0, -1.0], [0.3, 0.2, 0.9]], np.float32))
    teacher = _softmax(np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]], np.float32))
    bpp = np.array([[0.25], [0.75]], np.float32)
    ce = -np.log(student[np.arange(2), [1, 0]])
    supervised = P.SplitLoss("categorical_crossentropy", rate_weight=0.4, width=3)
    y_pred = np.concatenate([student, bpp], 1)
    assert float(supervised(labels, y_pred)) == pytest.approx(np.mean(ce + 0.4 * bpp[:, 0]),
                                                              rel=1e-5)
    kl = np.sum(teacher * np.log(teacher / student), axis=1)
    distil = P.SplitLoss(None, rate_weight=2.0, width=3, distil=True)
    y_pred = np.concatenate([student, teacher, bpp], 1)
    assert float(distil(np.zeros((2, 1)), y_pred)) == pytest.approx(
        np.mean(kl + 2.0 * bpp[:, 0]), rel=1e-5)
    agreement = P.SplitMetric("agreement", distil)
    agreement.update_state(np.zeros((2, 1)), y_pred)
    assert float(agreement.result()) == pytest.approx(0.5)  # sample 2: 2 vs 0
    rate = P.SplitMetric("rate", distil)
    rate.update_state(np.zeros((2, 1)), y_pred)
    assert float(rate.result()) == pytest.approx(0.5)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, tiny_demo):
    """The best.keras of a tiny uncut VGG-DCT trained for 2 epochs (shared by the tests)."""
    root = tmp_path_factory.mktemp("uncut")
    result = run("training.py", "-c", write_config(root / "config", tiny_demo, epochs=2),
                 "-o", root / "experiments")
    assert result.returncode == 0, result.stderr[-3000:]
    (folder,) = (root / "experiments").iterdir()
    return folder / "checkpoints" / "best.keras"


def test_split_config_mistakes_fail_before_any_folder(tmp_path, tiny_demo, baseline):
    out = tmp_path / "experiments"
    env = {"EXPERIMENTS_OUTPUT_DIRECTORY": str(out)}
    weights = baseline
    cases = {
        "point": (dict(at="block4_conv2", channels=4), "not a split point"),
        "layer": (dict(at="conv9", channels=4), "has no layer 'conv9'"),
        "key": (dict(at="block5_conv1", channels=4, lamda=1), "'lamda' unknown"),
        "channels": (dict(at="block5_conv1"), "channels must be an int >= 1"),
        "distil": (dict(at="block5_conv1", channels=4, labels=False, train_back=True),
                   "set train_front and train_back to False"),
    }
    for name, (block, message) in cases.items():
        folder = write_config(tmp_path / "config" / name, tiny_demo, weights=str(weights),
                              split=block)
        result = run("training.py", "-c", folder, env=env)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert result.returncode == 2 and len(errors) == 1 and message in errors[0], (
            name, result.stderr)
        assert "Traceback" not in result.stderr
    folder = write_config(tmp_path / "config" / "noweights", tiny_demo,
                          split=dict(at="block5_conv1", channels=4))
    result = run("training.py", "-c", folder, env=env)
    assert result.returncode == 2 and "starts from a trained network" in result.stderr
    assert not out.exists()


def test_a_detector_split_after_a_head_tap_is_refused(tmp_path):
    """The early-fusion SSD-DCT's first head reads block4_conv3: a point after it is not a
    split point; SSD-DCT (late fusion: Cb / Cr join after that head's map) has none."""
    from jpeg_deep.config import ConfigError, load_config
    from jpeg_deep.procedures import procedure_for
    from jpeg_deep.tasks import task_for

    classes = type("Classes", (), {"num_classes": 6})()
    folder = write_detection_config(tmp_path / "ssd", tmp_path / "scenes", weights="w.keras",
                                    network="ssd300_vgg16_dct_deconv",
                                    split=dict(at="block5_conv1", channels=4))
    task = task_for(load_config(folder, check_paths=False))
    network = task.build(classes)
    procedure = procedure_for(task)
    with pytest.raises(ConfigError, match="before every map its heads read"):
        procedure.parts(network)
    late = write_detection_config(tmp_path / "late", tmp_path / "scenes", weights="w.keras",
                                  split=dict(at="block5_conv1", channels=4))
    late_task = task_for(load_config(late, check_paths=False))
    with pytest.raises(ConfigError, match="split points: none"):
        procedure_for(late_task).parts(late_task.build(classes))
    procedure.settings["at"] = "block4_conv2"
    parts = procedure.parts(network)
    assert parts["decoder"].output.shape[1:] == parts["front"].output.shape[1:]


def _csv(exp):
    with open(exp / "logs" / "training.csv") as f:
        return list(csv.DictReader(f))


def test_split_trains_evaluates_and_deploys(tmp_path, tiny_demo, baseline):
    """Supervised and unsupervised training from a tiny baseline lower the loss and the rate,
    each term in the logs; evaluation.py reports the real streams' rate; the device / server
    commands reproduce evaluation's predictions and report a corrupt and a foreign stream."""
    out = tmp_path / "experiments"
    env = {"EXPERIMENTS_OUTPUT_DIRECTORY": str(out)}
    weights = baseline
    exps = {}
    for name, labels in (("supervised", True), ("unsupervised", False)):
        folder = write_config(tmp_path / "config" / name, tiny_demo, epochs=4,
                              weights=str(weights), inference_network=None,
                              optimizer=dict(name="adam", learning_rate=0.01),
                              split=dict(at="block5_conv1", channels=4, stride=1,
                                         rate_weight=5.0, labels=labels))
        result = run("training.py", "-c", folder, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        (exps[name],) = out.glob(f"{name}_*")
        rows = _csv(exps[name])
        term = "task_loss" if labels else "distillation"
        assert {"bpp", term, f"val_{term}", "val_bpp", "loss"} <= set(rows[0])
        assert ("top1" if labels else "agreement") in rows[0]
        bpp, loss = ([float(r[k]) for r in rows] for k in ("bpp", "loss"))
        assert bpp[-1] < 0.9 * bpp[0] and loss[-1] < loss[0], (bpp, loss)

    exp = exps["supervised"]
    again = run("training.py", "-r", exp, "--epochs", "5")  # a restart continues
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(_csv(exp)) == 5
    result = run("evaluation.py", exp)
    assert result.returncode == 0, result.stderr[-3000:]
    scores = json.loads((exp / "evaluation" / "test_best.json").read_text())
    assert scores["images"] == 15 and scores["header_bytes"] == 22
    assert scores["stream_bytes"] > 22 and 0 < scores["bpp_estimate"] < scores["bpp"]
    assert abs(scores["payload_over_estimate"] - 1) < 0.25

    images = tiny_demo / "imagenet" / "test"
    streams = tmp_path / "streams"
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    encoded = run("-m", "jpeg_deep.cli", "split", "encode", exp, images, bad, streams)
    assert encoded.returncode == 0, encoded.stderr[-3000:]
    assert "15 streams written" in encoded.stdout and "skipped" in encoded.stdout
    files = sorted(streams.glob("*.jdsc"))
    assert len(files) == 15
    assert (exp / "export" / "split_best" / "device.keras").is_file()
    corrupt = streams / "zz_corrupt.jdsc"
    data = bytearray(files[0].read_bytes())
    data[-2] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    foreign = streams / "zz_foreign.jdsc"
    other = bytearray(files[1].read_bytes())
    other[10:14] = b"\0\0\0\0"  # another model's identity
    foreign.write_bytes(bytes(other))
    predicted = run("-m", "jpeg_deep.cli", "split", "predict", exp, streams)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    assert "15 of 17 streams predicted" in predicted.stdout
    assert "zz_corrupt.jdsc: corrupt stream" in predicted.stdout
    assert "zz_foreign.jdsc: made by another model" in predicted.stdout
    server = np.load(exp / "predictions" / "streams_best.npz")
    evaluated = np.load(exp / "predictions" / "test_best.npz")
    by_name = {p.split("/")[-1].rsplit(".", 1)[0]: v
               for p, v in zip(evaluated["paths"], evaluated["probabilities"])}
    for path, p in zip(server["paths"], server["probabilities"]):
        assert np.allclose(p, by_name[path.split("/")[-1].rsplit(".", 1)[0]], atol=1e-5)

    # the one-file predictor and export would run the uncut network: they say where to go
    refused = run("-m", "jpeg_deep.cli", "predict", exp, images)
    assert refused.returncode == 2 and "jpeg-deep split encode" in refused.stderr

    # the split experiments as points on the uncut network's JPEG curve
    uncut = weights.parents[1]
    compared = run("evaluation.py", uncut, "--jpeg-quality", "10", "50", "--limit", "5",
                   "--compare", exp, exps["unsupervised"])
    assert compared.returncode == 0, compared.stderr[-3000:]
    assert "vgg16_dct split at block5_conv1, 4 ch\n" in compared.stdout
    assert "vgg16_dct split at block5_conv1, 4 ch, distilled" in compared.stdout
    assert (uncut / "evaluation" / "test_best_jpeg_real.compare.png").is_file()


def test_demo_and_imagenet_split_configs_load(tmp_path, monkeypatch):
    """Every split config loads as split computing; the ImageNet ones cut their networks at
    the paper's points (built at 64 pixels to stay fast)."""
    from jpeg_deep.config import load_config
    from jpeg_deep.procedures import procedure_for
    from jpeg_deep.tasks import task_for
    from helpers import REPO

    for variable in ("BASELINE_WEIGHTS", "DATASET_PATH_TRAIN", "DATASET_PATH_VAL",
                     "DATASET_PATH_TEST"):
        monkeypatch.setenv(variable, str(tmp_path))
    folders = sorted(p.parent for p in (REPO / "config").rglob("config.py")
                     if "split" in str(p.parent.relative_to(REPO / "config")))
    assert len(folders) == 17
    shapes = {}
    for folder in folders:
        config = load_config(folder, check_paths=False)
        assert procedure_for(task_for(config)).name == "split", folder
        if "imagenet" in folder.parts:
            small = load_config(folder, check_paths=False, overrides=dict(
                input_size=64, transforms=dict(resize=72, crop=64)))
            task = task_for(small)
            network = task.build(type("Classes", (), {"num_classes": 10})())
            parts = procedure_for(task).parts(network)
            shapes[folder.name] = tuple(parts["front"].output.shape[1:])
            assert parts["decoder"].output.shape[1:] == parts["front"].output.shape[1:]
            assert parts["encoder"].output.shape[-1] == 128
    assert shapes["resnet50_s1"] == shapes["resnet50_s2"] == (2, 2, 2048)
    assert shapes["resnet50_s3"] == (4, 4, 1024) == shapes["late_concat_rfa_s3"]
    assert shapes["late_concat_rfa_s1"] == (2, 2, 2048)


def test_demo_split_configs_say_which_baseline_to_train_first(tmp_path, monkeypatch):
    from jpeg_deep.config import load_config
    from helpers import REPO

    monkeypatch.setenv("EXPERIMENTS_OUTPUT_DIRECTORY", str(tmp_path))
    monkeypatch.delenv("BASELINE_WEIGHTS", raising=False)
    for name, baseline in (("vgg16_dct_split_lambda_30", "vgg16_dct"),
                           ("ssd300_deconvolution_rfa_split", "ssd300_deconvolution_rfa")):
        config = load_config(REPO / "config" / "demo" / name, check_paths=False)
        assert config.weights.endswith(f"(train config/demo/{baseline} first)")
        assert config.split["at"] and config.split["channels"] > 0
