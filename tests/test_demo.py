"""Tests for jpeg_deep.demo, the synthetic shapes dataset."""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image, JpegImagePlugin

from jpeg_deep.demo import CLASSES, MAIN_SIZE, make_demo_dataset

REPO_ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(train_per_class=4, val_per_class=2, test_per_class=2)
SPLITS = {"train": 4, "validation": 2, "test": 2}
VOC_SETS = {"train": "train", "validation": "val", "test": "test"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    make_demo_dataset(root, seed=3, verbose=False, **SMALL)
    return root


@pytest.fixture(scope="module")
def manifest(dataset):
    return json.loads((dataset / "manifest.json").read_text())


def all_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_returns_path(tmp_path):
    out = make_demo_dataset(tmp_path / "d", verbose=False, train_per_class=1,
                            val_per_class=0, test_per_class=0)
    assert isinstance(out, Path) and out == tmp_path / "d"


def test_imagenet_layout_and_counts(dataset, manifest):
    assert manifest["seed"] == 3
    assert manifest["classes"] == list(CLASSES)
    assert manifest["counts"] == {s: n * len(CLASSES) for s, n in SPLITS.items()}
    for split, n in SPLITS.items():
        for cls in CLASSES:
            files = sorted((dataset / "imagenet" / split / cls).glob("*.jpg"))
            assert len(files) == n
    jpgs = list((dataset / "imagenet").rglob("*.jpg"))
    assert len(jpgs) == len(manifest["files"]) == sum(SPLITS.values()) * len(CLASSES)


def test_voc_layout_and_image_sets(dataset, manifest):
    voc = dataset / "VOCdevkit" / "VOC2007"
    sets = {name: (voc / "ImageSets" / "Main" / f"{name}.txt").read_text().split()
            for name in ("train", "val", "trainval", "test")}
    assert sets["trainval"] == sets["train"] + sets["val"]
    for split, name in VOC_SETS.items():
        ids = [f["id"] for f in manifest["files"] if f["split"] == split]
        assert sets[name] == ids
    all_ids = [f["id"] for f in manifest["files"]]
    assert all_ids == [f"{i:06d}" for i in range(1, len(all_ids) + 1)]
    assert sorted(p.stem for p in (voc / "JPEGImages").glob("*.jpg")) == all_ids
    assert sorted(p.stem for p in (voc / "Annotations").glob("*.xml")) == all_ids
    for f in manifest["files"]:
        # Same scene, same bytes, in both layouts.
        a = (dataset / f["imagenet_path"]).read_bytes()
        assert a == (dataset / f["voc_path"]).read_bytes()
        assert len(a) == f["num_bytes"]
        assert f["imagenet_path"] == f"imagenet/{f['split']}/{f['class']}/{f['id']}.jpg"


def test_class_index_keras_format(dataset):
    index = json.loads((dataset / "imagenet" / "imagenet_class_index.json").read_text())
    assert index == {str(i): [c, c] for i, c in enumerate(CLASSES)}
    assert list(index) == [str(i) for i in range(len(CLASSES))]


def test_images_match_manifest(dataset, manifest):
    for f in manifest["files"]:
        with Image.open(dataset / f["voc_path"]) as im:
            assert im.format == "JPEG"
            assert im.size == (f["width"], f["height"])
            assert 72 <= im.width <= 160 and 72 <= im.height <= 160
    sizes = {(f["width"], f["height"]) for f in manifest["files"]}
    assert any(w > h for w, h in sizes) and any(w < h for w, h in sizes)
    assert any(w % 8 or h % 8 for w, h in sizes)


def test_encodings_really_occur(dataset, manifest):
    seen = set()
    for f in manifest["files"]:
        with Image.open(dataset / f["voc_path"]) as im:
            enc = f["encoding"]
            progressive = bool(im.info.get("progressive"))
            assert progressive == (enc == "progressive")
            if enc == "gray":
                assert im.mode == "L"
            else:
                assert im.mode == "RGB"
                expected = {"444": 0, "422": 1, "420": 2, "progressive": 2}[enc]
                assert JpegImagePlugin.get_sampling(im) == expected
        seen.add(enc)
    assert seen == {"420", "444", "422", "gray", "progressive"}
    baseline = sum(f["encoding"] == "420" for f in manifest["files"])
    assert baseline >= len(manifest["files"]) // 2


def test_annotations(dataset, manifest):
    n_objects = 0
    for f in manifest["files"]:
        tree = ET.parse(dataset / f["annotation"]).getroot()
        assert tree.tag == "annotation"
        assert tree.findtext("folder") == "VOC2007"
        assert tree.findtext("filename") == f"{f['id']}.jpg"
        w, h = int(tree.findtext("size/width")), int(tree.findtext("size/height"))
        assert (w, h) == (f["width"], f["height"])
        assert tree.findtext("size/depth") == "3"
        objects = tree.findall("object")
        assert 1 <= len(objects) <= 2
        assert len(objects) == len(f["objects"])
        assert objects[0].findtext("name") == f["class"]
        names = [o.findtext("name") for o in objects]
        assert len(set(names)) == len(names)      # distractor is of another class
        for node, obj in zip(objects, f["objects"]):
            assert node.findtext("name") == obj["name"] and obj["name"] in CLASSES
            assert node.findtext("pose") == "Unspecified"
            assert node.findtext("truncated") == "0"
            assert node.findtext("difficult") == "0"
            box = [int(node.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
            assert box == obj["bbox"]
            xmin, ymin, xmax, ymax = box
            assert 1 <= xmin < xmax <= w and 1 <= ymin < ymax <= h
            n_objects += 1
        main = f["objects"][0]["bbox"]
        side = min(w, h)
        extent = max(main[2] - main[0], main[3] - main[1]) + 1
        assert (MAIN_SIZE[0] - 0.05) * side <= extent <= (MAIN_SIZE[1] + 0.05) * side
    assert n_objects > len(manifest["files"])     # some scenes have distractors


def test_deterministic(tmp_path):
    a = make_demo_dataset(tmp_path / "a", seed=7, verbose=False, **SMALL)
    b = make_demo_dataset(tmp_path / "b", seed=7, verbose=False, **SMALL)
    files = all_files(a)
    assert files == all_files(b)
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    c = make_demo_dataset(tmp_path / "c", seed=8, verbose=False, **SMALL)
    assert (a / "VOCdevkit/VOC2007/JPEGImages/000001.jpg").read_bytes() != \
        (c / "VOCdevkit/VOC2007/JPEGImages/000001.jpg").read_bytes()


def test_scene_does_not_depend_on_other_counts(tmp_path):
    a = make_demo_dataset(tmp_path / "a", verbose=False, train_per_class=2,
                          val_per_class=0, test_per_class=0)
    b = make_demo_dataset(tmp_path / "b", verbose=False, train_per_class=2,
                          val_per_class=3, test_per_class=1)
    ma = json.loads((a / "manifest.json").read_text())["files"]
    mb = json.loads((b / "manifest.json").read_text())["files"]
    for fa, fb in zip(ma, mb):
        assert fa["objects"] == fb["objects"] and fa["width"] == fb["width"]


def test_second_call_does_not_rewrite(tmp_path, capsys):
    root = make_demo_dataset(tmp_path / "d", verbose=False, **SMALL)
    files = all_files(root)
    mtimes = {rel: os.stat(root / rel).st_mtime_ns for rel in files}
    make_demo_dataset(root, **SMALL)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and str(root) in out
    assert {rel: os.stat(root / rel).st_mtime_ns for rel in files} == mtimes

    # force=True or other parameters rewrite, and leave no stale files behind.
    make_demo_dataset(root, verbose=False, force=True, **SMALL)
    assert os.stat(root / "manifest.json").st_mtime_ns != mtimes["manifest.json"] or \
        os.stat(root / files[0]).st_mtime_ns != mtimes[files[0]]
    make_demo_dataset(root, verbose=False, train_per_class=1, val_per_class=1, test_per_class=1)
    assert len(list((root / "imagenet").rglob("*.jpg"))) == 3 * len(CLASSES)
    assert len(list((root / "VOCdevkit").rglob("*.xml"))) == 3 * len(CLASSES)


def test_keep_existing_never_rewrites_a_complete_demo(tmp_path, capsys):
    """What the demo configs ask for: a demo folder made with other sizes is used as it is."""
    root = make_demo_dataset(tmp_path / "d", verbose=False, **SMALL)
    manifest = (root / "manifest.json").read_text()
    files = all_files(root)
    make_demo_dataset(root, train_per_class=9, val_per_class=2, test_per_class=2,
                      keep_existing=True)
    assert "Using the demo dataset already in" in capsys.readouterr().out
    assert (root / "manifest.json").read_text() == manifest and all_files(root) == files
    # an incomplete one is still rewritten
    (root / files[-1]).unlink()
    make_demo_dataset(root, train_per_class=1, val_per_class=1, test_per_class=1,
                      keep_existing=True, verbose=False)
    assert len(list((root / "imagenet").rglob("*.jpg"))) == 3 * len(CLASSES)


def test_incomplete_dataset_is_rewritten(tmp_path):
    root = make_demo_dataset(tmp_path / "d", verbose=False, **SMALL)
    victim = root / "VOCdevkit/VOC2007/Annotations/000002.xml"
    victim.unlink()
    make_demo_dataset(root, verbose=False, **SMALL)
    assert victim.is_file()


def test_refuses_foreign_data(tmp_path):
    (tmp_path / "VOCdevkit").mkdir()
    (tmp_path / "VOCdevkit" / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        make_demo_dataset(tmp_path, verbose=False, **SMALL)
    assert (tmp_path / "VOCdevkit" / "precious.txt").read_text() == "keep me"


def test_cli(tmp_path):
    root = tmp_path / "cli"
    cmd = [sys.executable, "-m", "jpeg_deep.demo", str(root), "--seed", "1",
           "--per-class-train", "2", "--per-class-val", "1", "--per-class-test", "1"]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert str(root) in done.stdout
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["seed"] == 1
    assert manifest["counts"] == {"train": 10, "validation": 5, "test": 5}
    assert (root / "imagenet" / "imagenet_class_index.json").is_file()
    again = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "already" in again.stdout

    bad = subprocess.run([sys.executable, "-m", "jpeg_deep.demo", str(root), "--seed", "-1"],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "seed" in bad.stderr
