"""Every detection config of the papers (Pascal VOC 07 / 07+12 / 07++12, MS-COCO, the INSA
designs) and the demo detectors load, with the published hyper-parameters, against folders laid
out like a VOC devkit and a COCO root (the demo scenes stand in), and read their three splits."""
import json
import shutil

import pytest

from helpers import REPO
from jpeg_deep.demo import CLASSES

VOC_CONFIGS = sorted(p.parent for p in (REPO / "config" / "pascalvoc").glob("*/*/config.py"))
COCO_CONFIGS = sorted(p.parent for p in (REPO / "config" / "mscoco").glob("*/config.py"))
DEMO_DETECTORS = sorted(p.parent for p in (REPO / "config" / "demo").glob("ssd*/config.py"))
D_NETWORKS = {"vgg16", "vgg16_dct", "vgg16_dct_y", "vgg16_dct_deconv", "resnet50",
              "late_concat_rfa", "late_concat_rfa_y", "late_concat_rfa_thinner",
              "late_concat_rfa_y_thinner", "deconvolution_rfa"}
INSA = {"insa_ssd_custom", "insa_y_cb4_cbcr_cb5", "insa_cb5_only", "insa_up_sampling",
        "insa_deconv"}


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    """A VOCdevkit with VOC2007 and VOC2012 and a COCO root with the 2017 file names, both made
    of the demo scenes."""
    from jpeg_deep.demo import make_demo_detection_dataset

    root = tmp_path_factory.mktemp("layouts")
    scenes = make_demo_detection_dataset(root / "demo", train=12, val=6, test=6, verbose=False)
    devkit = root / "VOCdevkit"
    shutil.copytree(scenes / "VOCdevkit" / "VOC2007", devkit / "VOC2007")
    voc2012 = devkit / "VOC2012"    # the same scenes under VOC2012-style ids (2012_000001)
    for sub, suffix in (("JPEGImages", ".jpg"), ("Annotations", ".xml")):
        (voc2012 / sub).mkdir(parents=True)
        for f in (devkit / "VOC2007" / sub).glob(f"*{suffix}"):
            shutil.copy(f, voc2012 / sub / f"2012_{f.name}")
    (voc2012 / "ImageSets" / "Main").mkdir(parents=True)
    for f in (devkit / "VOC2007" / "ImageSets" / "Main").glob("*.txt"):
        ids = f.read_text().split()
        (voc2012 / "ImageSets" / "Main" / f.name).write_text("".join(f"2012_{i}\n" for i in ids))
    coco = root / "coco"
    (coco / "annotations").mkdir(parents=True)
    for ours, theirs in (("train", "train2017"), ("val", "val2017")):
        shutil.copytree(scenes / "VOCdevkit" / "VOC2007" / "JPEGImages", coco / theirs)
        shutil.copy(scenes / "annotations" / f"instances_{ours}.json",
                    coco / "annotations" / f"instances_{theirs}.json")
    return devkit, coco


def test_every_published_experiment_has_a_config():
    for split in ("07", "07+12", "07++12"):
        names = {p.name for p in VOC_CONFIGS if p.parent.name == split}
        assert names == (D_NETWORKS | INSA if split == "07+12" else D_NETWORKS), split
    assert {p.name for p in COCO_CONFIGS} == D_NETWORKS


def check_recipe(config, steps):
    assert config.task == "detection" and config.input_size == 300
    assert (config.epochs, config.batch_size, config.steps_per_epoch) == (240, 32, steps)
    assert config.optimizer == dict(name="sgd", learning_rate=0.001, momentum=0.9)
    assert config.reduce_lr_on_plateau == dict(patience=5)
    assert config.early_stopping == dict(patience=15)
    assert config.transforms == dict(quality=75)


@pytest.mark.parametrize("folder", VOC_CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_voc_config_loads_and_reads_its_splits(folder, layouts, monkeypatch):
    from jpeg_deep.config import load_config
    from jpeg_deep.networks import spec
    from jpeg_deep.tasks import task_for

    monkeypatch.setenv("DATASET_PATH", str(layouts[0]))
    monkeypatch.delenv("SSD_BACKBONE_WEIGHTS", raising=False)
    config = load_config(folder)   # checks settings, network, data root
    check_recipe(config, 1000)
    assert spec(config.network).task == "detection"
    assert config.data["protocol"] == folder.parent.name and config.data["held_out"]
    assert config.data.get("class_names") is None           # the 20 VOC classes
    config.data["class_names"] = list(CLASSES)               # the demo scenes stand in
    task = task_for(config)
    sizes = {split: len(task.dataset(split)) for split in ("train", "val", "test")}
    assert all(sizes.values()), sizes


@pytest.mark.parametrize("folder", COCO_CONFIGS, ids=lambda p: p.name)
def test_coco_config_loads_and_reads_its_splits(folder, layouts, monkeypatch):
    from jpeg_deep.config import load_config
    from jpeg_deep.tasks import task_for

    monkeypatch.setenv("DATASET_PATH", str(layouts[1]))
    monkeypatch.delenv("SSD_BACKBONE_WEIGHTS", raising=False)
    config = load_config(folder)
    check_recipe(config, 3700)
    task = task_for(config)
    train = task.dataset("train", training=True)
    assert len(train) and len(task.dataset("test"))
    ids = json.loads((layouts[1] / "annotations" / "instances_train2017.json").read_text())
    assert set(train.category_ids) == {c["id"] for c in ids["categories"]}


@pytest.mark.parametrize("folder", DEMO_DETECTORS, ids=lambda p: p.name)
def test_demo_detector_config_loads(folder, layouts, monkeypatch, tmp_path):
    from jpeg_deep.config import load_config

    monkeypatch.setenv("DATASET_PATH", str(layouts[0]))
    uncut = tmp_path / "best.keras"  # the split detector starts from a trained one
    uncut.write_bytes(b"")
    monkeypatch.setenv("BASELINE_WEIGHTS", str(uncut))
    config = load_config(folder)
    assert config.task == "detection" and config.data["root"] == str(layouts[0])
