"""Dataset scanning, transforms, layout and the batches fed to model.fit."""
import json
import os

import numpy as np
import pytest

from jpeg_deep.data.transforms.classification import TransformConfig, make_transform
from jpeg_deep.errors import DatasetError
from jpeg_deep.data.datasets.folders import ImageFolder
from jpeg_deep.data.transforms.layout import dct_layout
import functools

from jpeg_deep.data.batches import Batches
from jpeg_deep.data.loader import SampleLoader, iter_samples, one_hot

SMALL = TransformConfig(resize=40, crop=32, quality=95)
FIVE = functools.partial(one_hot, num_classes=5)  # the demo's classes


def loader(kind, split):
    return SampleLoader(kind, split, SMALL, encoder=FIVE)


def test_scan_uses_class_index_order(tiny_demo):
    ds = ImageFolder.scan(tiny_demo / "imagenet" / "train")
    index = json.loads((tiny_demo / "imagenet" / "imagenet_class_index.json").read_text())
    assert list(ds.class_ids) == [index[str(i)][0] for i in range(len(index))]
    assert len(ds) == 12 * 5
    assert all(ds.class_ids[label] in f for f, label in zip(ds.files, ds.labels))


def test_scan_without_index_sorts_folders(tmp_path, tiny_demo):
    import shutil

    root = tmp_path / "plain"
    shutil.copytree(tiny_demo / "imagenet" / "validation", root)
    ds = ImageFolder.scan(root)
    assert list(ds.class_ids) == sorted(ds.class_ids)


def test_scan_cache_sees_new_files(tmp_path, tiny_demo):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(tiny_demo / "imagenet" / "validation", root)
    n = len(ImageFolder.scan(root))
    shutil.copy(next((root / "circle").glob("*.jpg")), root / "circle" / "extra.jpg")
    assert len(ImageFolder.scan(root)) == n + 1


def test_scan_errors_name_the_folder(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        ImageFolder.scan(tmp_path / "missing")
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no JPEG"):
        ImageFolder.scan(tmp_path / "empty")


def test_transforms_sizes():
    img = np.zeros((60, 90, 3), np.uint8)
    assert make_transform("train", SMALL)(image=img)["image"].shape == (32, 32, 3)
    assert make_transform("val", SMALL)(image=img)["image"].shape == (32, 32, 3)
    assert make_transform("test", SMALL)(image=img)["image"].shape == (40, 60, 3)


def test_layout_pads_y_to_twice_chroma():
    y = np.ones((13, 17, 64), np.int16)
    cb = np.ones((7, 9, 64), np.int16)
    out = dct_layout(y, cb, cb, "y_cbcr")
    assert out[0].shape == (14, 18, 64) and out[1].shape == (7, 9, 128)
    assert out[0].dtype == np.float32 and out[0][13:].sum() == 0
    assert [a.shape for a in dct_layout(y, cb, cb, "y_cb_cr")] == [(14, 18, 64), (7, 9, 64),
                                                                   (7, 9, 64)]


@pytest.mark.parametrize("kind,shapes", [
    ("y_cbcr", [(8, 4, 4, 64), (8, 2, 2, 128)]),
    ("y", [(8, 4, 4, 64)]),
    ("y_cb_cr", [(8, 4, 4, 64), (8, 2, 2, 64), (8, 2, 2, 64)]),
    ("rgb", [(8, 32, 32, 3)]),
])
def test_batch_shapes_and_dtypes(tiny_demo, kind, shapes):
    ds = ImageFolder.scan(tiny_demo / "imagenet" / "train")
    batches = Batches(ds, batch_size=8, loader=loader(kind, "train"))
    x, y = batches[0]
    x = x if isinstance(x, tuple) else (x,)
    assert [a.shape for a in x] == shapes
    assert all(a.dtype == np.float32 for a in x)
    assert y.shape == (8, 5) and np.all(y.sum(axis=1) == 1)
    assert len(batches) == len(ds) // 8


def test_epochs_reshuffle_reproducibly(tiny_demo):
    ds = ImageFolder.scan(tiny_demo / "imagenet" / "train")

    def labels_of_epochs(seed):
        b = Batches(ds, batch_size=8, seed=seed, loader=loader("y", "train"))
        first = b[0][1].argmax(1)
        b.on_epoch_end()
        return first, b[0][1].argmax(1), b[0][0]

    a0, a1, ax = labels_of_epochs(0)
    b0, b1, bx = labels_of_epochs(0)
    np.testing.assert_array_equal(a0, b0)
    np.testing.assert_array_equal(ax, bx)  # augmentation seeded too
    assert not np.array_equal(a0, a1) or not np.array_equal(labels_of_epochs(1)[0], a0)


def test_corrupt_file_is_skipped_counted_and_replaced(tmp_path, tiny_demo):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(tiny_demo / "imagenet" / "train", root)
    (root / "circle" / "000000_bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (root / "ring" / "empty.jpg").write_bytes(b"")
    ds = ImageFolder.scan(root)
    batches = Batches(ds, batch_size=8, shuffle=False, drop_remainder=True,
                      event_log=tmp_path / "ev.tsv", loader=loader("y_cbcr", "val"))
    seen = 0
    for i in range(len(batches)):  # a whole epoch runs through
        x, y = batches[i]
        assert x[0].shape[0] == 8 and y.shape[0] == 8
        seen += len(y)
    skipped = batches.skipped()
    assert set(skipped) == {str(root / "circle" / "000000_bad.jpg"), str(root / "ring" / "empty.jpg")}
    assert "empty" in skipped[str(root / "ring" / "empty.jpg")]


@pytest.mark.parametrize("on_error", ["stop", "skip"])
def test_verify_reports_every_unreadable_file_at_scan_time(tmp_path, tiny_demo, on_error):
    import shutil

    from jpeg_deep.data.datasets.scans import DatasetProblems

    root = tmp_path / "data"
    shutil.copytree(tiny_demo / "imagenet" / "train", root)
    good = sorted(root.rglob("*.jpg"))
    bad = {root / "circle" / "000000_bad.jpg": b"\xff\xd8\xff\xe0 truncated",
           root / "ring" / "empty.jpg": b"",
           root / "ring" / "cut.jpg": good[0].read_bytes()[:300]}
    for path, data in bad.items():
        path.write_bytes(data)
    plain = ImageFolder.scan(root, on_error=on_error)  # without verify: found when read
    assert len(plain) == len(good) + 3 and plain.skipped == {}
    if on_error == "stop":
        with pytest.raises(DatasetProblems) as info:
            ImageFolder.scan(root, verify=True, progress=False)
        message = str(info.value)
        assert "unreadable_image: 3" in message and "3 problem(s) in 3 file(s)" in message
        assert all(str(path) in message for path in bad)
        tsv = info.value.report.tsv
    else:
        ds = ImageFolder.scan(root, verify=True, on_error="skip", progress=False)
        assert sorted(ds.path(i) for i in range(len(ds))) == good
        assert sorted(ds.skipped["unreadable_image"]) == sorted(
            str(p.relative_to(root)) for p in bad)
        tsv = next((tmp_path / "cache" / "problems").glob("folder-*.tsv"))
    rows = tsv.read_text().splitlines()
    assert len(rows) == 4 and {r.split("\t")[1] for r in rows[1:]} == {str(p) for p in bad}


def test_verify_checks_the_files_found_broken_again(tmp_path, tiny_demo):
    """The verification is cached with the file list, keyed by the class folders' dates; a
    file fixed in place keeps them, so the files found broken are checked on every scan."""
    import os
    import shutil

    root = tmp_path / "data"
    shutil.copytree(tiny_demo / "imagenet" / "train", root)
    good = next(root.rglob("*.jpg"))
    bad = root / "circle" / "zz_cut.jpg"
    bad.write_bytes(good.read_bytes()[:300])
    ds = ImageFolder.scan(root, verify=True, on_error="skip", progress=False)
    assert ds.skipped == {"unreadable_image": ["circle/zz_cut.jpg"]}
    dates = os.stat(bad.parent).st_atime_ns, os.stat(bad.parent).st_mtime_ns
    bad.write_bytes(good.read_bytes())  # fixed in place
    os.utime(bad.parent, ns=dates)
    again = ImageFolder.scan(root, verify=True, on_error="stop", progress=False)
    assert again.skipped == {} and "circle/zz_cut.jpg" in again.files


def test_parallel_workers_give_the_same_batches(tiny_demo):
    import keras

    ds = ImageFolder.scan(tiny_demo / "imagenet" / "validation")
    val = loader("y_cbcr", "val")
    serial = Batches(ds, batch_size=5, loader=val)
    parallel = Batches(ds, batch_size=5, loader=val, workers=2)
    model_in = [keras.Input((4, 4, 64)), keras.Input((2, 2, 128))]
    out = keras.layers.Dense(5, activation="softmax")(
        keras.layers.GlobalAveragePooling2D()(model_in[0]))
    model = keras.Model(model_in, out)
    np.testing.assert_allclose(model.predict(serial, verbose=0),
                               model.predict(parallel, verbose=0), rtol=1e-6)


def test_iter_samples_reports_bad_files_in_order(tmp_path, tiny_demo):
    files = sorted((tiny_demo / "imagenet" / "test").rglob("*.jpg"))[:3]
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    paths = [files[0], bad, files[1], files[2]]
    out = list(iter_samples(SampleLoader("y_cbcr", "test", SMALL), paths, workers=2))
    assert [p for p, _, _ in out] == paths
    assert out[1][1] is None and "not a JPEG" in out[1][2]
    assert all(o[1] is not None for i, o in enumerate(out) if i != 1)


def test_dct_domain_augmentation_matches_the_reencoding_path(tiny_demo):
    """augmentation="dct": the same crops from the coefficients, no decode or re-encode; close
    to the reference path (which adds a JPEG quantisation), same layout."""
    from jpeg_deep.data.transforms.classification_dct import DCTTransformConfig
    from jpeg_deep.data.loader import ClassificationDCTTransform

    ds = ImageFolder.scan(tiny_demo / "imagenet" / "validation")
    rgb_path = SampleLoader("y_cbcr", "val", SMALL, encoder=FIVE)
    dct_path = SampleLoader("y_cbcr", "val", DCTTransformConfig.of(SMALL),
                            transform_factory=ClassificationDCTTransform, encoder=FIVE)
    for i in range(0, len(ds), 4):
        (y_r, c_r), t_r = rgb_path.sample(ds.path(i), ds.target(i))
        (y_d, c_d), t_d = dct_path.sample(ds.path(i), ds.target(i))
        assert y_d.shape == y_r.shape and c_d.shape == c_r.shape
        np.testing.assert_array_equal(t_d, t_r)
        # DC coefficients are 8x the block mean: 8 grey levels of mean difference at most
        assert np.abs(y_d[..., 0] - y_r[..., 0]).mean() < 8 * 8
        assert np.corrcoef(y_d[..., 0].ravel(), y_r[..., 0].ravel())[0, 1] > 0.98
    train = Batches(ds, batch_size=4, loader=SampleLoader(
        "y_cbcr", "train", DCTTransformConfig.of(SMALL),
        transform_factory=ClassificationDCTTransform, encoder=FIVE))
    (x_y, x_c), y = train[0]
    assert x_y.shape == (4, 4, 4, 64) and x_c.shape == (4, 2, 2, 128) and y.shape == (4, 5)



def test_dct_training_batches_take_the_one_call_path(tiny_demo, monkeypatch):
    """A DCT-domain training batch is read by the one-call path (no Python header parse per
    file) with the same values as the Python path for each sample's seed, and a file it does
    not take (a truncated one) still gets the general path's error, which names the file."""
    from jpeg_deep.codec.readers import InvalidJPEGError
    from jpeg_deep.data import loader as loader_module
    from jpeg_deep.data.loader import ClassificationDCTTransform
    from jpeg_deep.data.transforms.classification_dct import (DCTTransformConfig,
                                                              make_dct_transform)

    config = DCTTransformConfig(48, 32)
    if not make_dct_transform("train", config).one_call(0):
        pytest.skip("the compiled kernel or our reader is not built here")
    ds = ImageFolder.scan(tiny_demo / "imagenet" / "train")
    sample_loader = SampleLoader("y_cbcr", "train", config,
                                 transform_factory=ClassificationDCTTransform, encoder=FIVE)
    calls = []
    inspect = loader_module.inspect_jpeg
    monkeypatch.setattr(loader_module, "inspect_jpeg",
                        lambda *a, **k: calls.append(a) or inspect(*a, **k))
    batches = Batches(ds, batch_size=4, loader=sample_loader)
    (x_y, x_c), y = batches[0]
    assert not calls  # every file of the batch went through the one-call path
    transform = make_dct_transform("train", config)
    for i in range(4):
        out = np.zeros((4, 4, 64), np.float32), np.zeros((2, 2, 128), np.float32)
        seed = 1000 + i
        sample_loader.sample(ds.path(i), ds.target(i), seed, out=out)
        ref = transform.read(open(ds.path(i), "rb").read(), np.random.default_rng(seed))
        np.testing.assert_array_equal(out[0], ref[0])
        np.testing.assert_array_equal(out[1][..., :64], ref[1])
        np.testing.assert_array_equal(out[1][..., 64:], ref[2])
    bad = tiny_demo.parent / "truncated.jpg"
    data = open(ds.path(0), "rb").read()
    bad.write_bytes(data[:len(data) // 2])
    with pytest.raises(InvalidJPEGError) as err:
        sample_loader.sample(str(bad), 0, 5)
    assert str(bad) in str(err.value) and calls  # the general path, its header check


def _big_result(i):
    if i == 3:
        raise ValueError("item 3")
    a = np.full((64, 300), i, np.float32)  # 76.8 KB: moved through shared memory
    return (a, {"small": np.arange(i), "list": [a[:2].copy(), "x"]}, None, i)


def test_ordered_map_moves_large_arrays_through_shared_memory(tmp_path, monkeypatch):
    import glob

    from jpeg_deep.data import parallel

    made = []
    real = parallel._shm_folder
    monkeypatch.setattr(parallel, "_shm_folder", lambda: made.append(real()) or made[-1])
    out = list(parallel.ordered_map(_big_result, [0, 1, 2], workers=2, max_pending=2))
    for i, (a, d, none, j) in enumerate(out):
        assert j == i and none is None and a.shape == (64, 300) and (a == i).all()
        np.testing.assert_array_equal(d["small"], np.arange(i))
        assert d["list"][1] == "x" and (d["list"][0] == i).all()
    assert made and not glob.glob(made[-1])  # the folder is gone, no file left behind
    with pytest.raises(ValueError, match="item 3"):
        list(parallel.ordered_map(_big_result, range(5), workers=2, max_pending=2))
    assert not glob.glob(made[-1])


def test_ordered_map_without_dev_shm_uses_the_pipe(monkeypatch):
    from jpeg_deep.data import parallel

    monkeypatch.setattr(parallel, "_shm_folder", lambda: None)
    out = list(parallel.ordered_map(_big_result, [0, 1, 2], workers=2, max_pending=2))
    assert [o[3] for o in out] == [0, 1, 2] and all((o[0] == i).all() for i, o in enumerate(out))


def test_batch_folders_of_killed_processes_are_removed(tmp_path):
    """A training killed outright leaves its /dev/shm batch folder behind; the next one to make a
    folder removes the folders whose process is gone, and only those."""
    import subprocess

    from jpeg_deep.data.parallel import _remove_orphans

    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = tmp_path / f"jpeg_deep_batches_{dead.pid}_ab_c"
    live = tmp_path / f"jpeg_deep_batches_{os.getpid()}_xyz"
    for folder in (orphan, live):
        folder.mkdir()
        (folder / "batch").write_bytes(b"x")
    _remove_orphans(tmp_path)
    assert not orphan.exists() and live.exists()
