"""What GPU nodes and real users rely on: mixed precision and XLA as config values, checkpoint
retention, by-name weight loading that only reshapes dense kernels into their convolutional
twins, --limit spread over classes, console entry points, the GPU benchmark's modes."""
import json
import shutil
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from helpers import REPO, run, write_config
from jpeg_deep.data.datasets.folders import ImageFolder
from jpeg_deep.networks.weights import transfer_layer_weights


def test_mixed_precision_xla_and_checkpoint_retention(tmp_path, tiny_demo):
    """A short training under mixed_bfloat16 (the CPU's half precision; float16 convolutions
    have no CPU kernels) with XLA: finite losses, float32 outputs, only the newest epoch file
    kept beside best and final."""
    config = write_config(tmp_path / "cfg", tiny_demo, epochs=3, mixed_precision="mixed_bfloat16",
                          jit_compile=True, keep_checkpoints=1, prefetch=1)
    out = tmp_path / "experiments"
    result = run("training.py", "-c", config, "-o", out)
    assert result.returncode == 0, result.stderr[-3000:]
    (exp,) = out.iterdir()
    summary = json.loads((exp / "summary.json").read_text())
    assert summary["dtype_policy"] == "mixed_bfloat16"
    losses = summary["history"]["loss"] + summary["history"]["val_loss"]
    assert len(losses) == 6 and all(np.isfinite(losses))
    assert sorted(p.name for p in (exp / "checkpoints").glob("*.keras")) == [
        "best.keras", "epoch-003.keras", "final.keras"]
    model = keras.saving.load_model(exp / "checkpoints" / "final.keras")
    assert model.layers[-1].dtype_policy.name == "float32"          # the classifier
    assert model.get_layer("block4_conv1").dtype_policy.name == "mixed_bfloat16"
    assert model.output.dtype == "float32"
    x = [np.zeros((2,) + tuple(i.shape[1:]), "float32") for i in model.inputs]
    assert model.predict(x, verbose=0).dtype == np.float32


def test_dense_kernels_reshape_only_into_their_convolutional_twin():
    dense = keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(5, name="fc")])
    conv = keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Conv2D(5, 2, name="fc")])
    kernel = np.arange(60, dtype="float32").reshape(12, 5)
    report = transfer_layer_weights({"fc": [kernel, np.ones(5, "float32")]}, conv)
    assert report.loaded == ["fc"]
    np.testing.assert_array_equal(conv.get_layer("fc").kernel.numpy(), kernel.reshape(2, 2, 3, 5))
    # the same number of values in another layout is not a twin: skipped, reported
    other = keras.Sequential([keras.Input((4, 3)), keras.layers.Dense(5, name="fc")])
    wrong = {"fc": [np.zeros((3, 20), "float32"), np.zeros(20, "float32")]}
    assert "fc" in transfer_layer_weights(wrong, dense).skipped
    square = keras.Sequential([keras.Input((6, 6, 4)), keras.layers.Conv2D(4, 3, name="fc")])
    swapped = {"fc": [np.zeros((4, 36), "float32"), np.zeros(4, "float32")]}
    assert "fc" in transfer_layer_weights(swapped, square).skipped   # (4, 36): units differ
    assert "fc" in transfer_layer_weights(
        {"fc": [np.zeros((4, 3, 3, 4), "float32"), np.zeros(4, "float32")]}, square).skipped


def test_limit_spreads_over_classes(tiny_demo):
    data = ImageFolder.scan(tiny_demo / "imagenet" / "train", progress=False)
    assert data.balanced_subset(None) is data
    few = data.balanced_subset(7)
    assert len(few) == 7
    counts = np.bincount(few.labels, minlength=data.num_classes)
    assert counts.max() - counts.min() <= 1 and counts.min() >= 1
    positions = [data.files.index(f) for f in few.files]
    assert positions == sorted(positions)                # the dataset's order is kept
    # a class with fewer files gives its share to the others
    lopsided = ImageFolder(data.root, data.files[:13], data.labels[:13], data.class_ids,
                           data.class_names)             # 12 of class 0, 1 of class 1
    assert np.bincount(lopsided.balanced_subset(6).labels).tolist() == [5, 1]


def test_console_entry_points_are_installed():
    bin_dir = Path(sys.executable).parent
    for name in ("jpeg-deep-train", "jpeg-deep-infer", "jpeg-deep-evaluate"):
        script = shutil.which(name, path=str(bin_dir))
        assert script, f"{name} not installed in {bin_dir} (pip install -e .)"
    result = run(str(bin_dir / "jpeg-deep-train"), "--help")
    assert result.returncode == 0 and "--allow-cpu" in result.stdout


def test_gpu_benchmark_modes_run_on_cpu():
    result = run("-m", "benchmarks.model_speed", "--networks", "vgg16_dct", "--size", "32",
                 "--batch", "2", "--repeats", "1", "--modes", "float32", "mixed", "xla",
                 cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("vgg16")]
    assert [r[0] for r in rows] == ["vgg16_dct"] and len(rows[0]) == 2 + 2 * 3
    assert "float32 img/s" in result.stdout and "mixed img/s" in result.stdout
