"""jpeg_deep.dct against independent oracles.

* exact operations (flips, block-aligned crops) against ``jpegtran`` (Debian
  ``libjpeg-turbo-progs``), which transforms the stored coefficients losslessly;
* resampling and colour operations against "inverse DCT, the same operation on float32 pixels
  (OpenCV / numpy), forward DCT", using OpenCV's own ``cv2.dct`` as the pixel <-> block oracle;
* re-quantisation against a real PIL re-encode.

Real photos come from scikit-image (skipped with a message when it is missing); synthetic images
from ``conftest.smooth_image``.
"""
import io
import shutil
import subprocess

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import jpeg_bytes, smooth_image
from jpeg_deep import dct
from jpeg_deep.dct import banded, ops
from jpeg_deep.codec.readers import read_dct

JPEGTRAN = shutil.which("jpegtran")
needs_jpegtran = pytest.mark.skipif(
    JPEGTRAN is None,
    reason="jpegtran not found: apt-get install libjpeg-turbo-progs to test exactness against it")

# float32 DCT-domain products vs float32 OpenCV on pixels of amplitude ~128: both sides carry
# float32 rounding (~1e-5 relative, summed over <= 64-term dot products). Measured: at most
# 3e-5 on the 0..255 scale; 1e-3 leaves margin for other BLAS builds and is still 1000x
# smaller than one grey level, so any wrong weight, offset or padding fails.
PIXEL_TOL = 1e-3


def photo(name):
    data = pytest.importorskip("skimage.data", reason="scikit-image not installed: no real photos "
                               "(pip install scikit-image, part of the dev extra)")
    return getattr(data, name)()


def block_dct(pixels):
    """Independent forward oracle: OpenCV's DCT on each 8x8 block (pixels a multiple of 8)."""
    h, w = pixels.shape
    out = np.empty((h // 8, w // 8, 64))
    p = np.asarray(pixels, np.float64)
    for i in range(h // 8):
        for j in range(w // 8):
            out[i, j] = cv2.dct(p[8 * i: 8 * i + 8, 8 * j: 8 * j + 8]).ravel()
    return out


def block_idct(coef):
    bh, bw = coef.shape[:2]
    out = np.empty((8 * bh, 8 * bw))
    for i in range(bh):
        for j in range(bw):
            out[8 * i: 8 * i + 8, 8 * j: 8 * j + 8] = cv2.idct(
                np.asarray(coef[i, j], np.float64).reshape(8, 8))
    return out


def luma(rgb):
    """Level-shifted Y plane of an RGB image (float64)."""
    return dct.ycbcr_levels(rgb)[..., 0]


def test_dct_matrix_is_opencv_dct_ii():
    for n in (8, 4, 16):
        # cv2.dct of each unit vector (rows, DCT_ROWS) is a column of the DCT-II matrix
        ref = cv2.dct(np.eye(n), flags=cv2.DCT_ROWS).T
        np.testing.assert_allclose(dct.dct_matrix(n), ref, atol=1e-12)
    c = dct.dct_matrix()
    np.testing.assert_allclose(c @ c.T, np.eye(8), atol=1e-12)


def test_single_definition_is_used_by_networks_and_reader():
    from jpeg_deep.codec import readers
    from jpeg_deep.networks import resnet_uber

    c = dct.dct_matrix()
    basis = resnet_uber.dct_basis()  # (8, 8, 1, 64) conv kernel, channel 8v+u
    np.testing.assert_allclose(basis[..., 0, 8 * 2 + 5], np.outer(c[2], c[5]), atol=1e-7)
    down = np.kron(np.eye(8), [[0.5, 0.5]])  # 16 pixels -> 8, 2:1 box
    np.testing.assert_allclose(readers._halving_operator(), c @ down @ np.kron(np.eye(2), c.T),
                               atol=1e-12)


def test_pixel_block_helpers_match_opencv():
    rng = np.random.default_rng(0)
    p = rng.uniform(-128, 127, (24, 40))
    coef = dct.pixels_to_blocks(p)
    np.testing.assert_allclose(coef, block_dct(p), atol=1e-9)
    np.testing.assert_allclose(dct.blocks_to_pixels(coef), p, atol=1e-9)
    # a size that is not a multiple of 8 is padded by repeating the edge (as an encoder does)
    np.testing.assert_allclose(dct.pixels_to_blocks(p[:21, :35]),
                               block_dct(np.pad(p[:21, :35], ((0, 3), (0, 5)), mode="edge")),
                               atol=1e-9)


# --------------------------------------------------------------------------------------------
# Exact operations against jpegtran.


def jpegtran(data, *args):
    return subprocess.run([JPEGTRAN, *args], input=data, capture_output=True, check=True).stdout


def jpeg_420_sources():
    """4:2:0 JPEGs whose sizes are multiples of the 16x16 MCU: synthetic and real photos."""
    out = {"synthetic": jpeg_bytes(smooth_image(96, 144), quality=90, subsampling=2)}
    try:
        import skimage.data
    except ImportError:
        return out
    out["chelsea"] = jpeg_bytes(skimage.data.chelsea()[:288, :448], quality=85, subsampling=2)
    # a real camera JPEG, cropped losslessly to whole MCUs (it is 1411x1411)
    with open(skimage.data.__path__[0] + "/retina.jpg", "rb") as f:
        out["retina"] = jpegtran(f.read(), "-crop", "512x512+448+448") if JPEGTRAN else f.read()
    return out


@needs_jpegtran
@pytest.mark.parametrize("backend", ["libjpeg", "jpeg2dct", "jpeglib"])
def test_flips_bit_identical_to_jpegtran(backend):
    for name, data in jpeg_420_sources().items():
        comps = read_dct(data, backend)
        for axis, flip in (("horizontal", dct.flip_horizontal), ("vertical", dct.flip_vertical)):
            ref = read_dct(jpegtran(data, "-flip", axis), backend)
            for got, want in zip(comps, ref):
                out = flip(got)
                assert out.dtype == np.int16, name
                np.testing.assert_array_equal(out, want, err_msg=f"{name} {axis}")
        # flipping twice is the identity; flipping changes something (the test can fail)
        assert np.array_equal(dct.flip_horizontal(dct.flip_horizontal(comps[0])), comps[0])
        assert not np.array_equal(dct.flip_horizontal(comps[0]), comps[0])


@needs_jpegtran
def test_block_aligned_crop_bit_identical_to_jpegtran():
    for name, data in jpeg_420_sources().items():
        comps = read_dct(data, "jpeglib")
        h, w = 8 * comps[0].shape[0], 8 * comps[0].shape[1]
        # offsets on the 16-pixel MCU grid (block-aligned for Y and for 4:2:0 chroma);
        # sizes not multiples of 8: the last partial block is kept from the source
        for top, left, ch, cw in ((16, 32, 45, 61), (0, 0, h, w), (h - 32, w - 48, 32, 37)):
            ref = read_dct(jpegtran(data, "-crop", f"{cw}x{ch}+{left}+{top}"), "jpeglib")
            got = [dct.crop(comps[0], top, left, ch, cw)] + [
                dct.crop(c, top // 2, left // 2, -(-ch // 2), -(-cw // 2)) for c in comps[1:]]
            for g, r in zip(got, ref):
                assert g.dtype == np.int16
                np.testing.assert_array_equal(g, r, err_msg=f"{name} {cw}x{ch}+{left}+{top}")


# --------------------------------------------------------------------------------------------
# Resampling against "inverse DCT, OpenCV on float pixels, forward DCT".


def resampled_ok(out, ref_pixels, padding=(True, True)):
    """``out`` (coefficients) decodes to ``ref_pixels`` on the valid region, and its padding
    repeats the last valid row / column along the resampled axes (``padding``)."""
    h, w = ref_pixels.shape
    assert out.shape == (-(-h // 8), -(-w // 8), 64)
    pix = block_idct(out)
    err = np.abs(pix[:h, :w] - ref_pixels).max()
    assert err < PIXEL_TOL, err
    padded = np.pad(ref_pixels, ((0, pix.shape[0] - h), (0, pix.shape[1] - w)), mode="edge")
    if padding[0]:
        assert np.abs(pix[:, :w] - padded[:, :w]).max() < PIXEL_TOL
    if padding[1]:
        assert np.abs(pix[:h] - padded[:h]).max() < PIXEL_TOL
    return err


@pytest.mark.skipif(dct.kernel_variant() == "numpy", reason="the compiled kernel is not in use")
def test_resample_on_the_kernel_equals_numpy(monkeypatch):
    """Float32 resampling runs on the compiled kernel; numpy's banded products (the fallback)
    give the same result to float32 rounding: resizes up and down, windows outside the image
    with a fill, one axis only, stacked components, int16 and float32 input."""
    rng = np.random.default_rng(3)
    c = np.rint(rng.normal(0, 40, (2, 7, 9, 64))).astype(np.int16)
    cases = [(dct.AxisOp(56).resize(40), dct.AxisOp(72).resize(100), 0.0),
             (dct.AxisOp(53).window(-5, 30), dct.AxisOp(70).window(10, 64).flip(), 12.5),
             (None, dct.AxisOp(72).resize(33, "area"), 0.0),
             (dct.AxisOp(56).flip(), None, -3.0)]
    for rows, cols, fill in cases:
        for x in (c, c.astype(np.float32), c[0]):
            fast = dct.resample(x, rows, cols, fill=fill)
            monkeypatch.setattr(ops, "_KERNEL", "numpy")
            slow = dct.resample(x, rows, cols, fill=fill)
            monkeypatch.undo()
            assert fast.dtype == slow.dtype == np.float32 and fast.shape == slow.shape
            np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=2e-3)


def test_resize_equals_cv2_on_pixels_synthetic():
    rng = np.random.default_rng(1)
    cases = [((375, 500), (224, 224)), ((375, 500), (256, 341)), ((37, 45), (100, 61)),
             ((40, 48), (20, 24)), ((100, 60), (37, 150)), ((64, 64), (64, 64)), ((9, 300), (7, 3)),
             ((188, 250), (112, 112))]
    for (h, w), (oh, ow) in cases:
        p = rng.uniform(-128, 127, (h, w)).astype(np.float32)  # noise: the hardest content
        coef = dct.pixels_to_blocks(p).astype(np.float32)  # the float32 path
        for interp, flag in (("linear", cv2.INTER_LINEAR), ("area", cv2.INTER_AREA)):
            out = dct.resize(coef, oh, ow, interp, size=(h, w))
            assert out.dtype == np.float32
            resampled_ok(out, cv2.resize(p, (ow, oh), interpolation=flag))


def test_resize_float64_reproduces_opencv_weights():
    """In float64 the only differences left are rounding: the weights are OpenCV's own
    (half-pixel centres, edge replication, INTER_AREA's float32 tables, its two-tap formula
    when an axis is enlarged)."""
    rng = np.random.default_rng(3)
    p = rng.uniform(-128, 127, (101, 131))
    coef = dct.pixels_to_blocks(p)
    for oh, ow in ((37, 50), (224, 300), (50, 300), (300, 20), (101, 131)):
        for interp, flag in (("linear", cv2.INTER_LINEAR), ("area", cv2.INTER_AREA)):
            out = dct.resize(coef, oh, ow, interp, size=(101, 131))
            assert out.dtype == np.float64
            ref = cv2.resize(p, (ow, oh), interpolation=flag)
            # measured 2e-12; any weight off by a float32 ulp (6e-8 x 128) would exceed 1e-9
            assert np.abs(block_idct(out)[:oh, :ow] - ref).max() < 1e-9, (oh, ow, interp)


def test_resize_real_photo_and_int16_input():
    img = photo("coffee")[:375, :500]  # 375 x 500: Y is 47 x 63 blocks, the last row partial
    y = luma(img).astype(np.float32)
    coef = np.rint(dct.pixels_to_blocks(y)).astype(np.int16)  # what a reader returns
    y_dec = dct.blocks_to_pixels(coef)[:375, :500].astype(np.float32)
    for interp, flag in (("linear", cv2.INTER_LINEAR), ("area", cv2.INTER_AREA)):
        for oh, ow in ((224, 224), (256, 341), (600, 800)):
            out = dct.resize(coef, oh, ow, interp, size=(375, 500))
            resampled_ok(out, cv2.resize(y_dec, (ow, oh), interpolation=flag))


def test_operator_is_banded_and_gcd_free():
    # each output block reads at most ceil(8 * ratio / 8) + 2 input blocks, whatever the gcd
    for n_in, n_out in ((375, 224), (500, 224), (501, 223), (224, 500), (1000, 97)):
        op = banded._band_operator(dct.AxisOp(n_in).resize(n_out), -(-n_in // 8))
        assert op.k <= -(-n_in // n_out) + 2, (n_in, n_out, op.k)
        assert op.band.shape == (-(-n_out // 8), 8, 8 * op.k)


def test_crop_any_offset_and_outside_fill():
    img = photo("chelsea")  # 300 x 451
    y = luma(img)
    coef = dct.pixels_to_blocks(y)
    size = y.shape
    for top, left, h, w in ((3, 5, 100, 201), (17, 0, 64, 64), (8, 8, 50, 61)):
        out = dct.crop(coef, top, left, h, w, size=size)
        aligned = top % 8 == 0 and left % 8 == 0  # slicing: the padding is the source's
        resampled_ok(out, y[top: top + h, left: left + w], padding=(not aligned,) * 2)
    # partly outside the image: the outside takes the fill value
    canvas = np.full((340, 500), 20.0)
    canvas[20:320, 30:481] = y
    out = dct.crop(coef, -20, -30, 340, 500, size=size, fill=20.0)
    resampled_ok(out, canvas)


def test_expand_onto_a_canvas():
    img = smooth_image(60, 90, seed=2)
    fill_rgb = img.reshape(-1, 3).mean(0)
    fill = dct.ycbcr_levels(fill_rgb)
    ycc = dct.ycbcr_levels(img.astype(np.float64))
    for k in range(3):
        plane = ycc[..., k]
        coef = dct.pixels_to_blocks(plane)
        out = dct.expand(coef, 150, 200, 37, 51, fill[k], size=plane.shape)
        canvas = np.full((150, 200), fill[k])
        canvas[37:97, 51:141] = plane
        resampled_ok(out, canvas)


def test_composed_resize_crop_flip_is_one_product_and_equals_sequence():
    img = photo("astronaut")[:375, :500]
    y = luma(img).astype(np.float32)
    coef = dct.pixels_to_blocks(y)
    rows = dct.AxisOp(375).resize(256).window(13, 224)
    cols = dct.AxisOp(500).resize(341).window(59, 224).flip()
    out = dct.resample(coef, rows, cols)
    ref = cv2.resize(y, (341, 256), interpolation=cv2.INTER_LINEAR)[13:237, 59:283][:, ::-1]
    resampled_ok(out, ref)
    # the same through the individual functions
    step = dct.resize(coef, 256, 341, size=(375, 500))
    step = dct.flip_horizontal(dct.crop(step, 13, 59, 224, 224, size=(256, 341)))
    np.testing.assert_allclose(step, out, atol=1e-2)


def test_flip_of_a_partial_block_grid():
    rng = np.random.default_rng(4)
    p = rng.uniform(-100, 100, (21, 35))
    coef = dct.pixels_to_blocks(p)
    resampled_ok(dct.flip_horizontal(coef, width=35), p[:, ::-1])
    out = dct.resample(coef, dct.AxisOp(21).flip(), None)
    # the unchanged axis keeps its blocks as they are (its padding included)
    pix = block_idct(out)
    assert np.abs(pix[:21, :35] - p[::-1]).max() < PIXEL_TOL


# --------------------------------------------------------------------------------------------
# Colour, against the same operation on pixels.


def ycc_planes(img):
    ycc = dct.ycbcr_levels(img.astype(np.float64))
    return [ycc[..., k] for k in range(3)]


def test_brightness_and_contrast_equal_pixel_operations():
    y, _, _ = ycc_planes(photo("coffee")[:200, :304])
    coef = dct.pixels_to_blocks(y)
    out = dct.adjust_brightness(coef, 17.5)
    assert np.abs(block_idct(out) - (y + 17.5)).max() < PIXEL_TOL
    for factor in (0.6, 1.4):
        ref = y.mean() + factor * (y - y.mean())  # contrast about the image mean of Y
        assert np.abs(block_idct(dct.adjust_contrast(coef, factor)) - ref).max() < PIXEL_TOL
        ref = -0.5 + factor * (y + 0.5)  # SSD's "about 127.5"
        out = dct.adjust_contrast(coef, factor, mean=-0.5)
        assert np.abs(block_idct(out) - ref).max() < PIXEL_TOL


def test_saturation_equals_rgb_blend_with_luma():
    img = photo("astronaut")[:160, :240].astype(np.float64)
    _, cb, cr = ycc_planes(img)
    gray = 0.299 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2]
    for factor in (0.3, 1.7):
        blended = gray[..., None] + factor * (img - gray[..., None])  # PIL ImageEnhance.Color
        _, rcb, rcr = ycc_planes(blended)
        ocb, ocr = dct.adjust_saturation(dct.pixels_to_blocks(cb), dct.pixels_to_blocks(cr), factor)
        assert np.abs(block_idct(ocb) - rcb).max() < PIXEL_TOL
        assert np.abs(block_idct(ocr) - rcr).max() < PIXEL_TOL


def test_hue_rotates_the_chroma_vector_of_every_pixel():
    _, cb, cr = ycc_planes(photo("chelsea")[:160, :240])
    for degrees in (30.0, -75.0):
        rot = (cb + 1j * cr) * np.exp(1j * np.deg2rad(degrees))
        ocb, ocr = dct.adjust_hue(dct.pixels_to_blocks(cb), dct.pixels_to_blocks(cr), degrees)
        assert np.abs(block_idct(ocb) - rot.real).max() < PIXEL_TOL
        assert np.abs(block_idct(ocr) - rot.imag).max() < PIXEL_TOL


# --------------------------------------------------------------------------------------------
# Re-quantisation against a real re-encode.


@pytest.mark.parametrize("quality", [10, 50, 75, 95])
def test_quantization_table_is_what_pil_writes(quality):
    im = Image.open(io.BytesIO(jpeg_bytes(smooth_image(32, 32), quality=quality)))
    np.testing.assert_array_equal(dct.quantization_table(quality, "luma"), im.quantization[0])
    np.testing.assert_array_equal(dct.quantization_table(quality, "chroma"), im.quantization[1])


def test_requantize_matches_a_real_reencode():
    """Source: a photo stored at quality 90 (4:2:0). Oracle: decode it with PIL, re-encode the
    pixels at quality q, read the coefficients. Measured agreement of requantize() with the
    oracle (astronaut, q = 75 / 50 / 20): Y 99.2 / 99.5 / 99.8 % of all coefficients equal,
    Cb and Cr 99.2 to 99.9 %; among the coefficients the oracle keeps non-zero, 96-98 % (Y).
    The rest comes from the decode's rounding / clipping to 8-bit pixels and the encoder's
    integer DCT (both outside the coefficient domain), and from chroma being upsampled by
    the decoder then downsampled again by the encoder."""
    img = photo("astronaut")
    src = jpeg_bytes(img, quality=90, subsampling=2)
    decoded = np.asarray(Image.open(io.BytesIO(src)).convert("RGB"))
    coefs = read_dct(src, "jpeglib")
    for q in (75, 50, 20):
        ref = read_dct(jpeg_bytes(decoded, quality=q, subsampling=2), "jpeglib")
        for c, r, kind in zip(coefs, ref, ("luma", "chroma", "chroma")):
            got = dct.requantize(c, q, kind)
            assert np.mean(got == r) > 0.985, (q, kind, np.mean(got == r))
            nz = r != 0
            if kind == "luma":
                assert np.mean(got[nz] == r[nz]) > 0.93, (q, np.mean(got[nz] == r[nz]))
        # re-quantising changes the source (otherwise this test could not fail)
        assert np.mean(dct.requantize(coefs[0], q) == coefs[0]) < 0.99


# --------------------------------------------------------------------------------------------
# Chroma subsampling to 4:2:0.


def raw_components(data):
    """The components exactly as stored (jpeglib, de-quantised, no chroma conversion)."""
    import jpeglib
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
        f.write(data)
        f.flush()
        j = jpeglib.read_dct(f.name)
        j.load()
        return [(getattr(j, k).astype(np.float64) * j.qt[j.quant_tbl_no[i]]).reshape(
            *getattr(j, k).shape[:2], 64) for i, k in enumerate(("Y", "Cb", "Cr"))]


def encode(img, sampling):
    if sampling == "4:4:0":
        ok, enc = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                                                        cv2.IMWRITE_JPEG_SAMPLING_FACTOR_440])
        return enc.tobytes()
    return jpeg_bytes(img, quality=92, subsampling={"4:4:4": 0, "4:2:2": 1}[sampling])


@pytest.mark.parametrize("sampling", ["4:4:4", "4:2:2", "4:4:0"])
@pytest.mark.parametrize("size", [(96, 128), (101, 131)])
def test_to_420_equals_pixel_downsampling(sampling, size):
    h, w = size
    img = smooth_image(h, w, seed=5)
    y, cb, cr = raw_components(encode(img, sampling))
    oy, ocb, ocr = dct.to_420(y, cb, cr, sampling, size=(h, w))
    assert oy is y
    assert ocb.shape == ocr.shape == (-(-h // 16), -(-w // 16), 64)
    vertical, horizontal = {"4:4:4": (1, 1), "4:2:2": (1, 0), "4:4:0": (0, 1)}[sampling]
    ch, cw = (h if vertical else -(-h // 2)), (w if horizontal else -(-w // 2))
    for coef, out in ((cb, ocb), (cr, ocr)):
        pix = block_idct(coef)[:ch, :cw].astype(np.float32)
        if ch % 2 == 0 and cw % 2 == 0:  # even: OpenCV's INTER_AREA to half size is the oracle
            size = (cw // 2 if horizontal else cw, ch // 2 if vertical else ch)
            ref = cv2.resize(pix, size, interpolation=cv2.INTER_AREA)
        else:  # odd: a 2x2 box with the edge repeated (libjpeg's encoder downsampling)
            p = np.pad(pix, ((0, ch % 2 * vertical), (0, cw % 2 * horizontal)), mode="edge")
            if vertical:
                p = 0.5 * (p[0::2] + p[1::2])
            if horizontal:
                p = 0.5 * (p[:, 0::2] + p[:, 1::2])
            ref = p
        resampled_ok(out, ref, padding=(vertical, horizontal))


def test_to_420_real_444_camera_jpeg():
    """scikit-image's rocket.jpg is a real 4:4:4 JPEG of 427 x 640 (odd chroma height)."""
    data_mod = pytest.importorskip("skimage.data", reason="scikit-image not installed")
    with open(data_mod.__path__[0] + "/rocket.jpg", "rb") as f:
        data = f.read()
    y, cb, cr = raw_components(data)
    _, ocb, ocr = dct.to_420(y, cb, cr, "4:4:4", size=(427, 640))
    assert ocb.shape == (27, 40, 64)
    for coef, out in ((cb, ocb), (cr, ocr)):
        pix = np.pad(block_idct(coef)[:427, :640], ((0, 1), (0, 0)), mode="edge")
        ref = pix.reshape(214, 2, 320, 2).mean(axis=(1, 3))
        resampled_ok(out, ref)
    # the jpeglib reader's own DCT-domain conversion (int16, rounded) agrees except in the
    # last block row (it repeats the last block, not the last pixel row, for an odd count)
    via_reader = read_dct(data, "jpeglib")[1]
    assert np.abs(via_reader[:-1] - ocb[:-1]).max() <= 0.5 + 1e-3


def test_to_420_close_to_a_real_420_encode_and_grayscale():
    img = smooth_image(96, 128, seed=6)
    y, cb, cr = raw_components(jpeg_bytes(img, quality=100, subsampling=0))
    _, ocb, _ = dct.to_420(y, cb, cr, "4:4:4")
    ref = read_dct(jpeg_bytes(img, quality=100, subsampling=2), "jpeglib")[1]
    # the 4:2:0 encode downsamples the original pixels (q100 rounding ~1 level): DC within ~2%
    assert np.abs(ocb[..., 0] - ref[..., 0]).mean() < 0.02 * np.abs(ref[..., 0]).mean() + 2
    _, gcb, gcr = dct.to_420(y, None, None, "gray", size=(90, 121))
    assert gcb.shape == gcr.shape == (6, 8, 64) and not gcb.any() and not gcr.any()
    assert dct.to_420(y, cb, cr, "4:2:0")[1] is cb


def test_stacked_components_share_one_product():
    rng = np.random.default_rng(7)
    cbcr = rng.integers(-300, 300, (2, 24, 32, 64)).astype(np.int16)
    rows = dct.AxisOp(188).resize(128).window(3, 112)
    cols = dct.AxisOp(250).resize(171).window(30, 112).flip()
    both = dct.resample(cbcr, rows, cols, fill=5.0)
    assert both.shape == (2, 14, 14, 64) and both.dtype == np.float32
    for k in range(2):
        np.testing.assert_allclose(both[k], dct.resample(cbcr[k], rows, cols, fill=5.0), atol=1e-4)
    assert not np.allclose(both[0], both[1])


def test_area_enlarging_taps_match_opencv_for_every_small_size():
    """INTER_AREA when enlarging: OpenCV computes the scale as 1 / (n_out / n_in); taking
    n_in / n_out instead put a tap one pixel off for 154 of these size pairs."""
    from jpeg_deep.dct.axis import _area_up_matrix

    rng = np.random.default_rng(0)
    for n_in in range(3, 60):
        x = rng.random((n_in, 1)).astype(np.float32)
        for n_out in range(n_in + 1, 3 * n_in):
            ref = cv2.resize(np.repeat(x, 2, 1), (2, n_out), interpolation=cv2.INTER_AREA)[:, 0]
            np.testing.assert_allclose(_area_up_matrix(n_in, n_out) @ x[:, 0], ref, atol=1e-4,
                                       err_msg=f"{n_in} -> {n_out}")
