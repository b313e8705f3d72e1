"""Our coefficient reader (jpeg_deep/_jpegread.c: ``read`` and the one-call training path
``read_crop``, in raw mode and with it off, and the raw floor) on untrusted files: truncated at many lengths, random byte flips, huge declared
sizes, endless progressive scans. It must never crash or hang
the process, never print, and never allocate beyond its stated bound; every failure is an
InvalidJPEGError. The fuzzing runs in a child process, so a crash fails the test instead of
ending the suite, and its peak memory is measured alone."""
import json
import subprocess
import sys
import textwrap

import pytest

from jpeg_deep.codec import readers

pytestmark = pytest.mark.skipif(readers._jpegread is None,
                                reason="jpeg_deep/_jpegread.c was not built (no libjpeg-dev)")

FUZZ = textwrap.dedent(r"""
    import io, json, resource, sys, time
    import numpy as np
    from PIL import Image
    from jpeg_deep import _jpegread
    from jpeg_deep.codec.readers import _HALVING, InvalidJPEGError, MAX_SCANS, read_dct
    from jpeg_deep.data.transforms.classification_dct import _DCT8

    outs = [np.empty(s, np.float32) for s in ((4, 4, 64), (2, 2, 64), (2, 2, 64))]

    def read_crop(d, mode):  # the one-call training path: header, geometry, read, kernel
        return _jpegread.read_crop(d, 7, 48, 32, 0.5, mode, (0.08, 1.0), (3 / 4, 4 / 3),
                                   1 << 26, MAX_SCANS, _HALVING, _DCT8, *outs)

    def arrays(fn):  # raw mode off: jpeg_read_coefficients for every file
        def run(d):
            _jpegread.raw_mode(False)
            try:
                return fn(d)
            finally:
                _jpegread.raw_mode(True)
        return run

    def photo(h, w, seed, **kw):
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.stack([128 + 100 * np.sin(xx / 7 + seed), 128 + 90 * np.cos((xx + yy) / 11),
                        128 + 80 * np.sin(yy / 5)], -1) + rng.normal(0, 8, (h, w, 3))
        buf = io.BytesIO()
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(buf, "jpeg", **kw)
        return buf.getvalue()

    corpus = [photo(61, 83, 0, quality=90), photo(48, 64, 1, quality=75, subsampling=0),
              photo(40, 56, 2, quality=85, progressive=True),
              photo(33, 47, 3, quality=95, subsampling=1)]
    rng = np.random.default_rng(0)
    cases = []
    for data in corpus:
        for n in range(0, len(data), max(1, len(data) // 60)):   # truncated ...
            cases.append(data[:n])
            cases.append(data[:n] + b"\xff\xd9")                  # ... and closed again
        for _ in range(150):                                      # random byte flips
            b = bytearray(data)
            for i in rng.integers(2, len(b), rng.integers(1, 6)):
                b[i] = rng.integers(0, 256)
            cases.append(bytes(b))

    def declare(data, h, w):
        # the frame header's size replaced: a huge image declared by a small file
        i = next(i for i in range(2, len(data) - 1) if data[i] == 0xFF and data[i + 1] in
                 (0xC0, 0xC1, 0xC2))
        b = bytearray(data)
        b[i + 5:i + 9] = h.to_bytes(2, "big") + w.to_bytes(2, "big")
        return bytes(b)

    huge = [declare(corpus[0], 65000, 65000), declare(corpus[0], 30000, 40000),
            declare(corpus[2], 9000, 8000)]
    big = declare(corpus[1], 4096, 4096)   # allowed (16.8 MP): costs its coefficients only
    # a progressive file whose first scan is repeated past the scan limit
    prog = corpus[2]
    sos = prog.index(b"\xff\xda")
    end = sos + 2 + int.from_bytes(prog[sos + 2:sos + 4], "big")
    while not (prog[end] == 0xFF and prog[end + 1] not in (0, *range(0xD0, 0xD8))):
        end += 1                                                  # the scan's coded data
    scans = prog[:end] + prog[sos:end] * (MAX_SCANS + 5) + b"\xff\xd9"

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    counts = {"ok": 0, "invalid": 0, "left": 0}
    reasons = set()
    start = time.perf_counter()
    for data in cases + huge + [big, scans]:
        for fn in (lambda d: _jpegread.read(d, 1 << 26, 0, MAX_SCANS),
                   lambda d: read_dct(d, "libjpeg"),
                   lambda d: read_dct(d, "libjpeg", stop_rows=17),
                   lambda d: read_crop(d, 0), lambda d: read_crop(d, 1),
                   lambda d: read_crop(d, 2),
                   arrays(lambda d: read_dct(d, "libjpeg", stop_rows=17)),
                   arrays(lambda d: read_crop(d, 0)),
                   lambda d: _jpegread.entropy_decode(d, True) or "read"):
            try:
                counts["left" if fn(data) is None else "ok"] += 1
            except InvalidJPEGError as err:
                counts["invalid"] += 1
                reasons.add(err.reason.split(":")[0])
    huge_reasons = []
    for data in huge + [scans]:
        for fn in (lambda d: read_dct(d, "libjpeg"), lambda d: read_crop(d, 2)):
            try:
                fn(data)
                huge_reasons.append("read")
            except InvalidJPEGError as err:
                huge_reasons.append(err.reason)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    print(json.dumps({"counts": counts, "cases": len(cases), "huge": huge_reasons,
                      "peak_kib": peak, "seconds": time.perf_counter() - start}))
""")


def test_fuzzed_files_never_crash_hang_print_or_overallocate():
    proc = subprocess.run([sys.executable, "-c", FUZZ], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr == ""  # libjpeg's warnings and errors are never printed
    out = json.loads(proc.stdout)
    assert out["cases"] > 1000
    # both outcomes happen: the corpus is neither all readable nor all refused
    assert out["counts"]["ok"] > 100 and out["counts"]["invalid"] > 100
    # huge declared sizes are refused before any coefficient is allocated, and so is a file
    # with more scans than the limit
    # (read_dct, then the one-call training path, for each)
    assert all("more than the reader's limit" in r for r in out["huge"][:6]), out["huge"]
    assert all("more than 1000 scans" in r for r in out["huge"][6:]), out["huge"]
    assert out["counts"]["left"] > 0  # files the one-call path leaves to the general one
    # the largest file allowed here declares 4096 x 4096 4:4:4 pixels: at most 12 bytes per
    # pixel (libjpeg's three int16 planes and ours), plus the interpreter's own growth
    assert out["peak_kib"] < (12 * 4096 * 4096 + 64 * 2**20) / 1024, out


def test_reader_limits_are_documented():
    assert readers.MAX_PIXELS == 1 << 26 and readers.MAX_SCANS == 1000
    assert "MAX_PIXELS" in readers.__doc__ and "12 bytes per pixel" in readers.__doc__


def test_a_warning_is_counted_not_printed(capfd):
    """Corrupt but decodable data (a flipped byte in the entropy-coded segment): read, with
    the warning counted; nothing on stdout / stderr."""
    import numpy as np

    from conftest import jpeg_bytes, smooth_image

    data = bytearray(jpeg_bytes(smooth_image(64, 64), quality=90))
    sos = data.index(b"\xff\xda")
    data[sos + 40: sos + 48] = b"\xff\xd3" * 4  # restart markers where none belong
    before = readers.reader_stats().get("warnings", 0)
    y, cb, cr = readers.read_dct(bytes(data), "libjpeg")
    assert y.shape == (8, 8, 64) and np.isfinite(y).all()
    assert readers.reader_stats()["warnings"] == before + 1
    assert capfd.readouterr() == ("", "")


KEEP_HEAP = textwrap.dedent(r"""
    import ctypes, io, json
    import numpy as np
    from PIL import Image
    from jpeg_deep.codec import readers

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena ordblks smblks hblks hblkhd usmblks "
                                                   "fsmblks uordblks fordblks keepcost").split()]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = MallInfo2
    buf = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(buf, "jpeg")
    readers.read_dct(buf.getvalue(), "libjpeg")
    block = bytearray(24 << 20)  # a large photo's arrays; freed at once
    del block
    print(json.dumps({"kept": readers.keep_heap(), "keepcost": libc.mallinfo2().keepcost}))
""")


@pytest.mark.skipif(__import__("platform").libc_ver()[0] != "glibc", reason="glibc's malloc only")
@pytest.mark.parametrize("env", ["1", "0"])
def test_the_reader_keeps_freed_memory_for_the_next_image(env):
    """After the first libjpeg read, a freed 24 MiB block stays in the heap for the next image
    (instead of going back to the kernel and being faulted in again); JPEG_DEEP_KEEP_HEAP=0
    leaves malloc's settings alone."""
    import os
    out = subprocess.run([sys.executable, "-c", KEEP_HEAP], capture_output=True, text=True,
                         env={**os.environ, "JPEG_DEEP_KEEP_HEAP": env}, check=True)
    result = json.loads(out.stdout)
    assert result["kept"] is (env == "1")
    if env == "1":
        assert result["keepcost"] >= 24 << 20
