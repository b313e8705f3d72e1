"""Coding distortions (jpeg_deep.codec.distortions) and the rate-accuracy sweep of evaluation.py."""
import json
import shutil

import cv2
import numpy as np
import pytest

from helpers import run, write_config
from jpeg_deep.codec import distortions as D
from jpeg_deep.codec.jpeg import decode_rgb
from jpeg_deep.data.loader import SampleLoader
from jpeg_deep.codec.readers import read_dct
from jpeg_deep.plot import line_plot, log_ticks, nice_ticks

PHOTOS = ("astronaut", "coffee", "chelsea")


def photo(name):
    data = pytest.importorskip("skimage.data", reason="scikit-image not installed: no real photos")
    return getattr(data, name)()


@pytest.mark.parametrize("name", PHOTOS)
def test_dct_requantisation_agrees_with_a_real_reencode(name):
    """Source: the photo stored as a quality-95 4:2:0 JPEG (OpenCV). Reference: the real
    distortion (decode, re-encode at q with libjpeg-turbo, read back). Measured share of equal
    coefficients of the DCT form (re-quantisation, no decode), Y / Cb / Cr, over astronaut,
    coffee and chelsea: q = 10: >= 99.9 % each; q = 30: >= 99.6 %; q = 50: >= 99.2 %;
    q = 75: Y 98.6-98.9 %, chroma >= 99.0 %; q = 90: Y 91.8-94.2 %, chroma 91.4-97.1 % (a step
    close to the source's, where the decode's pixel rounding flips more roundings). Among the
    coefficients the reference keeps non-zero, Y agrees at 99.1-99.5 % (q 10), 98.5-99.1 % (q 30),
    97.1-98.0 % (q 50), 94.9-96.3 % (q 75), 90.3-92.0 % (q 90)."""
    src = D.encode(photo(name), "jpeg", 95)
    coefficients = read_dct(src)
    floors = {10: (0.998, 0.98), 30: (0.995, 0.975), 50: (0.99, 0.96), 75: (0.98, 0.94),
              90: (0.90, 0.88)}  # (all coefficients, Y's non-zero ones)
    for q, (floor, nz_floor) in floors.items():
        real = read_dct(D.jpeg_real(src, q))
        fast = D.jpeg_dct(coefficients, q)
        for got, ref in zip(fast, real):
            assert got.shape == ref.shape
            assert np.mean(got == ref) > floor, (name, q, np.mean(got == ref))
        nz = real[0] != 0
        assert np.mean(fast[0][nz] == real[0][nz]) > nz_floor, (name, q)
        # the distortion changes the source (otherwise this test could not fail)
        assert np.mean(fast[0] == coefficients[0]) < 0.99


def test_bits_per_pixel_grow_with_quality():
    img = photo("astronaut")
    src = D.encode(img, "jpeg", 95)
    bpp = [D.Distortion(q).bits_per_pixel(src) for q in (10, 30, 50, 75, 90)]
    assert all(a < b for a, b in zip(bpp, bpp[1:])), bpp
    assert 0.2 < bpp[0] < 0.6 and 1.5 < bpp[-1] < 3.5  # measured 0.35 and 2.26
    h, w = img.shape[:2]
    assert bpp[2] == D.bits_per_pixel(D.jpeg_real(src, 50), w, h)
    # the DCT form is measured from the real encode as well
    assert D.Distortion(50, form="dct").bits_per_pixel(src) == bpp[2]
    # 4:4:4 keeps full chroma: more bits
    assert D.Distortion(50, subsampling="4:4:4").bits_per_pixel(src) > bpp[2]


def test_coefficient_decode_matches_libjpeg():
    """The decode the DCT form uses ahead of an RGB-domain transform: measured mean absolute
    difference to OpenCV's decode 0.39 (astronaut), at most 4 levels."""
    src = D.encode(photo("astronaut"), "jpeg", 95)
    rgb = D.coefficients_to_rgb(read_dct(src), (512, 512))
    diff = np.abs(rgb.astype(int) - decode_rgb(src))
    assert diff.mean() < 0.6 and diff.max() <= 8


@pytest.mark.parametrize("codec", ["webp", "jp2"])
def test_other_codecs_give_a_jpeg(codec):
    if codec not in D.available_codecs():
        pytest.skip(f"OpenCV here has no {codec} encoder")
    src = D.encode(photo("chelsea"), "jpeg", 95)
    low, high = D.Distortion(10, codec), D.Distortion(90, codec)
    assert low.bits_per_pixel(src) < high.bits_per_pixel(src)
    out = low(src)
    assert out[:2] == b"\xff\xd8"  # a JPEG the DCT networks can read
    assert decode_rgb(out).shape == (300, 451, 3)
    with pytest.raises(ValueError, match="no DCT-domain form"):
        D.Distortion(10, codec, form="dct")


def test_distortion_checks_its_settings():
    with pytest.raises(ValueError, match="1..100"):
        D.Distortion(0)
    with pytest.raises(ValueError, match="unknown codec"):
        D.Distortion(10, "gif")
    with pytest.raises(ValueError, match="unknown distortion"):
        D.Distortion(10, form="fake")
    assert D.Distortion(10).tag == "jpeg_real_q10"
    assert D.Distortion(10, form="dct", subsampling="4:4:4").tag == "jpeg_dct_444_q10"


@pytest.mark.parametrize("form", ["real", "dct"])
@pytest.mark.parametrize("augmentation", ["rgb", "dct"])
def test_loader_applies_the_distortion_first(tmp_path, form, augmentation):
    from jpeg_deep.data.transforms.classification import TransformConfig
    from jpeg_deep.data.transforms.classification_dct import DCTTransformConfig
    from jpeg_deep.data.loader import ClassificationDCTTransform, ClassificationTransform

    path = tmp_path / "a.jpg"
    path.write_bytes(D.encode(photo("coffee"), "jpeg", 95))
    if augmentation == "rgb":
        kw = dict(transform=TransformConfig(resize=64, crop=56),
                  transform_factory=ClassificationTransform)
    else:
        kw = dict(transform=DCTTransformConfig(resize=64, crop=56),
                  transform_factory=ClassificationDCTTransform)
    clean = SampleLoader("y_cbcr", "test", **kw)
    low = SampleLoader("y_cbcr", "test", **kw, distortion=D.Distortion(10, form=form))
    high = SampleLoader("y_cbcr", "test", **kw, distortion=D.Distortion(95, form=form))
    a, b, c = clean(path), low(path), high(path)
    assert [x.shape for x in a] == [x.shape for x in b]
    err_low = np.mean(np.abs(a[0] - b[0]))
    err_high = np.mean(np.abs(a[0] - c[0]))
    assert err_low > 2 * err_high, (err_low, err_high)


def test_line_plot_draws_a_png(tmp_path):
    assert nice_ticks(0.3, 2.2) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert log_ticks(0.13, 4.2) == [0.1, 0.2, 0.5, 1, 2, 5]
    assert log_ticks(0.5, 2.0) == [0.5, 1, 2]
    path = line_plot([("top1", [0.3, 1.0, 2.0], [0.2, 0.5, 0.6]),
                      ("top5", [0.3, 1.0, 2.0], [0.5, 0.8, 0.9])], tmp_path / "p.png",
                     xlabel="bits per pixel", ylabel="score", title="t", ylim=(0, 1))
    img = cv2.imread(str(path))
    assert img is not None and img.shape == (600, 900, 3)
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 10  # more than a blank canvas


def test_rate_accuracy_plot_reads_like_a_figure(tmp_path):
    """Log bpp axis, the score axis fitted to the data (0.84-0.98 fills the height, not a thin
    band of 0-1), points labelled with their quality, the undistorted score as a line."""
    from jpeg_deep.engine.evaluate import plot_sweeps

    rows = [{"quality": q, "bpp": b, "top1": t, "top5": 0.99}
            for q, b, t in ((10, 0.25, 0.84), (50, 0.9, 0.95), (90, 2.9, 0.98))]
    path = plot_sweeps({"VGG-DCT": rows}, tmp_path / "s.png", title="t",
                       clean={"VGG-DCT": {"top1": 0.985, "top5": 0.995}})
    img = cv2.imread(str(path))
    top1 = np.all(img == (180, 119, 31), axis=-1)  # the first series' colour (BGR)
    # score axis 0.8..1.0 over the 480-pixel plot: 0.84 at y 434, 0.98 at y 98 (0..1: 67 px)
    used = np.flatnonzero(top1[93:470].any(axis=1)) + 93
    assert used.min() < 100 and used.max() > 428
    # log bpp axis 0.2..5 over 800 pixels: the q90 point (2.9 bpp) at x 745 (linear: 853);
    # rows 93-300 hold the curve, not the dotted undistorted line (y 86) and its label
    right = np.flatnonzero(top1[93:300].any(axis=0)).max()
    assert 740 <= right <= 752, right
    assert top1[80:90, 100:700].any(axis=0).sum() > 200  # the dotted reference line


def test_quality_sweep_end_to_end(tmp_path, tiny_demo):
    out = tmp_path / "experiments"
    config = write_config(tmp_path / "config" / "tiny" / "vgg", tiny_demo, epochs=1)
    result = run("training.py", "-c", config, env={"EXPERIMENTS_OUTPUT_DIRECTORY": str(out)})
    assert result.returncode == 0, result.stderr[-3000:]
    (exp,) = out.iterdir()
    shutil.copytree(exp, out / "copy")  # a second experiment for --compare
    exps = [exp, out / "copy"]

    sweep = run("evaluation.py", exp, "--jpeg-quality", "10", "90", "--limit", "6")
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    assert "bpp" in sweep.stdout and "top1" in sweep.stdout
    rows = json.loads((exp / "evaluation" / "test_best_jpeg_real.quality.json").read_text())
    assert [r["quality"] for r in rows] == [10, 90]
    assert set(rows[0]) == {"quality", "bpp", "top1", "top5"}
    assert 0 < rows[0]["bpp"] < rows[1]["bpp"]
    assert all(0 <= r["top1"] <= r["top5"] <= 1 for r in rows)
    img = cv2.imread(str(exp / "evaluation" / "test_best_jpeg_real.quality.png"))
    assert img is not None and img.ndim == 3
    p10 = np.load(exp / "predictions" / "test_best_jpeg_real_q10.npz")
    p90 = np.load(exp / "predictions" / "test_best_jpeg_real_q90.npz")
    assert p10["probabilities"].shape == p90["probabilities"].shape == (6, 5)
    assert not np.allclose(p10["probabilities"], p90["probabilities"])
    assert (exp / "evaluation" / "test_best_jpeg_real_q10.json").is_file()
    assert not (exp / "evaluation" / "test_best.json").exists()  # the clean file is untouched
    assert "no undistorted reference line" in sweep.stdout

    # the DCT form and the comparison: exps[1] runs its sweep, then the comparison reuses it and
    # runs exps[0]'s (it has no DCT-form sweep yet)
    both = run("evaluation.py", exps[1], "--jpeg-quality", "10", "90", "--limit", "6",
               "--distortion", "dct", "--compare", exp)
    assert both.returncode == 0, both.stderr[-3000:]
    assert (exps[1] / "evaluation" / "test_best_jpeg_dct.quality.json").is_file()
    compare = exps[1] / "evaluation" / "test_best_jpeg_dct.compare.png"
    assert cv2.imread(str(compare)) is not None
    dct_rows = json.loads((exp / "evaluation" / "test_best_jpeg_dct.quality.json").read_text())
    assert [r["quality"] for r in dct_rows] == [10, 90]

    bad = run("evaluation.py", exp, "--compare", exps[1])
    assert bad.returncode == 2 and "--compare needs --jpeg-quality" in bad.stderr
