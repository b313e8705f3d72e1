"""The experiment loop a user lives in: kill a run and restart it, continue a finished run, and
run every ImageNet config of the papers against a folder laid out like ImageNet."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import REPO, run, write_config

IMAGENET_CONFIGS = sorted(p.parent for p in (REPO / "config" / "imagenet").glob("*/config.py"))
DEMO_CONFIGS = sorted(p.parent for p in (REPO / "config" / "demo").glob("*/config.py")
                      if not p.parent.name.startswith("ssd"))


def csv_epochs(exp):
    lines = (exp / "logs" / "training.csv").read_text().splitlines()[1:]
    return [int(line.split(",")[0]) for line in lines]


def test_killed_run_restarts_from_its_last_epoch(tmp_path, tiny_demo):
    config = write_config(tmp_path / "config" / "tiny", tiny_demo, epochs=4, workers=0,
                          optimizer=dict(name="sgd", learning_rate=0.01, momentum=0.9),
                          reduce_lr_on_plateau=dict(patience=1, factor=0.5))
    out = tmp_path / "exp"
    proc = subprocess.Popen([sys.executable, "training.py", "-c", str(config), "-o", str(out)],
                            cwd=REPO, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list(out.glob("*/checkpoints/epoch-002.keras")) and time.time() < deadline:
        assert proc.poll() is None, "training ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # no chance to clean up: like a node failure
    proc.wait()
    (exp,) = out.iterdir()
    assert not (exp / "checkpoints" / "final.keras").exists()
    done = json.loads((exp / "checkpoints" / "backup" / "training_metadata.json").read_text())
    assert done["epoch"] >= 1  # the backup of epoch 2 may not have been written yet

    result = run("training.py", "--restart", exp)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resuming after epoch {done['epoch']}" in result.stdout
    assert len(list(out.iterdir())) == 1  # resumed in place
    # every epoch once, except at most the one interrupted (logged again when re-run)
    epochs = csv_epochs(exp)
    assert sorted(set(epochs)) == [0, 1, 2, 3] and len(epochs) <= 5
    summary = json.loads((exp / "summary.json").read_text())
    assert summary["epochs_completed"] == 4 and len(summary["history"]["loss"]) == 4
    assert (exp / "checkpoints" / "final.keras").exists()

    # a finished run is not trained again by accident ...
    again = run("training.py", "--restart", exp)
    assert again.returncode == 2 and "already finished after 4 epochs" in again.stderr
    # ... but can be continued with more epochs, from its state (optimizer, lr, epoch)
    more = run("training.py", "--restart", exp, "--epochs", "5")
    assert more.returncode == 0, more.stderr[-3000:]
    assert "resuming after epoch 4" in more.stdout
    assert csv_epochs(exp)[-1] == 4
    summary = json.loads((exp / "summary.json").read_text())
    assert summary["epochs_completed"] == 5 and len(summary["history"]["loss"]) == 5


# The papers' published hyper-parameters (Deguerre et al.'s training recipes), by network family.
FAMILIES = {
    "vgg16": (120, 64, 0.0025, 7, 15),
    "vgg16_dct": (180, 64, 0.0025, 5, 11),
    "vgg16_dct_y": (180, 64, 0.0025, 5, 11),
    "vgg16_dct_deconv": (180, 64, 0.0025, 5, 11),
    "resnet50": (90, 32, 0.0125, None, None),
    "deconvolution_rfa": (140, 32, 0.0125, 5, 11),
}


@pytest.mark.parametrize("folder", IMAGENET_CONFIGS, ids=lambda p: p.name)
def test_imagenet_config_is_complete(folder, tiny_demo, monkeypatch):
    from jpeg_deep.config import load_config
    from jpeg_deep.networks import spec

    for var in ("DATASET_PATH_TRAIN", "DATASET_PATH_VAL", "DATASET_PATH_TEST"):
        monkeypatch.setenv(var, str(tiny_demo / "imagenet"))
    config = load_config(folder)  # checks every path, the network names and the settings
    assert config.test_dir.endswith("validation") and config.input_size == 224
    assert config.transforms == dict(resize=256, crop=224, quality=95)
    # the [U] RGB baselines train like ResNet50 RGB; every other ResNet like LC-RFA
    rgb_baseline = folder.name.startswith(("uber_channels_div", "uber_less_id_blocks"))
    assert not rgb_baseline or spec(config.network).inputs == "rgb"
    default = (90, 32, 0.0125, None, None) if rgb_baseline else (90, 32, 0.0125, 5, 11)
    epochs, batch, lr, rlrop, stop = FAMILIES.get(folder.name, default)
    assert (config.epochs, config.batch_size) == (epochs, batch)
    assert config.optimizer == dict(name="sgd", learning_rate=lr, momentum=0.9)
    assert config.warmup_epochs == 5 and config.scale_learning_rate
    if rlrop is None:
        assert config.lr_schedule == {0: 1.0, 30: 0.1, 60: 0.01, 80: 0.001}
        assert config.reduce_lr_on_plateau is None and config.early_stopping is None
    else:
        assert config.reduce_lr_on_plateau == dict(patience=rlrop)
        assert config.early_stopping == dict(patience=stop)
    if "vgg" in config.network:
        assert config.inference_network == config.network + "_conv"


@pytest.mark.parametrize("folder", DEMO_CONFIGS, ids=lambda p: p.name)
def test_demo_config_loads(folder, tiny_demo, monkeypatch):
    from jpeg_deep.config import load_config

    monkeypatch.setenv("DATASET_PATH_TRAIN", str(tiny_demo / "imagenet"))
    monkeypatch.setenv("DATASET_PATH_VAL", str(tiny_demo / "imagenet"))
    monkeypatch.setenv("DATASET_PATH_TEST", str(tiny_demo / "imagenet"))
    monkeypatch.setenv("BASELINE_WEIGHTS", os.devnull)  # the robustness configs' start
    config = load_config(folder)
    assert config.train_dir == str(tiny_demo / "imagenet" / "train")


def test_imagenet_config_without_dataset_names_the_variable(monkeypatch):
    monkeypatch.delenv("DATASET_PATH_TRAIN", raising=False)
    result = run("training.py", "-c", "config/imagenet/late_concat_rfa")
    assert result.returncode == 2
    assert "DATASET_PATH_TRAIN" in result.stderr and "--train-dir" in result.stderr


@pytest.mark.parametrize("name", ["vgg16_dct_deconv", "late_concat_rfa", "resnet50"])
def test_imagenet_config_trains_on_an_imagenet_folder(tmp_path, tiny_demo, name):
    """The real config and CLI, shrunk with command-line overrides to run in seconds."""
    root = tiny_demo / "imagenet"
    settings = dict(input_size=32, transforms=dict(resize=40, crop=32, quality=95),
                    network_args=dict(width=0.0625), batch_size=4, steps_per_epoch=2,
                    validation_steps=1, workers=0)
    args = [a for k, v in settings.items() for a in ("--set", f"{k}={v!r}")]
    result = run("training.py", "-c", f"config/imagenet/{name}", "--epochs", "1",
                 "--train-dir", root / "train", "--val-dir", root / "validation",
                 "--test-dir", root / "test", "-o", tmp_path / "exp", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    (exp,) = (tmp_path / "exp").iterdir()
    assert exp.name.startswith(f"imagenet_{name}_")
    summary = json.loads((exp / "summary.json").read_text())
    assert summary["steps_per_epoch"] == 2 and summary["global_batch_size"] == 4
    ev = run("evaluation.py", exp, exp / "checkpoints" / "final.keras", "--limit", "6")
    assert ev.returncode == 0, ev.stderr[-3000:]
    assert json.loads((exp / "evaluation" / "test_final.json").read_text())["images"] == 6


def test_cli_overrides_are_checked_and_kept(tmp_path, tiny_demo):
    config = write_config(tmp_path / "cfg", tiny_demo, epochs=1)
    result = run("training.py", "-c", config, "--set", "batch_sise=4", "-o", tmp_path / "exp")
    assert result.returncode == 2 and "batch_sise" in result.stderr
    assert not (tmp_path / "exp").exists()

    result = run("training.py", "-c", config, "-o", tmp_path / "exp", "--set", "batch_size=4",
                 "--set", "lr_schedule={0: 1.0, 1: 0.5}", "--set", "reduce_lr_on_plateau=None")
    assert result.returncode == 0, result.stderr[-3000:]
    (exp,) = (tmp_path / "exp").iterdir()
    from jpeg_deep.engine.experiment import Experiment

    saved = Experiment.open(exp).load_config()  # what restart and evaluation will use
    assert saved.batch_size == 4 and saved.lr_schedule == {0: 1.0, 1: 0.5}
    assert saved.reduce_lr_on_plateau is None
