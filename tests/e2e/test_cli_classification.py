"""The quick-start path end to end, as a user runs it: training.py, inference.py, evaluation.py."""
import json

import numpy as np
import pytest

from helpers import run, write_config


def test_train_infer_evaluate_end_to_end(tmp_path, tiny_demo):
    config = write_config(tmp_path / "config" / "tiny" / "vgg", tiny_demo)
    out = tmp_path / "experiments"
    result = run("training.py", "-c", config, env={"EXPERIMENTS_OUTPUT_DIRECTORY": str(out)})
    assert result.returncode == 0, result.stderr[-3000:]
    (exp,) = out.iterdir()
    assert exp.name.startswith("tiny_vgg_")
    assert (exp / "config" / "config.py").read_text() == (config / "config.py").read_text()
    ckpts = {p.name for p in (exp / "checkpoints").iterdir()}
    assert {"epoch-001.keras", "epoch-002.keras", "best.keras", "final.keras"} <= ckpts
    assert (exp / "logs" / "training.csv").read_text().count("\n") == 3
    assert any((exp / "logs" / "tensorboard").rglob("events.out.tfevents*"))
    summary = json.loads((exp / "summary.json").read_text())
    assert summary["network"] == "vgg16_dct" and summary["dataset_sizes"]["train"] == 60
    assert len(summary["history"]["val_top1"]) == 2

    # a second run never overwrites the first
    again = run("training.py", "-c", config, "--epochs", "1",
                env={"EXPERIMENTS_OUTPUT_DIRECTORY": str(out)})
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(list(out.iterdir())) == 2

    weights = exp / "checkpoints" / "best.keras"
    inf = run("inference.py", exp)                      # weights default to best.keras
    assert inf.returncode == 0, inf.stderr[-3000:]
    data = np.load(exp / "predictions" / "test_best.npz")
    assert data["probabilities"].shape == (15, 5)
    np.testing.assert_allclose(data["probabilities"].sum(axis=1), 1, rtol=1e-4)
    assert (exp / "predictions" / "test_best.csv").read_text().count("\n") == 16

    ev = run("evaluation.py", exp, weights)
    assert ev.returncode == 0, ev.stderr[-3000:]
    metrics = json.loads((exp / "evaluation" / "test_best.json").read_text())
    assert metrics["images"] == 15 and 0 <= metrics["top1"] <= metrics["top5"] <= 1
    assert "top-1" in ev.stdout

    # --limit spreads the files over the classes (3 test files per class, 5 classes)
    few = run("inference.py", exp, weights, "--limit", "5")
    assert few.returncode == 0, few.stderr[-3000:]
    data = np.load(exp / "predictions" / "test_best.npz")
    assert sorted(data["labels"].tolist()) == [0, 1, 2, 3, 4]

    # weights of another network: one line, exit 2
    other = run("training.py", "-c", config, "--epochs", "1", "--set", "network='vgg16'",
                "--set", "inference_network='vgg16_conv'",
                env={"EXPERIMENTS_OUTPUT_DIRECTORY": str(tmp_path / "other")})
    assert other.returncode == 0, other.stderr[-3000:]
    (other_exp,) = (tmp_path / "other").iterdir()
    wrong = other_exp / "checkpoints" / "final.keras"
    bad = run("evaluation.py", exp, wrong)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    last = bad.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {wrong} does not fit: incomplete weight transfer") and \
        "not in the source" in last

    bench = run("benchmarks/prediction_time.py", exp, weights, "--runs", "2", "--predictions", "3")
    assert bench.returncode == 0, bench.stderr[-3000:]
    timing = json.loads((exp / "benchmarks" / "prediction_time_val_best.json").read_text())
    assert timing["batch_size"] == 8 and timing["runs"] == 2 and timing["fps_mean"] > 0
    assert timing["fps_min"] <= timing["fps_mean"] <= timing["fps_max"]
    assert "FPS" in bench.stdout


@pytest.mark.parametrize("change,message", [
    (dict(network="vgg17"), "not a known network"),
    (dict(train_dir="/nonexistent/train"), "does not exist"),
    (dict(batchsize=3), "unknown setting"),
    (dict(data=dict(on_error="ignore")), "on_error must be 'stop'"),
    (dict(data=dict(root="/data")), "only takes the scan settings"),
    (dict(transforms=dict(resize=20, crop=32)), "crop"),
])
def test_wrong_config_fails_before_training(tmp_path, tiny_demo, change, message):
    config = write_config(tmp_path / "cfg", tiny_demo, **change)
    out = tmp_path / "experiments"
    result = run("training.py", "-c", config, env={"EXPERIMENTS_OUTPUT_DIRECTORY": str(out)})
    assert result.returncode == 2
    assert message in result.stderr and "config.py" in result.stderr
    assert not out.exists()  # nothing was created


def test_imagenet_is_a_weights_value_not_a_path(tmp_path, tiny_demo):
    from jpeg_deep.config import ConfigError, load_config

    config = load_config(write_config(tmp_path / "cfg", tiny_demo, weights="imagenet"))
    assert config.weights == "imagenet"
    with pytest.raises(ConfigError, match="weights /nonexistent/imagenet does not exist"):
        load_config(write_config(tmp_path / "cfg2", tiny_demo, weights="/nonexistent/imagenet"))


def test_unreadable_training_files_found_at_scan_time_and_skipped(tmp_path, tiny_demo):
    """data = dict(verify=True): broken JPEGs of a classification set are found before any
    folder is made (exit 2, every file named); with on_error='skip' training runs without them
    and summary.json counts them."""
    import shutil

    train = tmp_path / "train"
    shutil.copytree(tiny_demo / "imagenet" / "train", train)
    bad = [train / "circle" / "zz_truncated.jpg", train / "ring" / "zz_empty.jpg"]
    bad[0].write_bytes(next(train.rglob("*.jpg")).read_bytes()[:200])
    bad[1].write_bytes(b"")
    out = tmp_path / "experiments"
    stop = run("training.py", "-c", write_config(tmp_path / "stop", tiny_demo, train_dir=str(train),
                                                 data=dict(verify=True)), "-o", out)
    assert stop.returncode == 2 and "unreadable_image: 2" in stop.stderr
    assert all(str(p) in stop.stderr for p in bad) and not out.exists()
    skip = run("training.py", "-c", write_config(tmp_path / "skip", tiny_demo, train_dir=str(train),
                                                 data=dict(verify=True, on_error="skip"),
                                                 epochs=1), "-o", out)
    assert skip.returncode == 0, skip.stderr[-3000:]
    (exp,) = out.iterdir()
    summary = json.loads((exp / "summary.json").read_text())
    assert sorted(summary["skipped"]["unreadable_image"]) == ["circle/zz_truncated.jpg",
                                                               "ring/zz_empty.jpg"]
    assert summary["dataset_sizes"]["train"] == 60


def test_missing_required_setting(tmp_path):
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "config.py").write_text("network = 'vgg16_dct'\n")
    result = run("training.py", "-c", folder)
    assert result.returncode == 2 and "train_dir" in result.stderr
