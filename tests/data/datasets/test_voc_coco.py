"""Detection data: VOC / COCO scanning, bad annotations, VOC splits, SSD augmentation, demo."""
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest

from jpeg_deep.data.datasets import voc
from jpeg_deep.data.transforms import ssd
from jpeg_deep.codec.jpeg import encode_jpeg
from jpeg_deep.errors import DatasetError
from jpeg_deep.data.datasets.detection import VOC_CLASSES, to_voc_pixels
from jpeg_deep.data.datasets.coco import COCODataset
from jpeg_deep.data.transforms.ssd import DetectionTransformConfig, make_detection_transform
from jpeg_deep.data.datasets.voc import VOCDataset, voc_splits
from jpeg_deep.codec.readers import read_dct
from jpeg_deep.demo import CLASSES, COCO_CATEGORY_IDS, make_demo_detection_dataset

COUNTS = dict(train=24, val=6, test=10)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_demo_detection_dataset(tmp_path_factory.mktemp("det"), seed=5, verbose=False,
                                       **COUNTS)


@pytest.fixture(scope="module")
def manifest(demo):
    return json.loads((demo / "manifest.json").read_text())


# ------------------------------------------------------------------ demo scenes

def test_demo_scenes(demo, manifest):
    files = manifest["files"]
    assert [f["split"] for f in files] == ["train"] * 24 + ["val"] * 6 + ["test"] * 10
    objects = [o for f in files for o in f["objects"]]
    assert all(1 <= len(f["objects"]) <= 6 for f in files)
    assert max(len(f["objects"]) for f in files) >= 5
    assert all(160 <= f["width"] <= 320 and 160 <= f["height"] <= 320 for f in files)
    sides = [max(o["bbox"][2] - o["bbox"][0], o["bbox"][3] - o["bbox"][1]) + 1 for o in objects]
    assert min(sides) < 20 and max(sides) > 100            # small and large objects
    assert 0 < sum(o["difficult"] for o in objects) < len(objects) / 2
    assert {o["name"] for o in objects} == set(CLASSES)

    def overlap(a, b):
        return min(a[2], b[2]) >= max(a[0], b[0]) and min(a[3], b[3]) >= max(a[1], b[1])
    assert any(overlap(a["bbox"], b["bbox"]) for f in files
               for i, a in enumerate(f["objects"]) for b in f["objects"][i + 1:])
    voc = demo / "VOCdevkit/VOC2007/ImageSets/Main"
    sets = {n: (voc / f"{n}.txt").read_text().split() for n in ("train", "val", "trainval", "test")}
    assert sets["trainval"] == sets["train"] + sets["val"]
    assert sets["test"] == [f["id"] for f in files if f["split"] == "test"]


def test_demo_xml_flags_difficult(demo, manifest):
    f = next(f for f in manifest["files"] if any(o["difficult"] for o in f["objects"]))
    root = ET.parse(demo / f["annotation"]).getroot()
    assert [o.findtext("difficult") == "1" for o in root.findall("object")] == \
        [o["difficult"] for o in f["objects"]]


def test_demo_second_call_writes_nothing(demo, capsys):
    before = {p: os.stat(p).st_mtime_ns for p in demo.rglob("*") if p.is_file()}
    make_demo_detection_dataset(demo.parent, seed=5, **COUNTS)
    assert "already present" in capsys.readouterr().out
    assert {p: os.stat(p).st_mtime_ns for p in demo.rglob("*") if p.is_file()} == before


def test_demo_refuses_foreign_data_and_repairs_its_own(tmp_path):
    (tmp_path / "detection" / "annotations").mkdir(parents=True)
    with pytest.raises(FileExistsError):
        make_demo_detection_dataset(tmp_path, train=1, val=1, test=1, verbose=False)
    folder = make_demo_detection_dataset(tmp_path / "ok", train=1, val=1, test=1,
                                         verbose=False)
    victim = folder / "annotations/instances_val.json"
    victim.unlink()
    make_demo_detection_dataset(tmp_path / "ok", train=1, val=1, test=1, verbose=False)
    assert victim.is_file()


def test_demo_deterministic_and_beside_classification(tmp_path):
    from jpeg_deep.demo import make_demo_dataset
    make_demo_dataset(tmp_path, train_per_class=1, val_per_class=0, test_per_class=0,
                      verbose=False)
    classification = (tmp_path / "manifest.json").read_bytes()
    a = make_demo_detection_dataset(tmp_path, seed=1, train=3, val=1, test=1, verbose=False)
    b = make_demo_detection_dataset(tmp_path / "b", seed=1, train=3, val=1, test=1,
                                    verbose=False)
    for rel in ("manifest.json", "annotations/instances_train.json",
                "VOCdevkit/VOC2007/JPEGImages/000004.jpg"):
        assert (a / rel).read_bytes() == (b / rel).read_bytes()
    assert (tmp_path / "manifest.json").read_bytes() == classification
    make_demo_dataset(tmp_path, train_per_class=1, val_per_class=0, test_per_class=0,
                      verbose=False, force=True)
    assert (a / "manifest.json").is_file()        # rewriting one leaves the other alone


# ------------------------------------------------------------------ VOC and COCO scans

@pytest.mark.parametrize("name", ["train", "val", "test"])
def test_voc_and_coco_layouts_agree(demo, manifest, name):
    voc = VOCDataset.scan(demo / "VOCdevkit", [("VOC2007", name)], class_names=CLASSES,
                          progress=False)
    coco = COCODataset.scan(demo / f"annotations/instances_{name}.json",
                            demo / "VOCdevkit/VOC2007/JPEGImages", progress=False)
    entries = [f for f in manifest["files"] if f["split"] == name]
    assert len(voc) == len(coco) == len(entries)
    assert voc.class_names == coco.class_names == CLASSES
    assert coco.category_ids == COCO_CATEGORY_IDS
    for v, c, e in zip(voc.samples, coco.samples, entries):
        assert v.image_id == e["id"] and c.image_id == int(e["id"])
        assert v.path == c.path == (demo / e["voc_path"]).resolve()
        assert (v.width, v.height) == (c.width, c.height) == (e["width"], e["height"])
        expected = np.array([o["bbox"] for o in e["objects"]], np.float32) - [1, 1, 0, 0]
        np.testing.assert_array_equal(v.boxes, expected)
        np.testing.assert_array_equal(c.boxes, expected)
        np.testing.assert_array_equal(to_voc_pixels(v.boxes), [o["bbox"] for o in e["objects"]])
        labels = [CLASSES.index(o["name"]) + 1 for o in e["objects"]]
        assert v.labels.tolist() == c.labels.tolist() == labels
        assert v.difficult.tolist() == c.difficult.tolist() == [o["difficult"]
                                                                for o in e["objects"]]
        assert v.boxes.dtype == np.float32 and v.labels.dtype == np.int32


def test_voc_scan_several_sets_and_shard(demo):
    ds = VOCDataset.scan(demo / "VOCdevkit", [("VOC2007", "trainval"), ("VOC2007", "test")],
                         class_names=CLASSES, progress=False)
    assert len(ds) == 40 and ds.num_classes == 5
    parts = [ds.shard(i, 3) for i in range(3)]
    assert sorted(s.image_id for p in parts for s in p.samples) == \
        sorted(s.image_id for s in ds.samples)
    with pytest.raises(DatasetError, match="listed twice"):
        VOCDataset.scan(demo / "VOCdevkit", [("VOC2007", "trainval"), ("VOC2007", "train")],
                        class_names=CLASSES, progress=False)


def test_voc_scan_cache(demo, monkeypatch):
    first = VOCDataset.scan(demo / "VOCdevkit", [("VOC2007", "val")], class_names=CLASSES,
                            progress=False)
    monkeypatch.setattr(voc, "read_voc_annotation",
                        lambda *a: pytest.fail("cache not used"))
    again = VOCDataset.scan(demo / "VOCdevkit", [("VOC2007", "val")], class_names=CLASSES,
                            progress=False)
    assert again.samples == first.samples


# ------------------------------------------------------------------ bad VOC annotations

def _devkit(tmp_path, objects=(("dog", 10, 20, 50, 60, 0),), size=(80, 64), xml_size=None,
            ids=("000001",)):
    voc = tmp_path / "VOCdevkit" / "VOC2007"
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (voc / sub).mkdir(parents=True, exist_ok=True)
    for image_id in ids:
        w, h = size
        cv2.imwrite(str(voc / "JPEGImages" / f"{image_id}.jpg"), np.full((h, w, 3), 90, np.uint8))
        xw, xh = xml_size or size
        objs = "".join(
            f"<object><name>{n}</name><difficult>{d}</difficult><bndbox><xmin>{a}</xmin>"
            f"<ymin>{b}</ymin><xmax>{c}</xmax><ymax>{e}</ymax></bndbox></object>"
            for n, a, b, c, e, d in objects)
        (voc / "Annotations" / f"{image_id}.xml").write_text(
            f"<annotation><size><width>{xw}</width><height>{xh}</height><depth>3</depth></size>"
            f"{objs}</annotation>")
    (voc / "ImageSets/Main/trainval.txt").write_text("".join(f"{i}\n" for i in ids))
    return tmp_path / "VOCdevkit", voc


def _scan(devkit, **kw):
    return VOCDataset.scan(devkit, [("VOC2007", "trainval")], progress=False, cache=False, **kw)


def test_small_devkit_reads(tmp_path):
    devkit, _ = _devkit(tmp_path, objects=[("dog", 1, 1, 80, 64, 0), ("person", 5, 6, 5, 6, 1)])
    s = _scan(devkit).samples[0]
    np.testing.assert_array_equal(s.boxes, [[0, 0, 80, 64], [4, 5, 5, 6]])
    assert s.labels.tolist() == [VOC_CLASSES.index("dog") + 1, VOC_CLASSES.index("person") + 1]
    assert s.difficult.tolist() == [False, True] and (s.width, s.height) == (80, 64)


@pytest.mark.parametrize("case, culprit, message", [
    ("missing_xml", "Annotations/000001.xml", "annotation file missing"),
    ("malformed_xml", "Annotations/000001.xml", "not well-formed XML"),
    ("unknown_class", "Annotations/000001.xml", "unknown class 'dragon'"),
    ("outside", "Annotations/000001.xml", "outside the 80x64 image"),
    ("negative_origin", "Annotations/000001.xml", "outside the 80x64 image"),
    ("negative_size", "Annotations/000001.xml", "zero or negative size"),
    ("bad_number", "Annotations/000001.xml", "numeric"),
    ("no_bndbox", "Annotations/000001.xml", "numeric"),
    ("size_mismatch", "Annotations/000001.xml", "<size> says 81x64"),
    ("missing_image", "JPEGImages/000001.jpg", "image file missing"),
    ("missing_set", "ImageSets/Main/trainval.txt", "image set file missing"),
])
def test_bad_voc_annotation_names_the_file(tmp_path, case, culprit, message):
    objects = {"unknown_class": [("dragon", 10, 20, 50, 60, 0)],
               "outside": [("dog", 10, 20, 82, 60, 0)],
               "negative_origin": [("dog", -1, 20, 50, 60, 0)],
               "negative_size": [("dog", 50, 20, 49, 60, 0)],
               "bad_number": [("dog", 10, "twenty", 50, 60, 0)]}.get(case)
    kwargs = {"objects": objects} if objects else {}
    if case == "size_mismatch":
        kwargs["xml_size"] = (81, 64)
    devkit, voc = _devkit(tmp_path, **kwargs)
    if case == "missing_xml":
        (voc / "Annotations/000001.xml").unlink()
    elif case == "malformed_xml":
        (voc / "Annotations/000001.xml").write_text("<annotation><object>")
    elif case == "no_bndbox":
        (voc / "Annotations/000001.xml").write_text(
            "<annotation><object><name>dog</name></object></annotation>")
    elif case == "missing_image":
        (voc / "JPEGImages/000001.jpg").unlink()
    elif case == "missing_set":
        (voc / "ImageSets/Main/trainval.txt").unlink()
    with pytest.raises(DatasetError) as err:
        _scan(devkit)
    assert str(voc / culprit) in str(err.value) and message in str(err.value)


def _broken_devkit(tmp_path):
    """Nine images: two good (one with a box one pixel past the border), and one of each of the
    seven kinds of broken annotation users meet, all in one devkit."""
    ids = [f"{i:06d}" for i in range(1, 10)]
    devkit, voc = _devkit(tmp_path, ids=ids)
    ann = voc / "Annotations"

    def xml(image_id, obj="<name>dog</name><bndbox><xmin>10</xmin><ymin>20</ymin><xmax>50"
                          "</xmax><ymax>60</ymax></bndbox>", size=(80, 64)):
        (ann / f"{image_id}.xml").write_text(
            f"<annotation><size><width>{size[0]}</width><height>{size[1]}</height></size>"
            f"<object>{obj}</object></annotation>")

    box = "<name>dog</name><bndbox><xmin>{}</xmin><ymin>{}</ymin><xmax>{}</xmax><ymax>{}</ymax>" \
          "</bndbox>"
    xml("000002", box.format(0, 20, 81, 60))                   # one pixel past: clipped
    (ann / "000003.xml").write_text("<annotation><object><name>dog")   # malformed XML
    xml("000004", box.format(10, 20, 300, 60))                 # far outside the image
    xml("000005", box.format(30, 20, 29, 60))                  # zero width (1-based, inclusive)
    xml("000006", "<name>dragon</name>" + box.format(1, 1, 5, 5)[15:])  # unknown class
    (ann / "000007.xml").unlink()                              # missing XML
    (voc / "JPEGImages" / "000008.jpg").unlink()               # missing image
    xml("000009", size=(640, 480))                             # <size> lies
    broken = {"malformed_xml": "Annotations/000003.xml", "box_outside_image":
              "Annotations/000004.xml", "degenerate_box": "Annotations/000005.xml",
              "unknown_class": "Annotations/000006.xml", "missing_annotation":
              "Annotations/000007.xml", "missing_image": "JPEGImages/000008.jpg",
              "size_mismatch": "Annotations/000009.xml"}
    return devkit, voc, broken


@pytest.mark.parametrize("on_error", ["stop", "skip"])
def test_every_broken_annotation_reported_in_one_scan(tmp_path, on_error):
    from jpeg_deep.data.datasets.scans import DatasetProblems

    devkit, voc, broken = _broken_devkit(tmp_path)
    if on_error == "stop":
        with pytest.raises(DatasetProblems) as info:
            _scan(devkit, on_error="stop")
        message, report = str(info.value), info.value.report
        assert "7 problem(s) in 7 file(s)" in message and "on_error='skip'" in message
        for kind, culprit in broken.items():  # a summary line per kind, and its file
            assert f"  {kind}: 1\n    {voc / culprit}: " in message
    else:
        ds = _scan(devkit, on_error="skip")
        report = None
        assert [s.image_id for s in ds.samples] == ["000001", "000002"]
        assert ds.skipped == dict({k: [Path(f).stem] for k, f in broken.items()},
                                  clipped_box=["000002"])
    tsv = next((tmp_path / "cache" / "problems").glob("voc-*.tsv"))
    if report is not None:
        assert report.tsv == tsv and str(tsv) in message
    rows = [line.split("\t") for line in tsv.read_text().splitlines()]
    assert rows[0] == ["kind", "file", "reason"]
    assert sorted((k, f) for k, f, _ in rows[1:]) == sorted(
        (k, str(voc / f)) for k, f in broken.items())


def test_a_fix_in_place_is_seen_by_the_next_scan(tmp_path):
    """Fixing a file in place keeps its folder's date, which keys the scan cache: a scan that
    found problems is done again, so the fixed file is no longer reported."""
    from jpeg_deep.data.datasets.scans import DatasetProblems

    devkit, voc, broken = _broken_devkit(tmp_path)
    scan = dict(progress=False, cache=True)
    with pytest.raises(DatasetProblems) as first:
        VOCDataset.scan(devkit, [("VOC2007", "trainval")], **scan)
    folder = voc / "Annotations"
    dates = os.stat(folder).st_atime_ns, os.stat(folder).st_mtime_ns
    (folder / "000003.xml").write_text((folder / "000001.xml").read_text())  # the malformed one
    os.utime(folder, ns=dates)
    with pytest.raises(DatasetProblems) as second:
        VOCDataset.scan(devkit, [("VOC2007", "trainval")], **scan)
    assert "malformed_xml" in first.value.report.counts()
    assert "malformed_xml" not in second.value.report.counts()
    assert len(second.value.report) == len(first.value.report) - 1


def test_voc_box_one_pixel_past_the_border_is_clipped_and_counted(tmp_path):
    """Real VOC files hold boxes at 0 or at width + 1 (one pixel past the 1-based border):
    clipped to the image and counted, not an error; two pixels past is one."""
    devkit, _ = _devkit(tmp_path, objects=[("dog", 0, 20, 81, 65, 0), ("cat", 5, 5, 9, 9, 0)])
    ds = _scan(devkit)
    np.testing.assert_array_equal(ds.samples[0].boxes, [[0, 19, 80, 64], [4, 4, 9, 9]])
    assert ds.skipped == {"clipped_box": ["000001"]}


def test_voc_empty_images_skipped_only_when_asked(tmp_path):
    devkit, voc = _devkit(tmp_path, ids=("000001", "000002"))
    (voc / "Annotations/000002.xml").write_text(
        "<annotation><size><width>80</width><height>64</height></size></annotation>")
    assert [len(s.boxes) for s in _scan(devkit).samples] == [1, 0]
    ds = _scan(devkit, skip_empty=True)
    assert [s.image_id for s in ds.samples] == ["000001"]
    assert ds.skipped == {"no_objects": ["000002"]}


def test_voc_without_annotations_and_other_classes(tmp_path):
    devkit, voc = _devkit(tmp_path, objects=[("blob", 10, 20, 50, 60, 0)])
    with pytest.raises(DatasetError, match="unknown class 'blob'"):
        _scan(devkit)
    assert _scan(devkit, class_names=["thing", "blob"]).samples[0].labels.tolist() == [2]
    (voc / "Annotations/000001.xml").unlink()
    s = _scan(devkit, annotations=False).samples[0]
    assert s.boxes.shape == (0, 4) and (s.width, s.height) == (80, 64)


# ------------------------------------------------------------------ COCO specifics

def _coco(tmp_path, annotations, images=((7, "a.jpg", 80, 64), (9, "b.jpg", 80, 64))):
    folder = tmp_path / "images"
    folder.mkdir(exist_ok=True)
    for _, name, w, h in images:
        cv2.imwrite(str(folder / name), np.full((h, w, 3), 90, np.uint8))
    data = {"images": [{"id": i, "file_name": n, "width": w, "height": h}
                       for i, n, w, h in images],
            "annotations": [{"id": k + 1, "iscrowd": 0, "area": 1.0, **a}
                            for k, a in enumerate(annotations)],
            "categories": [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"},
                           {"id": 18, "name": "dog"}]}
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(data))
    return path, folder


def test_coco_ids_crowd_and_skips(tmp_path):
    path, folder = _coco(tmp_path, [
        dict(image_id=7, category_id=18, bbox=[10, 20, 30.5, 5]),
        dict(image_id=7, category_id=90, bbox=[0, 0, 80, 64]),
        dict(image_id=7, category_id=1, bbox=[5, 5, 10, 10], iscrowd=1),
        dict(image_id=7, category_id=1, bbox=[5, 5, 0, 10]),          # degenerate
        dict(image_id=7, category_id=1, bbox=[70, 60, 10.4, 4.5]),    # 0.4 / 0.5 px over
        dict(image_id=9, category_id=1, bbox=[1, 1, 5, 5], iscrowd=1),
    ])
    ds = COCODataset.scan(path, folder, progress=False)
    assert ds.category_ids == (1, 18, 90) and ds.class_names == ("person", "dog", "toothbrush")
    a, b = ds.samples
    np.testing.assert_allclose(a.boxes, [[10, 20, 40.5, 25], [0, 0, 80, 64], [70, 60, 80, 64]])
    assert a.labels.tolist() == [2, 3, 1] and not a.difficult.any()
    assert b.image_id == 9 and len(b.boxes) == 0
    assert ds.skipped == {"crowd_box": [3, 6], "degenerate_box": [4], "clipped_box": [5]}
    train = COCODataset.scan(path, folder, skip_empty=True, progress=False)
    assert [s.image_id for s in train.samples] == [7] and train.skipped["no_objects"] == [9]


@pytest.mark.parametrize("ann, message", [
    (dict(image_id=7, category_id=5, bbox=[1, 1, 5, 5]), "unknown category 5"),
    (dict(image_id=8, category_id=1, bbox=[1, 1, 5, 5]), "unknown image 8"),
    (dict(image_id=7, category_id=1, bbox=[70, 10, 15, 5]), "outside the 80x64 image"),
    (dict(image_id=7, category_id=1, bbox=[1, 1, 5]), "bbox must be"),
])
def test_bad_coco_annotation(tmp_path, ann, message):
    path, folder = _coco(tmp_path, [ann])
    with pytest.raises(DatasetError, match=message) as err:
        COCODataset.scan(path, folder, progress=False)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("on_error", ["stop", "skip"])
def test_every_coco_problem_reported_in_one_scan(tmp_path, on_error):
    from jpeg_deep.data.datasets.scans import DatasetProblems

    images = [(i, f"{i}.jpg", 80, 64) for i in range(1, 7)]
    path, folder = _coco(tmp_path, [
        dict(image_id=1, category_id=18, bbox=[10, 20, 30, 5]),      # good
        dict(image_id=2, category_id=5, bbox=[1, 1, 5, 5]),          # unknown category
        dict(image_id=3, category_id=1, bbox=[70, 10, 15, 5]),       # outside the image
        dict(image_id=4, category_id=1, bbox=[1, 1, 5]),             # not [x, y, w, h]
        dict(image_id=8, category_id=1, bbox=[1, 1, 5, 5]),          # unknown image
        dict(image_id=6, category_id=1, bbox=[5, 5, 0, 10]),         # zero width: skipped box
    ], images=images)
    (folder / "5.jpg").unlink()                                      # missing image
    kinds = {"unknown_category", "box_outside_image", "bad_box_coordinates", "unknown_image",
             "missing_image"}
    if on_error == "stop":
        with pytest.raises(DatasetProblems) as info:
            COCODataset.scan(path, folder, progress=False)
        assert set(info.value.report.counts()) == kinds
        assert "5 problem(s)" in str(info.value) and str(folder / "5.jpg") in str(info.value)
    else:
        ds = COCODataset.scan(path, folder, progress=False, on_error="skip")
        assert [s.image_id for s in ds.samples] == [1, 6]
        assert ds.skipped == {"unknown_category": [2], "box_outside_image": [3],
                              "bad_box_coordinates": [4], "missing_image": [5],
                              "degenerate_box": [6]}
    tsv = next((tmp_path / "cache" / "problems").glob("coco-*.tsv"))
    assert {line.split("\t")[0] for line in tsv.read_text().splitlines()[1:]} == kinds


def test_coco_missing_image_and_bad_file(tmp_path):
    path, folder = _coco(tmp_path, [])
    (folder / "b.jpg").unlink()
    with pytest.raises(DatasetError, match="image file missing") as err:
        COCODataset.scan(path, folder, progress=False)
    assert str(folder / "b.jpg") in str(err.value)
    path.write_text('{"images": []')
    with pytest.raises(DatasetError, match="not a JSON file"):
        COCODataset.scan(path, folder, progress=False)
    path.write_text('{"images": []}')
    with pytest.raises(DatasetError, match="no annotations, categories"):
        COCODataset.scan(path, folder, progress=False)


# ------------------------------------------------------------------ VOC splits

def test_voc_splits():
    v07, v12 = "VOC2007", "VOC2012"
    assert voc_splits("07") == {"train": [(v07, "trainval")], "val": [(v07, "val")],
                                "test": [(v07, "test")]}
    assert voc_splits("07+12") == {"train": [(v07, "trainval"), (v12, "trainval")],
                                   "val": [(v07, "val")], "test": [(v07, "test")]}
    assert voc_splits("07++12") == {"train": [(v07, "trainval"), (v07, "test"), (v12, "trainval")],
                                    "val": [(v12, "val")], "test": [(v12, "test")]}
    held = voc_splits("07+12", held_out=True)
    assert held["train"] == [(v07, "train"), (v12, "train")]
    assert held["val"] == [(v07, "val"), (v12, "val")]
    assert voc_splits("07++12", held_out=True)["val"] == [(v07, "test")]
    for name in ("07", "07+12", "07++12"):
        for held_out in (False, True):
            s = voc_splits(name, held_out)
            assert not set(s["train"]) & set(s["test"])
            if held_out:
                assert not set(s["train"]) & set(s["val"])
    with pytest.raises(ValueError, match="07"):
        voc_splits("12")


# ------------------------------------------------------------------ SSD augmentation

RED, GREEN = (255, 0, 0), (0, 255, 0)


def _marked_image():
    """Blue background with a red and a green rectangle (continuous boxes below)."""
    img = np.zeros((120, 160, 3), np.uint8)
    img[...] = (0, 0, 200)
    img[20:70, 30:90] = RED
    img[60:110, 100:150] = GREEN
    return img, np.array([[30, 20, 90, 70], [100, 60, 150, 110]], np.float32)


def _colour_box(img, colour):
    c = np.array(colour)
    mask = np.abs(img.astype(int) - c).max(axis=2) < 80
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def test_augmented_boxes_follow_the_image(monkeypatch):
    # colours are left alone so that the rectangles can be found again; the geometry is the
    # full training chain: zoom-out, IoU crop, flip, resize with a random interpolation
    monkeypatch.setattr(ssd, "photometric_distort", lambda rgb, rng: rgb)
    transform = make_detection_transform("train", DetectionTransformConfig(input_size=96))
    img, boxes = _marked_image()
    labels = np.array([[1, 0], [2, 1]])          # label and difficult travel together
    dropped = flipped = scaled = 0
    for seed in range(40):
        out, out_boxes, out_labels = transform(img, boxes, labels, seed)
        assert out.shape == (96, 96, 3) and out.dtype == np.uint8
        assert len(out_boxes) == len(out_labels) and out_labels.shape[1:] == (2,)
        assert (out_boxes >= 0).all() and (out_boxes <= 96).all()
        assert ((out_boxes[:, 2:] - out_boxes[:, :2]) >= 1).all()
        dropped += len(out_boxes) < 2
        for box, (label, difficult) in zip(out_boxes, out_labels):
            assert difficult == label - 1
            found = _colour_box(out, RED if label == 1 else GREEN)
            assert found is not None, seed
            # the region of the colour may extend past a box whose centre was kept but whose
            # other part was cropped: compare with the visible region, which it must equal
            np.testing.assert_allclose(box, found, atol=1.6, err_msg=f"seed {seed}")
            scaled += abs((box[2] - box[0]) - 60 * 96 / 160) > 2
        if len(out_boxes) == 2:       # red is left of green unless flipped
            flipped += out_boxes[0, 0] > out_boxes[1, 0]
    assert dropped and flipped and scaled


def test_val_transform_resizes_only():
    img, boxes = _marked_image()
    transform = make_detection_transform("val", DetectionTransformConfig(input_size=80))
    out, out_boxes, out_labels = transform(img, boxes, np.array([1, 2]), 3)
    np.testing.assert_allclose(out_boxes, boxes * [0.5, 80 / 120, 0.5, 80 / 120], atol=1e-4)
    assert out_labels.tolist() == [1, 2]
    assert np.array_equal(out, cv2.resize(img, (80, 80), interpolation=cv2.INTER_LINEAR))


def test_boxes_clipped_and_degenerate_dropped_with_labels():
    img = np.zeros((300, 300, 3), np.uint8)
    boxes = np.array([[-20, 10, 100, 100],      # partly outside: clipped
                      [150, 150, 155, 200],     # 5 px wide -> 0.5 output px: dropped
                      [310, 10, 330, 50],       # wholly outside: dropped
                      [200, 200, 300, 300]], np.float32)
    out, out_boxes, out_labels = make_detection_transform(
        "test", DetectionTransformConfig(input_size=30))(img, boxes, np.array([4, 5, 6, 7]), 0)
    np.testing.assert_allclose(out_boxes, [[0, 1, 10, 10], [20, 20, 30, 30]], atol=1e-5)
    assert out_labels.tolist() == [4, 7]


def test_augmentation_deterministic_given_a_seed():
    img, boxes = _marked_image()
    transform = make_detection_transform("train", DetectionTransformConfig(input_size=64))
    other = make_detection_transform("train", DetectionTransformConfig(input_size=64))
    labels = np.array([1, 2])
    results = [transform(img, boxes, labels, s) for s in (11, 12, 11)]
    again = other(img, boxes, labels, np.random.default_rng(11))
    for a, b in ((results[0], results[2]), (results[0], again)):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
        assert np.array_equal(a[2], b[2])
    assert not np.array_equal(results[0][0], results[1][0])


def test_photometric_distortion_changes_colour_not_geometry():
    img, _ = _marked_image()
    outs = [ssd.photometric_distort(img, np.random.default_rng(s)) for s in range(8)]
    assert all(o.shape == img.shape and o.dtype == np.uint8 for o in outs)
    assert sum(not np.array_equal(o, img) for o in outs) >= 5
    for o in outs:   # flat regions stay flat: a per-pixel colour map, no geometry
        assert len(np.unique(o[20:70, 30:90].reshape(-1, 3), axis=0)) == 1
    assert np.array_equal(outs[3], ssd.photometric_distort(img, np.random.default_rng(3)))


def test_expand_fills_with_the_mean():
    img, boxes = _marked_image()
    canvas, shifted = ssd.expand(img, boxes, np.random.default_rng(0), 4.0)
    left, top = int(shifted[0, 0] - 30), int(shifted[0, 1] - 20)
    assert np.array_equal(canvas[top:top + 120, left:left + 160], img)
    fill = (canvas == np.array([123, 117, 104], np.uint8)).all(axis=2).sum()
    assert canvas.shape[0] > 120 and fill == canvas.shape[0] * canvas.shape[1] - 120 * 160
    np.testing.assert_array_equal(shifted - boxes, [[left, top, left, top]] * 2)


def test_transform_then_jpeg_then_dct(demo):
    ds = VOCDataset.scan(demo / "VOCdevkit", [("VOC2007", "test")], class_names=CLASSES,
                         progress=False)
    s = ds.samples[0]
    rgb = cv2.cvtColor(cv2.imread(str(s.path)), cv2.COLOR_BGR2RGB)
    config = DetectionTransformConfig()
    out, boxes, labels = make_detection_transform("train", config)(rgb, s.boxes, s.labels, 0)
    y, cb, cr = read_dct(encode_jpeg(out, config.quality))
    assert y.shape[:2] == (38, 38) and cb.shape[:2] == (19, 19)
    assert len(boxes) == len(labels) >= 1


def test_demo_cli_writes_detection(tmp_path, capsys):
    from jpeg_deep.demo import main
    main([str(tmp_path), "--per-class-train", "1", "--per-class-val", "0", "--per-class-test",
          "0", "--detection", "--scenes", "2", "1", "1", "--quiet"])
    manifest = json.loads((tmp_path / "detection" / "manifest.json").read_text())
    assert manifest["scenes"] == {"train": 2, "val": 1, "test": 1}
    assert (tmp_path / "detection/annotations/instances_test.json").is_file()
    assert (tmp_path / "manifest.json").is_file()


@pytest.mark.parametrize("bound", [0.0, 0.5, 0.7])
def test_iou_random_crop_rules(bound):
    # pixel (x, y) holds (x, y, 0): the crop's position can be read back from its first pixel
    ys, xs = np.mgrid[0:200, 0:240]
    img = np.stack([xs, ys, np.zeros_like(xs)], axis=2).astype(np.uint8)
    boxes = np.array([[10, 10, 120, 150], [100, 30, 230, 190], [50, 160, 70, 180]], np.float32)
    labels = np.array([1, 2, 3])
    cropped = 0
    for seed in range(30):
        out, kept, kept_labels = ssd.iou_random_crop(img, boxes, labels,
                                                           np.random.default_rng(seed), (bound,))
        if out.shape == img.shape:
            assert np.array_equal(kept, boxes)
            continue
        cropped += 1
        x0, y0 = int(out[0, 0, 0]), int(out[0, 0, 1])
        patch = np.array([x0, y0, x0 + out.shape[1], y0 + out.shape[0]])
        assert out.shape[1] >= 0.3 * 240 - 1 and out.shape[0] >= 0.3 * 200 - 1
        assert 0.5 <= out.shape[1] / out.shape[0] <= 2 + 0.05
        assert (ssd.box_iou(boxes, patch) > bound).any()
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        inside = (centres > patch[:2]).all(1) & (centres < patch[2:]).all(1)
        assert kept_labels.tolist() == labels[inside].tolist()
        expected = np.clip(boxes[inside], np.tile(patch[:2], 2), np.tile(patch[2:], 2)) \
            - np.tile(patch[:2], 2)
        np.testing.assert_array_equal(kept, expected)
    assert cropped >= 8      # 9 of these 30 seeds draw the bound first


def test_demo_detection_keep_existing_never_rewrites(tmp_path, capsys):
    """What the SSD demo configs ask for: scenes made with other counts are used as they are."""
    from jpeg_deep.demo import make_demo_detection_dataset

    folder = make_demo_detection_dataset(tmp_path, train=3, val=1, test=1, verbose=False)
    manifest = (folder / "manifest.json").read_text()
    make_demo_detection_dataset(tmp_path, train=9, val=2, test=2, keep_existing=True)
    assert "Using the demo detection scenes already in" in capsys.readouterr().out
    assert (folder / "manifest.json").read_text() == manifest
    make_demo_detection_dataset(tmp_path, train=2, val=1, test=1, verbose=False)  # no keep
    assert (folder / "manifest.json").read_text() != manifest
