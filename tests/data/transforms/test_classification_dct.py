"""DCT-domain classification transforms and Keras layers against pixel-domain oracles.

Oracle ("unquantised"): inverse DCT of the input coefficients -> chroma upsampled 2x with
cv2 INTER_LINEAR (libjpeg's fancy upsampling) -> the same cv2.resize / slicing / flip on float32
Y, Cb, Cr planes -> chroma 2:1 box filter (a 4:2:0 encoder) -> forward DCT. Tolerance
``PIXEL_TOL`` on the 0..255 scale (float32 rounding only; measured ~5e-5).

Real path: decode (OpenCV), albumentations with the same parameters, JPEG re-encode at q95 4:2:0,
read. It quantises and rounds to 8 bits, so it is compared loosely (``REENCODE_*``).
"""
import io
import os
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import pytest

from conftest import jpeg_bytes, smooth_image
from jpeg_deep import dct
from jpeg_deep.dct import banded
from jpeg_deep.codec.jpeg import decode_rgb, encode_jpeg
from jpeg_deep.data.transforms.classification import TransformConfig
from jpeg_deep.data.transforms.classification_dct import (DCTTransformConfig, make_dct_transform,
                                                          train_params)
from jpeg_deep.data.transforms.layout import dct_layout
from jpeg_deep.codec.readers import read_dct

PIXEL_TOL = 1e-3          # max |difference| on the 0..255 scale vs the unquantised oracle
REENCODE_MEAN_TOL = (1.5, 1.25, 1.25)  # mean |diff| (grey levels), Y Cb Cr; measured ~1.0, 0.9, 0.9
REENCODE_MAX_TOL = 16.0   # worst pixel (quantised edges); measured <= 9


def photo_500x375():
    data = pytest.importorskip("skimage.data", reason="scikit-image not installed")
    return cv2.resize(data.astronaut(), (500, 375), interpolation=cv2.INTER_AREA)


def components(img, quality=90):
    return read_dct(encode_jpeg(img, quality), "jpeg2dct")


def to_pixels(c, h=None, w=None):
    p = dct.blocks_to_pixels(c)
    return p[:h, :w]


def oracle(y, cb, cr, p, h, w, crop):
    """The unquantised pixel-domain oracle of one sample with parameters ``p``."""
    ch, cw = -(-h // 2), -(-w // 2)
    outs = []
    for comp, chroma in ((y, False), (cb, True), (cr, True)):
        px = to_pixels(comp, ch if chroma else h, cw if chroma else w).astype(np.float32)
        if chroma:
            px = cv2.resize(px, (2 * cw, 2 * ch), interpolation=cv2.INTER_LINEAR)[:h, :w]
        if p["window"] is not None:
            t, left, hh, ww = p["window"]
            px = px[t:t + hh, left:left + ww]
        rh, rw = p["size"]
        px = cv2.resize(px, (rw, rh), interpolation=cv2.INTER_LINEAR)
        if crop is not None:
            t, left = p["offset"]
            px = px[t:t + crop, left:left + crop]
        if p["flip"]:
            px = px[:, ::-1]
        if chroma:
            hh, ww = px.shape
            px = np.pad(px, ((0, hh % 2), (0, ww % 2)), mode="edge")
            px = px.reshape(-(-hh // 2), 2, -(-ww // 2), 2).mean(axis=(1, 3))
        outs.append(dct.pixels_to_blocks(px))
    return outs


def assert_close_pixels(out, ref, tol=PIXEL_TOL):
    for a, b in zip(out, ref):
        assert a.shape == b.shape
        err = np.abs(dct.blocks_to_pixels(a) - dct.blocks_to_pixels(b)).max()
        assert err < tol, err


SIZES = [(101, 131), (131, 101), (375, 500)]


@pytest.mark.parametrize("h,w", SIZES)
@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_shapes_layout_and_oracle(split, h, w, products):
    img = photo_500x375() if (h, w) == (375, 500) else smooth_image(h, w)
    y, cb, cr = components(img)
    config = TransformConfig(resize=256, crop=224)
    transform = make_dct_transform(split, config)
    for seed in range(3 if split == "train" else 1):
        out = transform(y, cb, cr, np.random.default_rng(seed), size=(h, w))
        assert all(o.dtype == np.float32 for o in out)
        p = transform.params(h, w, np.random.default_rng(seed))
        if split == "test":
            rh, rw = p["size"]
            assert out[0].shape == (-(-rh // 8), -(-rw // 8), 64)
            assert out[1].shape == out[2].shape == (-(-rh // 16), -(-rw // 16), 64)
        else:
            assert out[0].shape == (28, 28, 64)
            assert out[1].shape == out[2].shape == (14, 14, 64)
            ly, lc = dct_layout(*out, "y_cbcr")
            assert ly.shape == (28, 28, 64) and lc.shape == (14, 14, 128)
            # the same layout as the reader gives for a real 224x224 JPEG
            ry, rcb, _ = read_dct(encode_jpeg(np.zeros((224, 224, 3), np.uint8), 95))
            assert (ry.shape, rcb.shape) == (out[0].shape, out[1].shape)
        assert_close_pixels(out, oracle(y, cb, cr, p, h, w, None if split == "test" else 224))


def test_params_are_albumentations_formulas():
    t = make_dct_transform("val", TransformConfig(256, 224))
    assert t.params(375, 500, None)["size"] == (256, 341)
    assert t.params(375, 500, None)["offset"] == ((256 - 224) // 2, (341 - 224) // 2)
    # the albumentations val pipeline gives the same size
    rgb = np.zeros((375, 500, 3), np.uint8)
    resized = A.SmallestMaxSize(max_size=256, interpolation=cv2.INTER_LINEAR)(image=rgb)["image"]
    assert resized.shape[:2] == (256, 341)
    p = make_dct_transform("train").params(375, 500, np.random.default_rng(1))
    assert 0 <= p["offset"][0] <= 256 - 224 and 0 <= p["offset"][1] <= 341 - 224


def test_determinism_and_flip_rate():
    y, cb, cr = components(smooth_image(101, 131))
    t = make_dct_transform("train", TransformConfig(128, 96))
    a = t(y, cb, cr, np.random.default_rng(5), size=(101, 131))
    b = t(y, cb, cr, np.random.default_rng(5), size=(101, 131))
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    c = t(y, cb, cr, np.random.default_rng(6), size=(101, 131))
    assert not np.array_equal(a[0], c[0])
    rng = np.random.default_rng(0)
    flips = [t.params(101, 131, rng)["flip"] for _ in range(2000)]
    assert 0.45 < np.mean(flips) < 0.55
    # a flipped sample is the exact mirror of the unflipped one with the same crop
    p = t.params(101, 131, np.random.default_rng(3))
    outs = {}
    for flip in (False, True):
        q = dict(p, flip=flip)
        ry, rc = t.plans(101, 131, q, False), t.plans(101, 131, q, True)
        from jpeg_deep.data.transforms.classification_dct import apply_plans
        outs[flip] = (apply_plans([y], *ry)[0], *apply_plans([cb, cr], *rc))
    for u, v in zip(outs[False], outs[True]):
        np.testing.assert_allclose(dct.flip_horizontal(u), v, atol=2e-3)


def test_random_resized_crop_and_quality_augmentation():
    img = smooth_image(131, 101)
    y, cb, cr = components(img)
    cfg = DCTTransformConfig(resize=64, crop=48, random_resized_crop=True, scale=(0.2, 1.0))
    t = make_dct_transform("train", cfg)
    for seed in range(4):
        out = t(y, cb, cr, np.random.default_rng(seed), size=(131, 101))
        p = t.params(131, 101, np.random.default_rng(seed))
        assert out[0].shape == (6, 6, 64) and out[1].shape == (3, 3, 64)
        assert_close_pixels(out, oracle(y, cb, cr, p, 131, 101, None))
    tq = make_dct_transform("train", DCTTransformConfig(64, 48, quality_range=(30, 30)))
    out = tq(y, cb, cr, np.random.default_rng(0), size=(131, 101))
    for c, table in ((out[0], dct.quantization_table(30, "luma")),
                     (out[1], dct.quantization_table(30, "chroma"))):
        np.testing.assert_allclose(np.round(c / table) * table, c, atol=1e-3)
    with pytest.raises(ValueError):
        DCTTransformConfig(crop=100)  # not whole blocks
    with pytest.raises(ValueError):
        make_dct_transform("nope")


def reencode_path(img, p, crop):
    """Decode -> albumentations with the parameters ``p`` -> q95 4:2:0 re-encode -> read."""
    rgb = decode_rgb(encode_jpeg(img, 90))
    rh, rw = p["size"]
    steps = [A.Resize(rh, rw, interpolation=cv2.INTER_LINEAR)]
    if crop is not None:
        t, left = p["offset"]
        steps.append(A.Crop(left, t, left + crop, t + crop))
    if p["flip"]:
        steps.append(A.HorizontalFlip(p=1.0))
    out = A.Compose(steps)(image=rgb)["image"]
    return read_dct(encode_jpeg(out, 95), "jpeg2dct")


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_close_to_the_reencoding_path(split):
    img = photo_500x375()
    y, cb, cr = components(img)
    t = make_dct_transform(split, TransformConfig(256, 224))
    p = t.params(375, 500, np.random.default_rng(2))
    if split == "train":
        p["flip"] = True
    crop = None if split == "test" else 224
    ry, rc = t.plans(375, 500, p, False), t.plans(375, 500, p, True)
    from jpeg_deep.data.transforms.classification_dct import apply_plans
    out = (apply_plans([y], *ry)[0], *apply_plans([cb, cr], *rc))
    ref = reencode_path(img, p, crop)
    for a, b, tol in zip(out, ref, REENCODE_MEAN_TOL):
        assert a.shape == b.shape
        d = np.abs(dct.blocks_to_pixels(a) - dct.blocks_to_pixels(b))
        assert d.mean() < tol, d.mean()
        assert d.max() < REENCODE_MAX_TOL, d.max()


# ------------------------------------------------------------------------------------------
# Keras layers vs numpy.


def test_flip_layer_matches_numpy():
    from jpeg_deep.dct.layers import DCTRandomFlip
    rng = np.random.default_rng(0)
    y = rng.normal(0, 50, (6, 4, 5, 64)).astype(np.float32)
    c = rng.normal(0, 50, (6, 2, 3, 128)).astype(np.float32)
    np.testing.assert_array_equal(DCTRandomFlip(p=1.0)(y, training=True).numpy(),
                                  dct.flip_horizontal(y))
    np.testing.assert_array_equal(DCTRandomFlip(p=0.0)(y, training=True).numpy(), y)
    np.testing.assert_array_equal(DCTRandomFlip(p=1.0)(y, training=False), y)
    oy, oc = DCTRandomFlip(p=0.5, seed=3)([y, c], training=True)
    oy, oc = oy.numpy(), oc.numpy()
    flipped = [not np.array_equal(oy[i], y[i]) for i in range(6)]
    for i in range(6):  # the same samples flipped in Y and in each chroma component
        fy = dct.flip_horizontal(y[i]) if flipped[i] else y[i]
        np.testing.assert_array_equal(oy[i], fy)
        for g in range(2):
            comp = c[i, ..., 64 * g: 64 * g + 64]
            fc = dct.flip_horizontal(comp) if flipped[i] else comp
            np.testing.assert_array_equal(oc[i, ..., 64 * g: 64 * g + 64], fc)


def test_resample_layers_match_numpy():
    from jpeg_deep.dct.layers import DCTCrop, DCTResample, DCTResize
    img = smooth_image(101, 131)
    y, cb, cr = components(img)
    batch = np.stack([y, y[:, ::-1]]).astype(np.float32)
    out = DCTResize(64, 90, size=(101, 131))(batch).numpy()
    for i in range(2):
        ref = dct.resize(batch[i], 64, 90, size=(101, 131))
        assert out[i].shape == ref.shape == (8, 12, 64)
        assert np.abs(out[i] - ref).max() < 2e-3
    out = DCTCrop(5, 11, 48, 64)(batch).numpy()
    np.testing.assert_allclose(out[0], dct.crop(batch[0], 5, 11, 48, 64), atol=2e-3)
    cbcr = np.concatenate([cb, cr], -1)[None].astype(np.float32)
    rows = dct.AxisOp(51).resize(40).window(3, 32)
    cols = dct.AxisOp(66).resize(50).window(7, 32).flip()
    out = DCTResample(rows, cols)(cbcr).numpy()[0]
    np.testing.assert_allclose(out[..., :64], dct.resample(cb, rows, cols), atol=2e-3)
    np.testing.assert_allclose(out[..., 64:], dct.resample(cr, rows, cols), atol=2e-3)


def test_config_conversion_pickling_and_default_size():
    import pickle
    t = make_dct_transform("val", TransformConfig(resize=64, crop=48, quality=80))
    assert t.config == DCTTransformConfig(resize=64, crop=48, quality=80)
    t2 = pickle.loads(pickle.dumps(t))
    y, cb, cr = components(smooth_image(96, 128))  # whole blocks: size=None is exact
    a = t(y, cb, cr, 0)
    b = t2(y, cb, cr, np.random.default_rng(0), size=(96, 128))
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert a[0].shape == (6, 6, 64) and a[1].shape == (3, 3, 64)


def test_fast_operator_build_equals_jpeg_deep_dct():
    from jpeg_deep.data.transforms import classification_dct as m
    ops = [(dct.AxisOp(375).resize(256).window(5, 248), 47),
           (m._chroma_op(375).resize(256).window(7, 240).halve(), 24),
           (m._chroma_op(101).resize(256).window(3, 240).halve(), 7),
           (dct.AxisOp(131).window(-5, 50).resize(77).flip(), 17),
           (dct.AxisOp(120).window(10, 30).resize(300).window(-3, 200), 15),
           (dct.AxisOp(64).resize(200, "area_up"), 8)]  # not handled: dense fallback
    for op, nb in ops:
        start, band = m._band(op, nb)
        ref = banded._band_operator(op, nb)
        np.testing.assert_array_equal(start, ref.start)
        np.testing.assert_allclose(band, ref.band, atol=1e-6)


def _dense(start, band, nb_in):
    """The block-banded operator ``(start, band)`` as a dense ``(8 nb_out, 8 nb_in)`` matrix."""
    k = band.shape[2] // 8
    a = np.zeros((8 * len(start), 8 * nb_in))
    for i, s in enumerate(start):
        a[8 * i: 8 * i + 8, 8 * s: 8 * s + 8 * k] = band[i]
    return a


@pytest.mark.parametrize("n_in,n_res,crop", [(375, 256, 224), (500, 341, 224), (131, 256, 224),
                                             (1000, 300, 256), (250, 188, 112), (101, 64, 48)])
def test_grouped_second_pass_equals_the_dense_product(n_in, n_res, crop):
    """Both passes, whatever window grouping the second pass chooses (including a last window
    that reaches one block past the image), equal ``A_rows @ M @ A_cols.T`` with dense
    operators."""
    from jpeg_deep.data.transforms import classification_dct as m
    rng = np.random.default_rng(n_in)
    nb = -(-n_in // 8)
    comps = [rng.integers(-300, 300, (nb, nb, 64)).astype(np.int16) for _ in range(2)]
    seen, past_the_edge = set(), False
    for offset in range(0, n_res - crop + 1, max(1, (n_res - crop) // 4)):
        for flip in (False, True):
            raw = m._phase_plan(n_in, n_res, offset % 8, False)
            i0 = (offset - offset % 8) // 8
            start, band = raw[0][i0: i0 + crop // 8], raw[1][i0: i0 + crop // 8]
            if flip:
                start, band = m._flipped(start, band)
            g = banded._grouped((start, band))
            seen.add((g.s, g.m))
            past_the_edge |= g.hi > nb or g.lo < 0
            out = m.apply_plans(comps, (start, band), g)
            a = _dense(start, band, nb)
            for c, o in zip(comps, out):
                tiled = c.reshape(nb, nb, 8, 8).transpose(0, 2, 1, 3).reshape(8 * nb, 8 * nb)
                ref = a @ tiled @ a.T
                got = o.reshape(crop // 8, crop // 8, 8, 8).transpose(0, 2, 1, 3)
                np.testing.assert_allclose(got.reshape(crop, crop), ref, atol=2e-2, rtol=1e-5)
    assert all(m_ >= 2 for _, m_ in seen), seen  # never the half-speed 8-wide products
    if (n_in, n_res) == (101, 64):
        assert past_the_edge  # a window reaching past the image's last block (zeros)


def _dense_past_the_edge(start, band, nb_in):
    """:func:`_dense` for plans that may read blocks past the last one (zeros there)."""
    k = band.shape[2] // 8
    return _dense(start, band, max(nb_in, int(np.max(start)) + k))[:, : 8 * nb_in]


def _kernel_cases():
    """Axis plans of every kind the transforms make: downscaling, upscaling (repeated starts),
    flips, chroma chains (zero sub-bands), and hand-made plans that read past the input."""
    from jpeg_deep.data.transforms import classification_dct as m
    cases = []
    for n_in, n_res, offset, crop, chroma in [(375, 256, 21, 224, False), (500, 341, 37, 224, False),
                                              (131, 256, 11, 224, False), (375, 256, 42, 224, True),
                                              (101, 64, 5, 48, False), (1000, 300, 30, 256, False)]:
        unit = 16 if chroma else 8
        start, band = m._phase_plan(n_in, n_res, offset % unit, chroma)
        i0 = (offset - offset % unit) // unit
        plan = start[i0: i0 + crop // unit], band[i0: i0 + crop // unit]
        nb = -(-(-(-n_in // 2) if chroma else n_in) // 8)
        cases += [(plan, nb), (m._flipped(*plan), nb)]
    rng = np.random.default_rng(0)
    band = rng.normal(size=(5, 8, 24)).astype(np.float32)
    band[1, :, 16:] = 0  # a zero sub-band
    cases.append(((np.array([0, 2, 4, 5, 6]), band), 7))  # reads 1 block past the input
    return cases


@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_compiled_kernel_equals_the_dense_product(dtype):
    """The compiled kernel, on every plan kind and on both input types, equals
    ``A_rows @ M @ A_cols.T`` with dense operators (blocks past the input: zeros), and the numpy
    products to float32 rounding."""
    from jpeg_deep.data.transforms import classification_dct as m
    if m._KERNEL == "numpy":
        pytest.skip("the compiled kernel is not in use here (kernel_variant() == 'numpy')")
    rng = np.random.default_rng(1)
    cases = _kernel_cases()
    for (rplan, nbr), (cplan, nbc) in zip(cases, cases[3:] + cases[:3]):
        c = rng.integers(-300, 300, (nbr, nbc, 64)).astype(dtype)
        c[rng.random((nbr, nbc, 8)).repeat(8, -1) < 0.4] = 0  # zero rows, as in a JPEG
        out = m.apply_plans([c], m._KernelPlan.of(rplan, False), m._KernelPlan.of(cplan, True))[0]
        ar, ac = _dense_past_the_edge(*rplan, nbr), _dense_past_the_edge(*cplan, nbc)
        tiled = c.astype(np.float64).reshape(nbr, nbc, 8, 8).transpose(0, 2, 1, 3)
        ref = ar @ tiled.reshape(8 * nbr, 8 * nbc) @ ac.T
        got = out.reshape(len(rplan[0]), len(cplan[0]), 8, 8).transpose(0, 2, 1, 3)
        np.testing.assert_allclose(got.reshape(ref.shape), ref, atol=2e-2, rtol=1e-5)
        if max(np.max(rplan[0]) + rplan[1].shape[2] // 8 - nbr,
               np.max(cplan[0]) + cplan[1].shape[2] // 8 - nbc) <= 0:
            np.testing.assert_allclose(out, m.apply_plans([c], banded._positional(rplan),
                                                          banded._grouped(cplan))[0],
                                       atol=1e-3, rtol=1e-6)


def test_compiled_operator_build_equals_numpys(monkeypatch):
    """The compiled operator builder (what each new image size costs) gives the numpy
    builder's start blocks and bands, for luma and chroma chains, down- and upscaling, every
    crop phase, sizes of one block and less."""
    from jpeg_deep.data.transforms import classification_dct as m
    if m._KERNEL == "numpy":
        pytest.skip("the compiled kernel is not in use here (kernel_variant() == 'numpy')")
    compiled = m._KERNEL
    rng = np.random.default_rng(0)
    n = 0
    for n_in in [int(v) for v in rng.integers(20, 600, 12)] + [5, 8, 9, 16]:
        for n_res in (int(rng.integers(8, 700)), 256, n_in):
            for chroma in (False, True):
                cols, w = m._resize_taps(n_in, n_res, chroma)
                nb_in = -(-(-(-n_in // 2) if chroma else n_in) // 8)
                for phase in (0, 3, 7):
                    if phase >= len(cols):
                        continue
                    monkeypatch.setattr(m, "_KERNEL", compiled)
                    s1, b1 = m.band_from_taps(cols[phase:], w[phase:], nb_in)
                    monkeypatch.setattr(m, "_KERNEL", "numpy")
                    s2, b2 = m.band_from_taps(cols[phase:], w[phase:], nb_in)
                    np.testing.assert_array_equal(s1, s2)
                    np.testing.assert_allclose(b1, b2, rtol=0, atol=1e-6)
                    n += 1
    assert n > 200


def test_compiled_kernel_builds_and_is_used_here():
    """Where a C compiler and AVX2 exist (CI, these machines), the install built the kernel and
    the transforms use it; its AVX2 build (chosen on processors without AVX-512) gives the
    same results as the AVX-512 one; a bad call is a ValueError, not a crash."""
    import platform
    import shutil
    import subprocess
    import sys

    from jpeg_deep.data.transforms import classification_dct as m
    if not (shutil.which("cc") or shutil.which("gcc")) or platform.machine() != "x86_64":
        pytest.skip("no C compiler or not x86-64: the numpy products are used")
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists() or "avx2" not in cpuinfo.read_text():
        pytest.skip("no AVX2 (or no /proc/cpuinfo to tell): the numpy products may be used")
    assert m._banded is not None, "jpeg_deep/_banded.c was not built (pip install -e .)"
    assert m.kernel_variant() in ("avx2", "avx512")
    cases = _kernel_cases()
    nbr, nbc = cases[0][1], cases[3][1]  # a 375-row and a 500-column input
    with pytest.raises(ValueError, match="input is not"):
        m._banded.apply(np.zeros((3, 3, 64), np.int16), False, 4, 3, np.zeros(1, np.int64),
                        np.zeros((1, 8, 8), np.float32), 1, np.zeros((1, 2), np.int64),
                        np.zeros(1, np.int64), np.zeros((1, 8, 8), np.float32), 1,
                        np.zeros((1, 2), np.int64), np.zeros((1, 1, 64), np.float32))
    code = (
        "import numpy as np, sys\n"
        "from jpeg_deep.data.transforms import classification_dct as m\n"
        "rng = np.random.default_rng(2)\n"
        f"c = rng.integers(-300, 300, ({nbr}, {nbc}, 64)).astype(np.int16)\n"
        "r, k = m._phase_plan(375, 256, 5, False), m._phase_plan(500, 341, 5, False)\n"
        "r, k = (r[0][2:30], r[1][2:30]), (k[0][4:32], k[1][4:32])\n"
        "out = m.apply_plans([c], m._KernelPlan.of(r, False), m._KernelPlan.of(k, True))\n"
        "sys.stdout.write(m.kernel_variant() + ' ' + out.tobytes().hex())\n")
    results = {}
    for cap in ("avx2", ""):
        env = dict(os.environ, JPEG_DEEP_KERNEL=cap)
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True)
        variant, hexed = run.stdout.split()
        results[variant] = np.frombuffer(bytes.fromhex(hexed), np.float32)
    assert "avx2" in results
    for v in results.values():
        np.testing.assert_allclose(v, results["avx2"], atol=1e-3, rtol=1e-6)


def test_resized_size_is_albumentations():
    """``SmallestMaxSize`` rounds (``int`` would be one pixel short for some sizes)."""
    from jpeg_deep.data.transforms.classification_dct import smallest_max_size

    for h, w in [(137, 120), (120, 137), (375, 500), (333, 500), (101, 131), (97, 211)]:
        for resize in (40, 112, 256):
            out = A.SmallestMaxSize(resize)(image=np.zeros((h, w, 3), np.uint8))["image"]
            assert smallest_max_size(h, w, resize) == out.shape[:2], (h, w, resize)


def test_both_paths_draw_the_same_crop_and_flip(tmp_path):
    """For a seed, the re-encoding path and the DCT-domain path crop and flip alike (their
    outputs differ by the re-encode's rounding only), and the flip does not depend on where
    the crop is."""
    from jpeg_deep.data.loader import (ClassificationDCTTransform, ClassificationTransform,
                                       SampleLoader)
    from jpeg_deep.dct import blocks_to_pixels

    path = tmp_path / "a.jpg"
    path.write_bytes(jpeg_bytes(smooth_image(101, 131), quality=95))
    rgb = SampleLoader("y", "train", TransformConfig(48, 32),
                       transform_factory=ClassificationTransform)
    dct = SampleLoader("y", "train", DCTTransformConfig(48, 32),
                       transform_factory=ClassificationDCTTransform)
    for seed in range(6):
        a, b = blocks_to_pixels(rgb(path, seed)[0]), blocks_to_pixels(dct(path, seed)[0])
        assert np.abs(a - b).mean() < 1.5, seed  # the re-encode's rounding (see the README)
        other = blocks_to_pixels(dct(path, seed + 100)[0])
        assert np.abs(a - other).mean() > 3, seed  # another seed: another crop or flip
    transform = ClassificationTransform("train", TransformConfig(48, 32))
    image = decode_rgb(path.read_bytes())
    flips = {True: 0, False: 0}
    for seed in range(200):
        p = train_params(101, 131, TransformConfig(48, 32), np.random.default_rng(seed))
        out, _ = transform(image, None, seed)
        assert out.shape == (32, 32, 3)
        if p["flip"] and p["offset"][0] >= (p["size"][0] - 32) / 2:
            flips[True] += 1  # flipped with a crop in the lower half
        flips[False] += not p["flip"]
    assert flips[True] > 20 and flips[False] > 60


def _dense(start, band, nb):
    k = band.shape[2] // 8
    d = np.zeros((len(start) * 8, 8 * (nb + k)))
    for i, (s, b) in enumerate(zip(start, band)):
        d[8 * i: 8 * i + 8, 8 * s: 8 * s + 8 * k] += b
    return d[:, : 8 * nb]


def test_window_plan_equals_the_generic_chain():
    """Random-resized crop's operators, composed directly from the resize's cached taps, equal
    the generic AxisOp chain's (window, resize, flip, chroma up / halve) for random windows."""
    from jpeg_deep.data.transforms import classification_dct as m

    rng = np.random.default_rng(0)
    for _ in range(120):
        n_in = int(rng.integers(40, 700))
        size = int(rng.integers(8, n_in + 1))
        top = int(rng.integers(0, n_in - size + 1))
        flip, chroma = bool(rng.integers(2)), bool(rng.integers(2))
        start, band = m._window_band(n_in, top, size, 224, flip, chroma)
        op = (m._chroma_op(n_in) if chroma else m._luma_op(n_in)).window(top, size).resize(224)
        op = op.flip() if flip else op
        op = op.halve() if chroma else op
        nb = -(-(-(-n_in // 2) if chroma else n_in) // 8)
        ref = m._band(op, nb)
        np.testing.assert_allclose(_dense(start, band, nb), _dense(*ref, nb), atol=1e-6)


@pytest.mark.skipif(__import__("jpeg_deep.data.transforms.classification_dct", fromlist=["_banded"])._banded
                    is None, reason="the compiled kernel was not built")
def test_compiled_kernel_plans_equal_numpys():
    """The kernel plans built in one C call from the geometry (taps, band, flip, transpose,
    nonzero sub-bands) of a random-resized crop and of a training crop (any offset, odd ones
    included) are the numpy construction's: exactly for a window, and the same operator for a
    crop (numpy slices its phase's whole plan, whose band may be wider)."""
    from jpeg_deep.data.transforms import classification_dct as m

    rng = np.random.default_rng(1)
    for _ in range(80):
        n_in = int(rng.integers(40, 700))
        size = int(rng.integers(8, n_in + 1))
        top = int(rng.integers(0, n_in - size + 1))
        flip, chroma, cols = (bool(b) for b in rng.integers(2, size=3))
        got = m._window_plan(n_in, top, size, 224, flip, chroma, cols, True)
        want = m._KernelPlan.of(m._window_band(n_in, top, size, 224, flip, chroma), cols)
        assert got.k == want.k
        for a, b in ((got.start, want.start), (got.band, want.band), (got.sub, want.sub)):
            assert a.flags.c_contiguous and a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
        n_res = int(rng.integers(224, 900))
        offset = int(rng.integers(0, n_res - 224 + 1))
        got = m._crop_plan(n_in, n_res, offset, 224, flip, chroma, cols, True)
        unit = 16 if chroma else 8
        start, band = m._phase_plan(n_in, n_res, offset % unit, chroma)  # numpy's crop
        i0 = offset // unit
        start, band = start[i0: i0 + 224 // unit], band[i0: i0 + 224 // unit]
        start, band = m._flipped(start, band) if flip else (start, band)
        nb = -(-(-(-n_in // 2) if chroma else n_in) // 8)
        mine = got.band.transpose(0, 2, 1) if cols else got.band
        np.testing.assert_allclose(_dense(got.start, mine, nb), _dense(start, band, nb),
                                   atol=1e-6)
        assert (got.sub[:, 1] <= got.k).all() and (got.sub[:, 0] <= got.sub[:, 1]).all()
    with pytest.raises(ValueError, match="bad geometry"):  # a window past the image
        m._banded.window_plan(100, 90, 20, 224, 0, 224, False, False, False, m._DCT8)


def test_compiled_kernel_writes_slots_of_a_cb_cr_batch_array_in_place():
    """A batch slot whose last axis holds Cb and Cr side by side (blocks of 64 floats at a
    stride of 128) is written by the kernel directly, with the same values as a contiguous
    output; an output whose blocks are not 64 contiguous floats at one stride is refused."""
    from jpeg_deep.data.transforms import classification_dct as m
    if m._KERNEL == "numpy":
        pytest.skip("the compiled kernel is not in use here (kernel_variant() == 'numpy')")
    cases = _kernel_cases()
    (rplan, nbr), (cplan, nbc) = cases[0], cases[3]
    rows, cols = m._KernelPlan.of(rplan, False), m._KernelPlan.of(cplan, True)
    rng = np.random.default_rng(2)
    cb, cr = (rng.integers(-200, 200, (nbr, nbc, 64)).astype(np.int16) for _ in range(2))
    ref = m.apply_plans([cb, cr], rows, cols)
    batch = np.full((2, len(rows.start), len(cols.start), 128), np.nan, np.float32)
    slot = (batch[1, ..., :64], batch[1, ..., 64:])
    assert banded._writable_directly(slot[0], ref.shape[1:])
    got = m.apply_plans([cb, cr], rows, cols, out=slot)
    assert got[0] is slot[0] and got[1] is slot[1]
    np.testing.assert_array_equal(batch[1, ..., :64], ref[0])
    np.testing.assert_array_equal(batch[1, ..., 64:], ref[1])
    assert np.isnan(batch[0]).all()  # the other slot untouched
    columns_first = np.zeros((len(cols.start), len(rows.start), 64), np.float32)
    view = columns_first.transpose(1, 0, 2)  # blocks at one stride, rows not after each other
    assert not banded._writable_directly(view, ref.shape[1:])
    with pytest.raises(ValueError, match="output is not"):
        m._banded.apply(cb, False, nbr, nbc, rows.start, rows.band, rows.k, rows.sub,
                        cols.start, cols.band, cols.k, cols.sub, view)
    m.apply_plans([cb], rows, cols, out=[view])  # such a view gets the values by a copy
    np.testing.assert_array_equal(view, ref[0])


def _one_call_available():
    return make_dct_transform("val", DCTTransformConfig(48, 32)).one_call(0)


@pytest.mark.skipif(not _one_call_available(),
                    reason="the compiled kernel or our reader is not built here")
@pytest.mark.parametrize("make", ["4:2:0", "4:4:4", "4:2:2", "4:4:0", "gray", "progressive",
                                  "restart markers", "q100 odd size", "photo"])
def test_one_call_read_equals_the_python_path(make):
    """``read(data, seed)`` (the loader's call: one compiled call for header, draws, plans,
    read and kernel) gives exactly what the Python path gives with ``default_rng(seed)``, on
    every kind of file, train (shorter-side crop; random-resized crop, its fallback
    included) and val, written into the slots of a ``y_cbcr`` batch (Cb and Cr side by side)
    or into new arrays; the reader stops below the crop as the Python path does."""
    from conftest import jpeg_files_of_every_kind
    from jpeg_deep.codec.readers import reader_stats

    data = (jpeg_bytes(photo_500x375(), quality=90) if make == "photo"
            else jpeg_files_of_every_kind()[make])
    config = DCTTransformConfig(256, 224) if make == "photo" else DCTTransformConfig(48, 32)
    n8, n16 = config.crop // 8, config.crop // 16
    rrc = DCTTransformConfig(config.resize, config.crop, random_resized_crop=True)
    narrow = DCTTransformConfig(config.resize, config.crop, random_resized_crop=True,
                                scale=(0.9, 1.0), ratio=(3.0, 4.0))  # no try fits: the fallback
    for split, cfg in (("train", config), ("val", config), ("train", rrc), ("train", narrow)):
        t = make_dct_transform(split, cfg)
        y = np.full((3, n8, n8, 64), np.nan, np.float32)
        cbcr = np.full((3, n16, n16, 128), np.nan, np.float32)
        stops = 0
        for seed in range(6):
            assert t.one_call(seed)
            before = reader_stats().get("stopped_early", 0)
            ref = t.read(data, np.random.default_rng(seed))  # the Python path
            ref_stopped = reader_stats().get("stopped_early", 0) - before
            before += ref_stopped
            slot = (y[1], cbcr[1, ..., :64], cbcr[1, ..., 64:])
            got = t.read(data, seed, out=slot)
            assert all(g is s for g, s in zip(got, slot))
            stopped = reader_stats().get("stopped_early", 0) - before
            for g, r in zip(got, ref):
                np.testing.assert_array_equal(g, r, err_msg=f"{make} {split} seed {seed}")
            for g, r in zip(t.read_seeded(data, seed), ref):  # new arrays
                np.testing.assert_array_equal(g, r)
            other = [np.asfortranarray(np.zeros_like(r)) for r in ref]  # written by a copy
            for g, r in zip(t.read_seeded(data, seed, out=other), ref):
                np.testing.assert_array_equal(g, r)
            assert stopped == ref_stopped
            stops += stopped
        if make == "photo" and cfg is config:  # small files' crops reach their last iMCU row
            assert stops > 0
        assert np.isnan(y[[0, 2]]).all() and np.isnan(cbcr[[0, 2]]).all()  # other slots


@pytest.mark.skipif(not _one_call_available(),
                    reason="the compiled kernel or our reader is not built here")
def test_one_call_leaves_other_files_to_the_general_path(tmp_path):
    """A file the one-call path does not take (4:1:1 chroma, a CMYK file, a truncated file
    that inspect_jpeg refuses, not a JPEG at all) gets None from it, and ``read`` then raises
    the general path's error naming the file (or reads it the general way); transforms it does
    not take (quality augmentation, test split, a Generator, a crop that is not whole chroma
    blocks) are not offered to it."""
    from PIL import Image
    from jpeg_deep.errors import InvalidJPEGError

    img = smooth_image(101, 131)
    t = make_dct_transform("train", DCTTransformConfig(48, 32))
    ok = jpeg_bytes(img, quality=90)
    cmyk = io.BytesIO()
    Image.fromarray(img).convert("CMYK").save(cmyk, format="jpeg")
    s411 = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                                      cv2.IMWRITE_JPEG_SAMPLING_FACTOR_411])[1].tobytes()
    for name, data in {"4:1:1": s411, "cmyk": cmyk.getvalue(), "truncated": ok[:len(ok) // 2],
                       "png": b"\x89PNG\r\n\x1a\n" + bytes(100)}.items():
        assert t.read_seeded(data, 3) is None, name
        with pytest.raises(InvalidJPEGError) as err:
            t.read(data, 3, name=f"{name}.jpg")
        with pytest.raises(InvalidJPEGError) as general:
            t.read(data, np.random.default_rng(3), name=f"{name}.jpg")
        assert str(err.value) == str(general.value), name
    assert t.read_seeded(ok, 3) is not None
    for config in (DCTTransformConfig(48, 32, quality_range=(50, 90)),
                   DCTTransformConfig(48, 40)):
        assert not make_dct_transform("train", config).one_call(3)
    assert not make_dct_transform("test", DCTTransformConfig(48, 32)).one_call(3)
    assert not t.one_call(np.random.default_rng(3)) and not t.one_call(-1)
    assert not t.one_call(2**64) and not t.one_call(True) and not t.one_call(None)


@pytest.mark.skipif(not _one_call_available(),
                    reason="the compiled kernel or our reader is not built here")
def test_one_call_plan_cache_is_bounded():
    """The compiled crop-plan cache holds at most 1024 plans (emptied when full), and a plan
    built again after that is the same."""
    from jpeg_deep import _banded

    data = jpeg_bytes(smooth_image(101, 131), quality=90)
    first = make_dct_transform("val", DCTTransformConfig(48, 32)).read(data, 0)
    for resize in range(32, 32 + 300):  # 4 plans per new size: past 1024
        make_dct_transform("val", DCTTransformConfig(resize, 32)).read(data, 0)
        assert _banded.cache_info()[0] <= 1024
    again = make_dct_transform("val", DCTTransformConfig(48, 32)).read(data, 0)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    _banded.cache_clear()
    assert _banded.cache_info()[0] == 0
