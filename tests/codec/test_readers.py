"""The DCT reader: layout, an independent DCT oracle, the three backends, every bad file, reading
the top rows only (the fuzzing of our own reader is in test_readers_fuzz.py)."""
import io

import numpy as np
import pytest
from PIL import Image

from conftest import jpeg_bytes, jpeg_files_of_every_kind, smooth_image
from jpeg_deep.codec import InvalidJPEGError, backends, inspect_jpeg, read_dct, reader_stats
from jpeg_deep.codec.readers import _chroma_to_420, backend_problem
from jpeg_deep.dct import dct_matrix  # checked against OpenCV's DCT in test_dct.py

BACKENDS = ["libjpeg", "jpeg2dct", "jpeglib"]


def ycbcr_y(img):
    r, g, b = [img[..., i].astype(np.float64) for i in range(3)]
    return 0.299 * r + 0.587 * g + 0.114 * b


def test_backends_listed():
    assert backends() == ["jpeg2dct", "jpeglib", "libjpeg"]


def test_default_is_our_reader_where_built():
    from jpeg_deep.codec import readers
    assert readers.DEFAULT_BACKEND == ("libjpeg" if readers._jpegread is not None else "jpeglib")


@pytest.mark.parametrize("backend", BACKENDS)
def test_y_equals_independent_orthonormal_dct(backend):
    img = smooth_image(96, 128)
    data = jpeg_bytes(img, quality=100, subsampling=0)  # quality 100, 4:4:4
    y, _, _ = read_dct(data, backend)
    # Reference: JPEG's Y of the pixels, minus 128, orthonormal 8x8 DCT-II per block.
    # (jpeg2dct re-encodes 4:4:4 at quality 100; Y is then within rounding of the original.)
    c = dct_matrix()
    planes = ycbcr_y(img) - 128
    blocks = planes.reshape(12, 8, 16, 8).transpose(0, 2, 1, 3)
    ref = np.einsum("ki,abij,lj->abkl", c, blocks, c).reshape(12, 16, 64)
    assert y.shape == (12, 16, 64) and y.dtype == np.int16
    assert np.abs(y - ref).mean() < 1.0
    # Natural row-major order: channel 1 is horizontal frequency 1, channel 8 vertical.
    assert np.allclose(y[..., 1], ref[..., 1], atol=3)
    assert np.allclose(y[..., 8], ref[..., 8], atol=3)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("subsampling,kind", [(2, "4:2:0"), (1, "4:2:2"), (0, "4:4:4"),
                                              (None, "4:4:0"), ("gray", "gray"),
                                              ("progressive", "4:2:0")])
@pytest.mark.parametrize("size", [(101, 131), (64, 48), (17, 9)])
def test_shapes_for_every_subsampling(backend, subsampling, kind, size):
    h, w = size
    img = smooth_image(h, w)
    if subsampling == "gray":
        buf = io.BytesIO()
        Image.fromarray(img).convert("L").save(buf, format="jpeg")
        data = buf.getvalue()
    elif subsampling == "progressive":
        data = jpeg_bytes(img, progressive=True)
    elif subsampling is None:  # 4:4:0 (h1v2) through OpenCV
        import cv2

        ok, enc = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                                                        cv2.IMWRITE_JPEG_SAMPLING_FACTOR_440])
        data = enc.tobytes()
    else:
        data = jpeg_bytes(img, subsampling=subsampling)
    assert inspect_jpeg(data).subsampling == kind
    y, cb, cr = read_dct(data, backend)
    assert y.shape == (-(-h // 8), -(-w // 8), 64)
    assert cb.shape == cr.shape == (-(-h // 16), -(-w // 16), 64)
    assert y.dtype == cb.dtype == cr.dtype == np.int16
    if kind == "gray":
        assert not cb.any() and not cr.any()
    else:
        assert np.abs(cb).sum() > 0


@pytest.mark.parametrize("make", ["4:4:4", "4:2:2", "4:2:0", "gray", "progressive",
                                  "progressive 4:4:4", "4:4:0", "restart markers",
                                  "q100 odd size"])
def test_backends_agree_bit_for_bit(make):
    data = jpeg_files_of_every_kind()[make]
    ref = read_dct(data, "jpeglib")
    for backend in ("libjpeg", "jpeg2dct"):
        got = read_dct(data, backend)
        for a, b in zip(got, ref):
            assert a.dtype == np.int16
            np.testing.assert_array_equal(a, b, err_msg=f"{backend} {make}")


@pytest.mark.parametrize("make", ["4:2:0", "4:4:4", "gray", "restart markers", "progressive"])
@pytest.mark.parametrize("stop_rows", [1, 8, 17, 40, 76])
def test_reading_the_top_rows_only(make, stop_rows):
    """``stop_rows``: every block row that covers the first ``stop_rows`` pixel rows is exact;
    in a single-scan sequential file the rows below it are not decoded (zeros), a progressive
    file is read whole."""
    data = jpeg_files_of_every_kind()[make]
    whole = read_dct(data, "libjpeg")
    before = reader_stats().get("stopped_early", 0)
    warnings = reader_stats().get("warnings", 0)
    top = read_dct(data, "libjpeg", stop_rows=stop_rows)
    for i, (a, b) in enumerate(zip(top, whole)):
        rows = -(-stop_rows // (8 if i == 0 else 16))  # Y: 8-pixel blocks, 4:2:0 chroma: 16
        np.testing.assert_array_equal(a[:rows], b[:rows], err_msg=f"component {i}")
    stopped = reader_stats().get("stopped_early", 0) - before
    if make == "progressive" or stop_rows > 64:  # the last iMCU row (64..76) is needed
        assert stopped == 0
        for a, b in zip(top, whole):
            np.testing.assert_array_equal(a, b)
    else:
        assert stopped == 1
        assert not top[0][-1].any() and whole[0][-1].any()
    assert reader_stats().get("warnings", 0) == warnings  # stopping is not a corrupt file


def test_non_420_is_never_reencoded(caplog):
    """jpeg2dct would decode a 4:4:4 / 4:2:2 / 4:4:0 file and re-encode it at quality 100; the
    jpeg2dct backend hands those to the DCT-domain chroma halving instead, so both backends
    agree bit for bit on every subsampling, and the count says what was done."""
    import cv2

    _, h1v2 = cv2.imencode(".jpg", smooth_image()[..., ::-1], [
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_440])
    files = [jpeg_bytes(smooth_image(), subsampling=s, quality=95) for s in (0, 1)]
    for data, kind in zip(files + [h1v2.tobytes()], ("4:4:4", "4:2:2", "4:4:0")):
        assert inspect_jpeg(data).subsampling == kind
        for backend in ("jpeg2dct", "libjpeg"):
            before = reader_stats().get("chroma_downsampled", 0)
            a = read_dct(data, backend)
            assert reader_stats()["chroma_downsampled"] == before + 1
            for x, y in zip(a, read_dct(data, "jpeglib")):
                np.testing.assert_array_equal(x, y)
    assert "transcoded_q100" not in reader_stats()
    assert "re-encode" not in caplog.text and "transcoding" not in caplog.text

def test_dct_domain_downsampling_equals_pixel_box_filter():
    c = dct_matrix()
    rng = np.random.default_rng(0)
    pixels = rng.normal(0, 50, (32, 48))
    coef = np.einsum("ki,abij,lj->abkl", c, pixels.reshape(4, 8, 6, 8).transpose(0, 2, 1, 3), c)
    out = _chroma_to_420(np.rint(coef).astype(np.int16).reshape(4, 6, 64),
                         vertical=True, horizontal=True)
    down = pixels.reshape(16, 2, 24, 2).mean(axis=(1, 3))
    ref = np.einsum("ki,abij,lj->abkl", c, down.reshape(2, 8, 3, 8).transpose(0, 2, 1, 3), c)
    assert np.abs(out.reshape(2, 3, 8, 8) - ref).max() < 2.0


@pytest.mark.parametrize("vertical,horizontal", [(True, True), (False, True), (True, False)])
def test_compiled_chroma_halving_equals_numpys(vertical, horizontal):
    """The compiled halving sums the same products as numpy (float32 against float64, in
    another order): equal but for a coefficient within a rounding error of half-way between
    two integers (at most 1, fewer than 1 in 1000). Both of its loops run: blocks whose
    coefficients are all at u, v < 4 (most chroma blocks: the 4-row loop) and the others."""
    from jpeg_deep.codec import readers

    if readers._jpegread is None:
        pytest.skip("jpeg_deep/_jpegread.c was not built")
    for size in ((96, 128), (77, 93), (9, 17)):
        data = jpeg_bytes(smooth_image(*size, seed=5), quality=90, subsampling=0)
        cb = readers._jpegread.read(data, 1 << 26, 0, 100)[-1][1]
        cb = np.frombuffer(cb[0], np.int16).reshape(cb[1], cb[2], 64)
        blocks = cb.reshape(*cb.shape[:2], 8, 8)
        outside = (blocks[..., 4:, :] != 0).any((2, 3)) | (blocks[..., 4:] != 0).any((2, 3))
        assert 0 < outside.mean() < 0.5
        a = readers._chroma_to_420(cb, vertical=vertical, horizontal=horizontal)
        b = readers._chroma_to_420_numpy(cb, vertical=vertical, horizontal=horizontal)
        assert a.shape == b.shape
        diff = np.abs(a.astype(np.int32) - b)
        assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
        assert a.any()


def _bad_files():
    good = jpeg_bytes(smooth_image(), quality=90)
    png = io.BytesIO()
    Image.fromarray(smooth_image()).save(png, format="png")
    cmyk = io.BytesIO()
    Image.fromarray(smooth_image()).convert("CMYK").save(cmyk, format="jpeg")
    return {
        "empty": (b"", "empty file"),
        "truncated": (good[: len(good) // 2], "truncated"),
        "png": (png.getvalue(), "PNG"),
        "cmyk": (cmyk.getvalue(), "CMYK"),
        "garbage": (b"\xff\xd8" + bytes(200), "corrupt"),
    }


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(_bad_files()))
def test_bad_files_raise_one_documented_error(tmp_path, backend, case):
    data, reason = _bad_files()[case]
    path = tmp_path / f"{case}.jpg"
    path.write_bytes(data)
    with pytest.raises(InvalidJPEGError) as info:
        read_dct(path, backend)
    assert str(path) in str(info.value)
    assert reason.lower() in info.value.reason.lower()
    assert info.value.source == str(path)


def test_unknown_backend():
    with pytest.raises(ValueError, match="jpeglib"):
        read_dct(b"", "nope")


@pytest.mark.parametrize("backend", BACKENDS)
def test_headers_already_inspected_are_reused(backend, monkeypatch):
    from jpeg_deep.codec import readers
    data = jpeg_bytes(smooth_image(77, 93, seed=3), quality=85)
    info = inspect_jpeg(data)
    expected = read_dct(data, backend)
    calls = []
    monkeypatch.setattr(readers, "inspect_jpeg", lambda *a: calls.append(a))
    for a, b in zip(read_dct(data, backend, info=info), expected):
        np.testing.assert_array_equal(a, b)
    assert not calls  # the headers were not parsed a second time


@pytest.mark.parametrize("subsampling,vertical,horizontal",
                         [(0, True, True), (1, True, False), (0, False, True)])
def test_reader_halves_chroma_as_it_dequantises(subsampling, vertical, horizontal):
    """Our reader halves a 4:4:4 / 4:2:2 chroma from libjpeg's quantised arrays, dequantising
    as it loads: bit for bit what halving its dequantised output gives (``_jpegread.halve``, the
    loop every other backend's halving uses), odd block counts and an early stop included; an
    operator that is not the halving's is refused."""
    from jpeg_deep.codec import readers

    if readers._jpegread is None:
        pytest.skip("jpeg_deep/_jpegread.c was not built")
    k = readers._halving_operator()
    for size, stop in (((77, 93), 0), ((96, 128), 0), ((9, 17), 0), ((120, 88), 40)):
        data = jpeg_bytes(smooth_image(*size, seed=3), quality=70, subsampling=subsampling)
        plain = readers._jpegread.read(data, 1 << 26, stop, 100)[-1]
        fused = readers._jpegread.read(data, 1 << 26, stop, 100, vertical, horizontal, k)[-1]
        assert bytes(fused[0][0]) == bytes(plain[0][0])  # luma as stored
        for (buf, h, w, _, _), (fbuf, fh, fw, _, _) in zip(plain[1:], fused[1:]):
            ref = readers._chroma_to_420(np.frombuffer(buf, np.int16).reshape(h, w, 64),
                                         vertical=vertical, horizontal=horizontal)
            got = np.frombuffer(fbuf, np.int16).reshape(fh, fw, 64)
            np.testing.assert_array_equal(got, ref)
            assert got.any()
    with pytest.raises(ValueError, match="not the halving operator"):
        readers._jpegread.read(data, 1 << 26, 0, 100, True, True, np.ones((8, 16)))
    with pytest.raises(ValueError, match="not the halving operator"):
        readers._jpegread.halve(np.zeros((2, 2, 64), np.int16), 2, 2, True, True,
                                np.ones((8, 16)))



@pytest.mark.skipif(backend_problem("libjpeg") is not None, reason="our reader was not built")
def test_reader_draws_numpys_random_numbers():
    """The one-call training path draws its crop from the seed in C: the doubles of
    ``numpy.random.default_rng(seed).random()``, bit for bit (SeedSequence + PCG64), for
    one- and two-word seeds and the edges of the range it takes."""
    from jpeg_deep import _jpegread

    seeds = [0, 1, 5, 2**31 - 1, 2**32 - 1, 2**32, 2**40 + 7, 2**63, 2**64 - 1,
             *np.random.default_rng(0).integers(0, 2**62, 50).tolist()]
    for seed in seeds:
        assert _jpegread.uniforms(seed, 6) == np.random.default_rng(seed).random(6).tolist(), seed
    assert _jpegread.uniforms(np.int64(7), 2) == np.random.default_rng(7).random(2).tolist()
    for bad in (-1, 2**64, 1.5):
        with pytest.raises((OverflowError, TypeError)):
            _jpegread.uniforms(bad, 1)


@pytest.mark.skipif(backend_problem("libjpeg") is not None, reason="our reader was not built")
def test_our_reader_makes_inspect_jpegs_checks_itself(monkeypatch):
    """Without ``info``, the "libjpeg" backend does not parse the headers in Python: the
    reader makes inspect_jpeg's checks itself, with the same coefficients; a file that fails
    them (extraneous bytes between header markers, which libjpeg only warns about; a
    subsampling it does not read) goes the general way and gets inspect_jpeg's error."""
    import cv2

    from jpeg_deep.codec import readers

    files = jpeg_files_of_every_kind()
    real = readers.inspect_jpeg
    calls = []
    monkeypatch.setattr(readers, "inspect_jpeg", lambda *a: calls.append(a) or real(*a))
    for name, data in files.items():
        for a, b in zip(read_dct(data, "libjpeg"), read_dct(data, "libjpeg", info=real(data))):
            np.testing.assert_array_equal(a, b, err_msg=name)
    assert not calls
    good = files["4:2:0"]
    dqt = good.index(b"\xff\xdb")
    with pytest.raises(InvalidJPEGError, match="corrupt headers"):
        read_dct(good[:dqt] + b"\x00\x01" + good[dqt:], "libjpeg")
    assert len(calls) == 1
    s411 = cv2.imencode(".jpg", smooth_image(), [cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                                                 cv2.IMWRITE_JPEG_SAMPLING_FACTOR_411])[1]
    with pytest.raises(InvalidJPEGError, match="chroma sampling"):
        read_dct(s411.tobytes(), "libjpeg")
    assert len(calls) == 2


@pytest.mark.skipif(backend_problem("libjpeg") is not None, reason="our reader was not built")
@pytest.mark.parametrize("make", ["4:4:4", "4:2:2", "4:2:0", "gray", "progressive",
                                  "progressive 4:4:4", "4:4:0", "restart markers",
                                  "q100 odd size"])
def test_raw_mode_reads_what_the_coefficient_arrays_hold(make):
    """Single-scan sequential files are decoded in raw mode (libjpeg's decoder writing each
    MCU into a ring of block rows, no whole-image coefficient array; _jpegread.c). It gives
    what jpeg_read_coefficients gives, bit for bit, on every kind of file: the whole file; the
    rows above a stop, and zeros below the iMCU rows it decoded; the one-call training path's
    samples. It stays on (its check that every MCU came through it holds with this libjpeg),
    and the floor's raw variant reads every kind."""
    from jpeg_deep import _jpegread
    from jpeg_deep.data.transforms.classification_dct import (DCTTransformConfig,
                                                             make_dct_transform)

    data = jpeg_files_of_every_kind()[make]

    def both(fn):
        try:
            _jpegread.raw_mode(False)
            off = fn()
        finally:
            _jpegread.raw_mode(True)
        return fn(), off

    for a, b in zip(*both(lambda: read_dct(data, "libjpeg"))):
        np.testing.assert_array_equal(a, b)
    info = inspect_jpeg(data)
    unit = 8 * max(v for _, v in info.sampling)  # pixel rows per iMCU row
    single_scan = make not in ("progressive", "progressive 4:4:4")
    for stop in (1, 17, 40):
        on, off = both(lambda: read_dct(data, "libjpeg", stop_rows=stop))
        decoded = -(-(-(-stop // 16) * 16) // unit) * unit  # whole 16-row bands, then iMCUs
        for i, (a, b) in enumerate(zip(on, off)):
            rows = -(-stop // (8 if i == 0 else 16))
            np.testing.assert_array_equal(a[:rows], b[:rows], err_msg=f"{stop} {i}")
            if single_scan:
                assert not a[-(-decoded // (8 if i == 0 else 16)):].any(), (stop, i)
            else:
                np.testing.assert_array_equal(a, b)
    for split, cfg in (("train", DCTTransformConfig(48, 32)), ("val", DCTTransformConfig(48, 32)),
                       ("train", DCTTransformConfig(48, 32, random_resized_crop=True))):
        t = make_dct_transform(split, cfg)
        for seed in range(3):
            for a, b in zip(*both(lambda: t.read_seeded(data, seed))):
                np.testing.assert_array_equal(a, b, err_msg=f"{split} {seed}")
    assert _jpegread.raw_mode()
    assert _jpegread.entropy_decode(data, True) is None


@pytest.mark.skipif(backend_problem("libjpeg") is not None, reason="our reader was not built")
@pytest.mark.parametrize("make", ["4:2:0", "4:4:4", "gray", "restart markers"])
def test_raw_mode_turns_itself_off_where_its_check_fails(make):
    """Where raw mode's check fails after the first iMCU row (as with a libjpeg whose entropy
    decoder were laid out otherwise), the file is read again from its header by
    jpeg_read_coefficients, with the same coefficients and no warning, and raw mode stays off."""
    from jpeg_deep import _jpegread

    data = jpeg_files_of_every_kind()[make]
    want = read_dct(data, "libjpeg")
    warnings = reader_stats().get("warnings", 0)
    try:
        _jpegread.raw_mode(True, True)
        for stop in (0, 17):
            got = read_dct(data, "libjpeg", stop_rows=stop)
            rows = -(-stop // 8) if stop else len(want[0])
            np.testing.assert_array_equal(got[0][:rows], want[0][:rows])
            assert not _jpegread.raw_mode()
        for a, b in zip(read_dct(data, "libjpeg"), want):
            np.testing.assert_array_equal(a, b)
    finally:
        _jpegread.raw_mode(True)
    assert reader_stats().get("warnings", 0) == warnings
