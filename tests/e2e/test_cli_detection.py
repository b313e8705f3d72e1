"""Detection end to end, as a user runs it on the demo scenes: training.py, inference.py,
evaluation.py and python -m jpeg_deep.display on a VOC devkit and on the COCO layout of the same
scenes; and the detection config checks."""
import json

import numpy as np
import pytest

from helpers import run, write_detection_config
from jpeg_deep.demo import CLASSES


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    from jpeg_deep.demo import make_demo_detection_dataset

    root = tmp_path_factory.mktemp("scenes")
    return make_demo_detection_dataset(root, train=32, val=8, test=8, verbose=False)


def test_broken_devkit_reported_at_once_then_skipped(tmp_path, scenes):
    """Three kinds of broken annotation in the training set: one run reports every one of
    them (exit 2, no experiment folder); on_error='skip' trains without them and counts them
    in summary.json."""
    import shutil

    devkit = tmp_path / "VOCdevkit"
    shutil.copytree(scenes / "VOCdevkit", devkit)
    voc = devkit / "VOC2007"
    ids = (voc / "ImageSets" / "Main" / "train.txt").read_text().split()
    (voc / "Annotations" / f"{ids[0]}.xml").write_text("<annotation><object>")
    xml = voc / "Annotations" / f"{ids[1]}.xml"
    xml.write_text(xml.read_text().replace(f"<name>{CLASSES[0]}</name>", "<name>dragon</name>")
                   .replace(f"<name>{CLASSES[1]}</name>", "<name>dragon</name>"))
    (voc / "JPEGImages" / f"{ids[2]}.jpg").unlink()
    data = dict(format="voc", root=str(devkit), protocol="07", held_out=True,
                class_names=list(CLASSES))
    out = tmp_path / "experiments"
    stop = run("training.py", "-c", write_detection_config(tmp_path / "stop", scenes, data=data),
               "-o", out)
    assert stop.returncode == 2 and "Traceback" not in stop.stderr
    for kind, file in (("malformed_xml", f"Annotations/{ids[0]}.xml"),
                       ("unknown_class", f"Annotations/{ids[1]}.xml"),
                       ("missing_image", f"JPEGImages/{ids[2]}.jpg")):
        assert f"  {kind}: 1\n    {voc / file}: " in stop.stderr
    assert "every one is listed in" in stop.stderr and not out.exists()

    skip = run("training.py", "-c", write_detection_config(
        tmp_path / "skip", scenes, data=dict(data, on_error="skip"), epochs=1,
        detection=dict(map_every=0)), "-o", out)
    assert skip.returncode == 0, skip.stderr[-3000:]
    (exp,) = out.iterdir()
    skipped = json.loads((exp / "summary.json").read_text())["skipped"]
    assert skipped["malformed_xml"] == [ids[0]] and skipped["unknown_class"] == [ids[1]]
    assert skipped["missing_image"] == [ids[2]]


def test_voc_detection_end_to_end(tmp_path, scenes):
    config = write_detection_config(tmp_path / "config" / "ssd", scenes)
    out = tmp_path / "experiments"
    result = run("training.py", "-c", config, "-o", out)
    assert result.returncode == 0, result.stderr[-3000:]
    (exp,) = out.iterdir()
    summary = json.loads((exp / "summary.json").read_text())
    assert summary["task"] == "detection" and summary["classes"] == list(CLASSES)
    history = summary["history"]
    assert len(history["loss"]) == 2 and all(np.isfinite(history["loss"]))
    assert len(history["val_map"]) == 2 and 0 <= history["val_map"][-1] <= 1
    assert "validation mAP (4 images)" in result.stdout

    inf = run("inference.py", exp)
    assert inf.returncode == 0, inf.stderr[-3000:]
    predictions = exp / "predictions"
    results = json.loads((predictions / "test_best.coco.json").read_text())
    truth = json.loads((predictions / "test_groundtruth.coco.json").read_text())
    assert {i["id"] for i in truth["images"]} >= {r["image_id"] for r in results}
    assert len(truth["images"]) == 8
    sizes = {i["id"]: (i["width"], i["height"]) for i in truth["images"]}
    for r in results[:50]:                       # boxes in original image pixels
        x, y, w, h = r["bbox"]
        width, height = sizes[r["image_id"]]
        assert 0 <= x <= x + w <= width + 1e-3 and 0 <= y <= y + h <= height + 1e-3
        assert 1 <= r["category_id"] <= len(CLASSES) and 0 < r["score"] <= 1
    voc_files = sorted(p.name for p in (predictions / "test_best_voc").iterdir())
    assert voc_files == sorted(f"comp4_det_test_{c}.txt" for c in CLASSES)
    lines = [line.split() for c in CLASSES
             for line in (predictions / "test_best_voc" / f"comp4_det_test_{c}.txt")
             .read_text().splitlines()]
    assert len(lines) == len(results) and all(len(parts) == 6 for parts in lines)

    ev = run("evaluation.py", exp, "--limit", "6")
    assert ev.returncode == 0, ev.stderr[-3000:]
    scores = json.loads((exp / "evaluation" / "test_best.json").read_text())
    assert scores["task"] == "detection" and scores["images"] == 6
    assert set(scores["voc"]) == {"map_11point", "map_area", "ap_11point", "ap_area"}
    assert set(scores["voc"]["ap_area"]) == set(CLASSES)
    assert set(scores["coco"]) == {"AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10",
                                   "AR100"}
    assert "mAP" in ev.stdout and "COCO: AP" in ev.stdout

    shown = run("-m", "jpeg_deep.display", exp, "--images", "3", "--ground-truth",
                "--threshold", "0.05")
    assert shown.returncode == 0, shown.stderr[-3000:]
    pictures = sorted(p.name for p in (exp / "display" / "test_best").iterdir())
    assert "grid.png" in pictures and len(pictures) == 4


def test_coco_layout_trains_and_evaluates(tmp_path, scenes):
    images = "VOCdevkit/VOC2007/JPEGImages"
    data = dict(format="coco", root=str(scenes), train=("annotations/instances_train.json", images),
                val=("annotations/instances_val.json", images),
                test=("annotations/instances_test.json", images))
    # also under mixed precision (bfloat16 on a CPU): the multibox loss stays float32
    config = write_detection_config(tmp_path / "config" / "coco", scenes, data=data, epochs=1,
                                    steps_per_epoch=2, detection=dict(map_every=0),
                                    mixed_precision="mixed_bfloat16")
    out = tmp_path / "experiments"
    result = run("training.py", "-c", config, "-o", out)
    assert result.returncode == 0, result.stderr[-3000:]
    (exp,) = out.iterdir()
    summary = json.loads((exp / "summary.json").read_text())
    assert summary["dtype_policy"] == "mixed_bfloat16"
    assert np.isfinite(summary["history"]["loss"][0]) and np.isfinite(
        summary["history"]["val_loss"][0])
    ev = run("evaluation.py", exp, exp / "checkpoints" / "final.keras")
    assert ev.returncode == 0, ev.stderr[-3000:]
    results = json.loads((exp / "predictions" / "test_final.coco.json").read_text())
    coco_ids = {c["id"] for c in json.loads(
        (scenes / "annotations" / "instances_test.json").read_text())["categories"]}
    assert results and {r["category_id"] for r in results} <= coco_ids   # original COCO ids
    assert not (exp / "predictions" / "test_final_voc").exists()


def test_dct_domain_augmentation_trains_and_evaluates(tmp_path, scenes):
    """augmentation="dct": the SSD chain on the coefficients (no decode, no re-encode) through
    training, the validation mAP and the evaluation."""
    config = write_detection_config(tmp_path / "config" / "dct", scenes, augmentation="dct",
                                    epochs=1, steps_per_epoch=3,
                                    detection=dict(map_every=1, map_images=4))
    out = tmp_path / "experiments"
    result = run("training.py", "-c", config, "-o", out)
    assert result.returncode == 0, result.stderr[-3000:]
    (exp,) = out.iterdir()
    summary = json.loads((exp / "summary.json").read_text())
    assert np.isfinite(summary["history"]["loss"][0])
    assert 0 <= summary["history"]["val_map"][0] <= 1
    ev = run("evaluation.py", exp, "--limit", "4")
    assert ev.returncode == 0, ev.stderr[-3000:]
    scores = json.loads((exp / "evaluation" / "test_best.json").read_text())
    assert scores["images"] == 4 and 0 <= scores["voc"]["map_11point"] <= 1


@pytest.mark.parametrize("change,message", [
    (dict(augmentation="pixels"), "augmentation must be 'rgb', 'dct' or None, not 'pixels'"),
    (dict(augmentation="dct", network="ssd300_vgg16"),
     "augmentation 'dct' works on DCT coefficients; 'ssd300_vgg16' reads RGB"),
    (dict(network="vgg16_dct"), "network 'vgg16_dct' is a classification network"),
    (dict(data=dict(format="pascal", root=".")), "data must be dict(format='voc' or 'coco'"),
    (dict(data=dict(format="voc", root=".", protocol="07+13")), "unknown VOC protocol '07+13'"),
    (dict(data=dict(format="voc", root=".", split="07")), "data 'split' unknown for format 'voc'"),
    (dict(detection=dict(iou=0.5)), "detection 'iou' unknown; known: confidence_threshold"),
    (dict(transforms=dict(resize=300)), "unknown detection transform setting(s) resize"),
    (dict(train_dir="somewhere"), "train_dir is for classification"),
])
def test_detection_config_mistakes(tmp_path, scenes, capsys, change, message):
    from jpeg_deep import cli

    config = write_detection_config(tmp_path / "cfg", scenes, **change)
    out = tmp_path / "experiments"
    assert cli.train_main(["-c", str(config), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err.strip().splitlines()[-1] and "Traceback" not in err
    assert not out.exists()


def test_detection_fine_tuning_against_coding_artifacts(tmp_path, scenes):
    """robustness method 'fine_tune' on a detector: distorted scenes (a quality drawn per
    sample), the SSD loss, from a trained detector's weights."""
    from jpeg_deep.config import load_config
    from jpeg_deep.codec.distortions import RandomDistortion
    from jpeg_deep.procedures import procedure_for
    from jpeg_deep.tasks import task_for

    out = tmp_path / "experiments"
    base = write_detection_config(tmp_path / "config" / "base", scenes, epochs=1,
                                  steps_per_epoch=2, detection=dict(map_every=0))
    result = run("training.py", "-c", base, "-o", out)
    assert result.returncode == 0, result.stderr[-3000:]
    (exp,) = out.iterdir()
    folder = write_detection_config(
        tmp_path / "config" / "fine_tune", scenes, epochs=1, steps_per_epoch=2,
        augmentation="dct", detection=dict(map_every=0),
        weights=str(exp / "checkpoints" / "final.keras"),
        robustness=dict(method="fine_tune", quality=(10, 30)))
    task = task_for(load_config(folder))
    procedure = procedure_for(task)
    model = procedure.model(task.dataset("train", training=True))
    loader = procedure.loader("train", model)
    assert loader.distortion == RandomDistortion(quality=(10, 30), form="dct")
    x, y = loader.sample(task.dataset("train").path(0), task.dataset("train").target(0), 3)
    clean, _ = task.loader("train", model=model).sample(
        task.dataset("train").path(0), task.dataset("train").target(0), 3)
    assert y.shape[-1] == len(CLASSES) + 1 + 4 and np.abs(x[0] - clean[0]).mean() > 0.5
    tuned = run("training.py", "-c", folder, "-o", out)
    assert tuned.returncode == 0, tuned.stderr[-3000:]
    (run_dir,) = out.glob("fine_tune_*")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert np.isfinite(summary["history"]["loss"][0])
    assert "weights" in tuned.stderr and "loaded" in tuned.stderr


def test_a_split_detector_trains_and_evaluates(tmp_path, scenes):
    """Split computing on an SSD (the early-fusion SSD-DCT: its Y and Cb / Cr streams join
    before the first map a head reads): cut before the heads' maps, trained from the uncut
    network, evaluated through the real streams (mAP and rate in the evaluation file)."""
    out = tmp_path / "experiments"
    network = dict(network="ssd300_vgg16_dct_deconv", detection=dict(map_every=0))
    base = run("training.py", "-c", write_detection_config(
        tmp_path / "config" / "uncut", scenes, epochs=1, steps_per_epoch=2, **network), "-o", out)
    assert base.returncode == 0, base.stderr[-3000:]
    (uncut,) = out.iterdir()
    config = write_detection_config(
        tmp_path / "config" / "split", scenes, epochs=2, steps_per_epoch=3,
        weights=str(uncut / "checkpoints" / "best.keras"),
        split=dict(at="block4_conv2", channels=4, stride=2, rate_weight=1.0), **network)
    result = run("training.py", "-c", config, "-o", out)
    assert result.returncode == 0, result.stderr[-3000:]
    (exp,) = out.glob("split_*")
    history = json.loads((exp / "summary.json").read_text())["history"]
    assert {"task_loss", "bpp", "val_bpp"} <= set(history)
    assert history["bpp"][1] < history["bpp"][0]
    ev = run("evaluation.py", exp, "--limit", "4")
    assert ev.returncode == 0, ev.stderr[-3000:]
    scores = json.loads((exp / "evaluation" / "test_best.json").read_text())
    assert scores["images"] == 4 and 0 <= scores["voc"]["map_11point"] <= 1
    assert scores["stream_bytes"] > scores["header_bytes"] == 22 and scores["bpp"] > 0
