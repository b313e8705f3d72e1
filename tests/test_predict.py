"""Predicting a user's own files with a trained experiment: the Python API (the example of
docs/predicting.md, run as written), the `jpeg-deep predict` command, and agreement with
inference.py on the same files, for a classifier and a detector."""
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import REPO, run, write_config
from jpeg_deep.demo import CLASSES


@pytest.fixture(scope="module")
def classifier(tmp_path_factory, tiny_demo):
    root = tmp_path_factory.mktemp("classifier")
    config = write_config(root / "config" / "vgg", tiny_demo, epochs=1)
    trained = run("training.py", "-c", config, "-o", root / "experiments")
    assert trained.returncode == 0, trained.stderr[-3000:]
    (exp,) = (root / "experiments").iterdir()
    inferred = run("inference.py", exp)  # the reference: the test split through inference.py
    assert inferred.returncode == 0, inferred.stderr[-3000:]
    return exp


def test_documented_example_runs_and_agrees_with_inference(classifier, tiny_demo):
    text = (REPO / "docs" / "predicting.md").read_text()
    example = re.search(r"## Python\n\n```python\n(.*?)```", text, re.S).group(1)
    test_folder = tiny_demo / "imagenet" / "test"
    first = sorted(test_folder.rglob("*.jpg"))[0]
    png = io.BytesIO()
    Image.open(first).save(png, "png")
    scope = {"experiment": classifier, "test_folder": test_folder, "png_bytes": png.getvalue()}
    exec(compile(example, "docs/predicting.md", "exec"), scope)  # noqa: S102 - our own docs
    records = scope["records"]
    reference = np.load(classifier / "predictions" / "test_best.npz")
    by_path = dict(zip(reference["paths"], reference["probabilities"]))
    assert len(records) == len(by_path) + 1
    for record in records[:-1]:
        probabilities = by_path[record["source"]]
        best = np.argsort(-probabilities)[:3]
        assert [t["index"] for t in record["top"]] == best.tolist()
        np.testing.assert_allclose([t["probability"] for t in record["top"]],
                                   probabilities[best], rtol=1e-5, atol=1e-6)
        assert record["top"][0]["class"] == CLASSES[best[0]] and not record["reencoded"]
    png_record = records[-1]  # the same photo as a PNG: its pixels as a quality-95 JPEG
    assert (png_record["width"], png_record["height"]) == Image.open(first).size
    from jpeg_deep.codec.jpeg import encode_jpeg

    pixels = np.asarray(Image.open(io.BytesIO(png.getvalue())).convert("RGB"))
    (direct,) = scope["predictor"].predict([encode_jpeg(pixels, 95)], top=3)
    assert direct["top"] == png_record["top"] and direct["reencoded"] is False


def test_predict_command_lists_bad_files_and_goes_on(classifier, tiny_demo, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    photos = sorted((tiny_demo / "imagenet" / "test").rglob("*.jpg"))[:3]
    for k, p in enumerate(photos):
        (folder / f"{k}.jpg").write_bytes(p.read_bytes())
    Image.open(photos[0]).save(folder / "sub.png")  # not a JPEG: re-encoded first
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (folder / "notes.txt").write_text("not an image, not picked up")
    out = tmp_path / "out"
    result = run("-m", "jpeg_deep.cli", "predict", classifier, folder, "--top", "2",
                 "--output", out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "4 of 5 files predicted" in result.stdout
    assert f"skipped {folder / 'broken.jpg'}: " in result.stdout
    records = json.loads((out / "predictions.json").read_text())
    assert [Path(r["source"]).name for r in records] == [
        "0.jpg", "1.jpg", "2.jpg", "broken.jpg", "sub.png"]
    assert "error" in records[3] and records[4]["reencoded"] is True
    assert all(len(r["top"]) == 2 for r in records if "error" not in r)
    rows = (out / "predictions.csv").read_text().splitlines()
    assert rows[0] == "source,class,probability,top" and len(rows) == 6
    missing = run("-m", "jpeg_deep.cli", "predict", tmp_path / "no_experiment", folder)
    assert missing.returncode == 2 and "not an experiment folder" in missing.stderr


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    from jpeg_deep.demo import make_demo_detection_dataset
    from helpers import write_detection_config

    root = tmp_path_factory.mktemp("detector")
    scenes = make_demo_detection_dataset(root / "scenes", train=16, val=4, test=6,
                                         verbose=False)
    config = write_detection_config(root / "config" / "ssd", scenes, epochs=1,
                                    detection=dict(map_every=0))
    trained = run("training.py", "-c", config, "-o", root / "experiments")
    assert trained.returncode == 0, trained.stderr[-3000:]
    (exp,) = (root / "experiments").iterdir()
    inferred = run("inference.py", exp)
    assert inferred.returncode == 0, inferred.stderr[-3000:]
    return exp, scenes


def test_detector_predictions_equal_inference_and_are_drawn(detector, tmp_path):
    from jpeg_deep.predict import Predictor

    exp, scenes = detector
    images = scenes / "VOCdevkit" / "VOC2007" / "JPEGImages"
    ids = (scenes / "VOCdevkit" / "VOC2007" / "ImageSets" / "Main" / "test.txt").read_text()
    paths = [images / f"{i}.jpg" for i in ids.split()]
    records = Predictor.from_experiment(exp).predict(paths, threshold=0.01)
    reference = json.loads((exp / "predictions" / "test_best.coco.json").read_text())
    truth = json.loads((exp / "predictions" / "test_groundtruth.coco.json").read_text())
    id_of = {i["file_name"]: i["id"] for i in truth["images"]}
    for record in records:
        want = sorted((r["score"], r["bbox"]) for r in reference
                      if r["image_id"] == id_of[Path(record["source"]).name])
        got = sorted((o["score"], [o["box"][0], o["box"][1], o["box"][2] - o["box"][0],
                                   o["box"][3] - o["box"][1]]) for o in record["objects"])
        assert len(got) == len(want) and len(got) > 0
        np.testing.assert_allclose([s for s, _ in got], [s for s, _ in want], rtol=1e-4)
        np.testing.assert_allclose([b for _, b in got], [b for _, b in want], atol=1e-2)
        assert all(o["class"] in CLASSES for o in record["objects"])
    out = tmp_path / "drawn"
    result = run("-m", "jpeg_deep.cli", "predict", exp, *paths[:2], "--threshold", "0.01",
                 "--output", out)
    assert result.returncode == 0, result.stderr[-3000:]
    drawn = sorted(p.name for p in (out / "images").iterdir())
    assert drawn == sorted(f"{p.stem}.png" for p in paths[:2])
    original = np.asarray(Image.open(paths[0]).convert("RGB"))
    picture = np.asarray(Image.open(out / "images" / f"{paths[0].stem}.png"))
    assert picture.shape == original.shape and (np.abs(
        picture.astype(int) - original).max(axis=-1) > 60).mean() > 0.001  # boxes drawn


@pytest.mark.parametrize("fmt", ["savedmodel", "litert"])
def test_exported_classifier_equals_keras(classifier, tiny_demo, tmp_path, fmt):
    from jpeg_deep.predict import Predictor

    out = tmp_path / fmt
    result = run("-m", "jpeg_deep.cli", "export", classifier, "--format", fmt, "--output", out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / ("model" if fmt == "savedmodel" else "model.tflite")).exists()
    files = sorted((tiny_demo / "imagenet" / "test").rglob("*.jpg"))[:6]  # sizes vary
    served = Predictor.from_export(out).predict(files, top=5)
    keras_records = Predictor.from_experiment(classifier).predict(files, top=5)
    for a, b in zip(served, keras_records):
        assert [t["index"] for t in a["top"]] == [t["index"] for t in b["top"]]
        np.testing.assert_allclose([t["probability"] for t in a["top"]],
                                   [t["probability"] for t in b["top"]], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fmt", ["savedmodel", "litert"])
def test_exported_detector_equals_keras(detector, tmp_path, fmt):
    from jpeg_deep.predict import Predictor

    exp, scenes = detector
    out = tmp_path / fmt
    result = run("-m", "jpeg_deep.cli", "export", exp, "--format", fmt, "--output", out)
    assert result.returncode == 0, result.stderr[-3000:]
    files = sorted((scenes / "VOCdevkit" / "VOC2007" / "JPEGImages").glob("*.jpg"))[:5]
    served = Predictor.from_export(out).predict(files, threshold=0.05)
    keras_records = Predictor.from_experiment(exp).predict(files, threshold=0.05)
    assert sum(len(r["objects"]) for r in keras_records) > 0
    for a, b in zip(served, keras_records):
        assert [o["class"] for o in a["objects"]] == [o["class"] for o in b["objects"]]
        np.testing.assert_allclose([o["score"] for o in a["objects"]],
                                   [o["score"] for o in b["objects"]], rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose([o["box"] for o in a["objects"]],
                                   [o["box"] for o in b["objects"]], atol=0.05)
