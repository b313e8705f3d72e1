"""The SSD transforms in the DCT domain (jpeg_deep.data.transforms.ssd_dct) against the RGB chain
(boxes: the same parameters give the same boxes) and a pixel-domain oracle (coefficients).

Oracle: inverse DCT of the input -> chroma upsampled 2x with cv2 INTER_LINEAR (libjpeg's fancy
upsampling) -> float32 Y, Cb, Cr planes put on a canvas of the mean colour (numpy), cropped,
flipped (slicing) and resized with ``cv2.resize`` and the drawn interpolation -> chroma 2:1 box
filter (a 4:2:0 encoder) -> forward DCT. Tolerances on the 0..255 pixel scale (max over pixels):
``GEOMETRY_TOL`` (float32 rounding; OpenCV's float32 cubic weights for cubic).
"""
import cv2
import numpy as np
import pytest

from conftest import smooth_image
from jpeg_deep import dct
from jpeg_deep.codec.jpeg import encode_jpeg
from jpeg_deep.data.transforms.ssd_dct import (SSDDCTAugmentation, make_detection_dct_transform,
                                               resize_taps)
from jpeg_deep.data.transforms.ssd import (DetectionTransformConfig, SSDAugmentation,
                                           make_detection_transform)
from jpeg_deep.data.transforms.layout import dct_layout
from jpeg_deep.codec.readers import read_dct

INTERPOLATIONS = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR,
                  "cubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA,
                  "lanczos4": cv2.INTER_LANCZOS4}
GEOMETRY_TOL = {"cubic": 2e-2}   # measured <= 1.2e-2 (OpenCV's float32 cubic weights)
DEFAULT_TOL = 2e-3               # measured <= 2e-4
NO_COLOUR = {"order_a": True, "brightness": None, "contrast": None, "saturation": None,
             "hue": None}


def scene(h, w, seed=0):
    """A smooth colourful image with boxes (some small, one at the border) and labels."""
    img = smooth_image(h, w, seed)
    rng = np.random.default_rng(seed)
    boxes = []
    for _ in range(5):
        bw, bh = rng.uniform(0.05, 0.5) * w, rng.uniform(0.05, 0.5) * h
        x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
        boxes.append([x0, y0, x0 + bw, y0 + bh])
    boxes.append([0, h - 3, 4, h])                  # tiny, at the border
    boxes = np.array(boxes, np.float32)
    labels = np.stack([np.arange(1, len(boxes) + 1), np.arange(len(boxes)) % 2], 1)
    return img, boxes, labels


def components(img, quality=90):
    return read_dct(encode_jpeg(img, quality), "jpeg2dct")


# ------------------------------------------------------------------ boxes: the RGB chain's

@pytest.mark.parametrize("h,w", [(101, 131), (120, 97)])
@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_boxes_equal_the_rgb_chain(split, h, w):
    img, boxes, labels = scene(h, w)
    y, cb, cr = components(img)
    config = DetectionTransformConfig(input_size=75, max_expand=2.5)
    rgb_chain = SSDAugmentation(split, config)
    dct_chain = SSDDCTAugmentation(split, config)
    seen = set()
    for seed in range(40 if split == "train" else 1):
        rgb, rb, rl = rgb_chain(img, boxes, labels, seed)
        oy, ocb, ocr, db, dl = dct_chain(y, cb, cr, boxes, labels, seed, size=(h, w))
        assert rgb.shape == (75, 75, 3)
        assert db.shape == rb.shape and db.dtype == np.float32
        np.testing.assert_allclose(db, rb, atol=1e-3, err_msg=f"seed {seed}")
        assert np.array_equal(dl, rl)
        if split == "train":
            g = dct_chain.params(h, w, boxes, labels, np.random.default_rng(seed))
            seen.add((g["expand"] is not None, g["patch"] is not None, g["flip"],
                      g["interpolation"]))
    if split == "train":   # the seeds cover zoom-out, crop, flip and all five kernels
        assert {s[0] for s in seen} == {s[1] for s in seen} == {s[2] for s in seen} == \
            {False, True}
        assert {s[3] for s in seen} == set(INTERPOLATIONS.values())


def test_without_a_rng_the_transform_uses_its_own_generator():
    img, boxes, labels = scene(64, 80)
    y, cb, cr = components(img)
    a = SSDDCTAugmentation("train", DetectionTransformConfig(input_size=48))
    b = SSDDCTAugmentation("train", DetectionTransformConfig(input_size=48))
    first = a(y, cb, cr, boxes, labels, size=(64, 80))
    again = b(y, cb, cr, boxes, labels, size=(64, 80))
    for u, v in zip(first, again):
        assert np.array_equal(u, v)
    with pytest.raises(ValueError, match="unknown split"):
        SSDDCTAugmentation("training")


# ------------------------------------------------------------------ coefficients: the oracle

def _pixels(c, h, w):
    return dct.blocks_to_pixels(c)[:h, :w].astype(np.float32)


def oracle(y, cb, cr, h, w, p, size, fill):
    """Y, Cb, Cr coefficients of the pixel-domain chain with parameters ``p``."""
    ch, cw = -(-h // 2), -(-w // 2)
    outs = []
    for k, (comp, chroma) in enumerate(((y, False), (cb, True), (cr, True))):
        px = _pixels(comp, ch if chroma else h, cw if chroma else w)
        if chroma:
            px = cv2.resize(px, (2 * cw, 2 * ch), interpolation=cv2.INTER_LINEAR)[:h, :w]
        if p["expand"] is not None:
            oh, ow, top, left = p["expand"]
            canvas = np.full((oh, ow), fill[k], np.float32)
            canvas[top:top + h, left:left + w] = px
            px = canvas
        if p["patch"] is not None:
            x0, y0, x1, y1 = p["patch"]
            px = px[y0:y1, x0:x1]
        assert px.shape == tuple(p["size"])
        if p["flip"]:
            px = px[:, ::-1]
        px = cv2.resize(np.ascontiguousarray(px), (size, size),
                        interpolation=p["interpolation"])
        if chroma:
            px = np.pad(px, ((0, size % 2), (0, size % 2)), mode="edge")
            px = px.reshape(-(-size // 2), 2, -(-size // 2), 2).mean(axis=(1, 3))
        outs.append(dct.pixels_to_blocks(px))
    return outs


def max_pixel_error(out, ref):
    return max(float(np.abs(dct.blocks_to_pixels(a) - dct.blocks_to_pixels(b)).max())
               for a, b in zip(out, ref))


@pytest.mark.parametrize("name", list(INTERPOLATIONS))
@pytest.mark.parametrize("h,w,size", [(101, 131, 75), (120, 97, 64)])
def test_geometry_equals_the_pixel_oracle(name, h, w, size, products):
    img, boxes, labels = scene(h, w, seed=1)
    y, cb, cr = components(img)
    t = SSDDCTAugmentation("train", DetectionTransformConfig(input_size=size, max_expand=3))
    tol = GEOMETRY_TOL.get(name, DEFAULT_TOL)
    kinds = set()
    for seed in range(6):
        p = t.params(h, w, boxes, labels, np.random.default_rng(seed))
        p = dict(p, interpolation=INTERPOLATIONS[name], photometric=NO_COLOUR)
        kinds.add((p["expand"] is not None, p["patch"] is not None, p["flip"]))
        out = t.coefficients(y, cb, cr, h, w, p)
        assert out[0].shape == (-(-size // 8),) * 2 + (64,)
        assert out[1].shape == out[2].shape == (-(-size // 16),) * 2 + (64,)
        assert all(o.dtype == np.float32 for o in out)
        ref = oracle(y, cb, cr, h, w, p, size, t.fill)
        err = max_pixel_error(out, ref)
        assert err < tol, (seed, p["expand"], p["patch"], p["flip"], err)
    assert len(kinds) >= 3


@pytest.mark.parametrize("split", ["val", "test"])
def test_evaluation_resize_equals_the_pixel_oracle(split, products):
    h, w = 97, 131
    img, boxes, labels = scene(h, w)
    y, cb, cr = components(img)
    out = SSDDCTAugmentation(split, DetectionTransformConfig(input_size=75))(
        y, cb, cr, boxes, labels, size=(h, w))
    p = {"expand": None, "patch": None, "size": (h, w), "flip": False,
         "interpolation": cv2.INTER_LINEAR}
    assert max_pixel_error(out[:3], oracle(y, cb, cr, h, w, p, 75, None)) < DEFAULT_TOL


def test_resize_kernels_are_opencvs():
    rng = np.random.default_rng(0)
    for n_in, n_out in ((97, 300), (700, 300), (301, 299), (600, 300)):
        img = (rng.random((n_in, 7)) * 255).astype(np.float32)
        for name, flag in INTERPOLATIONS.items():
            ref = cv2.resize(img, (7, n_out), interpolation=flag)
            cols, w = resize_taps(n_in, n_out, flag, enlarged=n_out > n_in)
            out = (img[cols] * w[..., None]).sum(1)
            assert np.abs(out - ref).max() < GEOMETRY_TOL.get(name, DEFAULT_TOL), (name, n_in)


def test_output_layout_is_the_rgb_chains_read_back():
    img, boxes, labels = scene(150, 200)
    y, cb, cr = components(img)
    for size in (300, 160):
        config = DetectionTransformConfig(input_size=size)
        out = make_detection_dct_transform("train", config)(y, cb, cr, boxes, labels, 3,
                                                            size=(150, 200))
        rgb = make_detection_transform("train", config)(img, boxes, labels, 3)[0]
        ry, rcb, rcr = read_dct(encode_jpeg(rgb, 75))
        assert out[0].shape == ry.shape and out[1].shape == rcb.shape == out[2].shape
        a, b = dct_layout(*out[:3], "y_cbcr"), dct_layout(ry, rcb, rcr, "y_cbcr")
        assert [x.shape for x in a] == [x.shape for x in b]
        if size == 300:
            assert ry.shape == (38, 38, 64) and rcb.shape == (19, 19, 64)


# ------------------------------------------------------------------ photometric

def test_photometric_algebra_and_undistorted_fill():
    """Brightness / contrast / saturation / hue as their YCbCr formulas (no clipping on a
    mid-range image), applied before the zoom-out: the canvas keeps the mean colour."""
    h, w, size = 64, 80, 64
    rng = np.random.default_rng(0)
    img = (100 + 40 * rng.random((h, w, 3))).astype(np.uint8)
    boxes, labels = np.array([[10, 10, 50, 40]], np.float32), np.array([1])
    y, cb, cr = components(img)
    t = SSDDCTAugmentation("train", DetectionTransformConfig(input_size=size, max_expand=2))
    seed = next(s for s in range(100) if t.params(h, w, boxes, labels, np.random.default_rng(s))
                ["expand"] is not None)
    p = t.params(h, w, boxes, labels, np.random.default_rng(seed))
    colour = {"order_a": False, "brightness": 10.0, "contrast": 1.2, "saturation": 0.7,
              "hue": 9.0}
    plain = t.coefficients(y, cb, cr, h, w, dict(p, photometric=NO_COLOUR))
    out = t.coefficients(y, cb, cr, h, w, dict(p, photometric=colour))
    # the oracle: colour formulas on the input planes, then the plain geometry
    planes = [dct.blocks_to_pixels(c) for c in (y, cb, cr)]
    yy = 1.2 * (planes[0] + 10 + 0.5) - 0.5
    t_ = np.deg2rad(18.0)
    cb2 = 1.2 * 0.7 * (np.cos(t_) * planes[1] - np.sin(t_) * planes[2])
    cr2 = 1.2 * 0.7 * (np.sin(t_) * planes[1] + np.cos(t_) * planes[2])
    ref = t.coefficients(*(dct.pixels_to_blocks(q) for q in (yy, cb2, cr2)), h, w,
                         dict(p, photometric=NO_COLOUR))
    assert max_pixel_error(out, ref) < 1e-2
    # the canvas (pixels the image does not reach) keeps the fill in both
    zeros = [np.zeros_like(c) for c in (y, cb, cr)]
    empty = t.coefficients(*zeros, h, w, dict(p, photometric=NO_COLOUR))
    canvas = 0
    for a, b, e, f in zip(out, plain, empty, t.fill):
        pa, pb, pe = (dct.blocks_to_pixels(c) for c in (a, b, e))
        if abs(f) < 1:
            continue
        outside = np.abs(pe - f) < 1e-4     # the output of a zero image is the fill there
        canvas += outside.sum()
        np.testing.assert_allclose(pa[outside], f, atol=1e-2)
        np.testing.assert_allclose(pb[outside], f, atol=1e-2)
    assert canvas > 100


def test_photometric_draws_follow_the_rgb_chain():
    """The colour changes go the same way as the RGB chain's (decoded and compared on a
    mid-range photo-like image, where clipping is rare): brightness and contrast closely,
    saturation and hue (HSV there, YCbCr here) approximately."""
    h, w = 96, 128
    img = smooth_image(h, w, 3)
    img = (64 + img.astype(np.float32) / 2).astype(np.uint8)
    boxes, labels = np.array([[10, 10, 60, 50]], np.float32), np.array([1])
    blob = encode_jpeg(img, 95)
    y, cb, cr = read_dct(blob)
    config = DetectionTransformConfig(input_size=96)
    dct_chain, rgb_chain = SSDDCTAugmentation("train", config), SSDAugmentation("train", config)
    errors = []
    for seed in range(12):
        out = dct_chain(y, cb, cr, boxes, labels, seed, size=(h, w))
        ry, rcb, rcr = read_dct(encode_jpeg(rgb_chain(img, boxes, labels, seed)[0], 95))
        errors.append([np.abs(dct.blocks_to_pixels(a) - dct.blocks_to_pixels(b))[:96, :96]
                       .mean() for a, b in zip(out[:3], (ry, rcb, rcr))])
    errors = np.array(errors)
    # mean absolute difference of the planes, grey levels (decoded image: ~30-60)
    assert np.median(errors[:, 0]) < 6 and np.median(errors[:, 1:]) < 4, errors


# ------------------------------------------------------------------ pipeline and config

def test_sample_loader_with_the_dct_transform(tmp_path):
    from jpeg_deep.data.datasets.detection import DetectionSample
    from jpeg_deep.data.loader import SampleLoader
    from jpeg_deep.tasks.detection.task import DetectionDCTSampleTransform

    img, boxes, labels = scene(90, 120)
    path = tmp_path / "a.jpg"
    path.write_bytes(encode_jpeg(img, 90))
    sample = DetectionSample(path, "a", 120, 90, boxes, labels[:, 0].astype(np.int32),
                             np.zeros(len(boxes), bool))
    assert DetectionDCTSampleTransform.domain == "dct"
    for split in ("train", "val"):
        loader = SampleLoader("y_cbcr", split, DetectionTransformConfig(input_size=64),
                              transform_factory=DetectionDCTSampleTransform,
                              encoder=lambda target: target)
        (ly, lc), (out_boxes, out_labels) = loader.sample(path, sample, 7)
        assert ly.shape == (8, 8, 64) and lc.shape == (4, 4, 128)
        assert len(out_boxes) == len(out_labels) and (out_boxes <= 64).all()
        assert loader(path, 7)[0].shape == (8, 8, 64)   # inference: no sample


def test_iou_crop_fast_path_takes_the_same_decisions():
    """iou_crop_params tests a trial in plain Python for <= 16 boxes and with numpy above: the
    same patches and kept boxes for the same random stream."""
    from jpeg_deep.data.transforms.ssd import iou_crop_params

    far = np.full((17, 4), [1000, 1000, 1001, 1001], np.float32)  # never overlap, never inside
    taken = 0
    for k in range(200):
        rng = np.random.default_rng(k)
        n = int(rng.integers(1, 12))
        xy, wh = rng.uniform(0, 300, (n, 2)), rng.uniform(0.5, 150, (n, 2))
        boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
        a = iou_crop_params(400, 500, boxes, np.random.default_rng(k))
        b = iou_crop_params(400, 500, np.concatenate([boxes, far]), np.random.default_rng(k))
        assert (a[0] is None) == (b[0] is None)
        if a[0] is not None:
            taken += 1
            assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1][:n])
            assert not b[1][n:].any()
    assert taken > 100
