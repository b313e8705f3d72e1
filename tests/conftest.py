import io
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402


def smooth_image(h=101, w=131, seed=0):
    """A colourful image with structure at every scale (not noise, not flat)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([
        128 + 100 * np.sin(xx / 9.0 + seed) * np.cos(yy / 13.0),
        128 + 90 * np.cos((xx + yy) / 17.0),
        128 + 80 * np.sin(yy / 7.0 - seed),
    ], axis=-1) + rng.normal(0, 4, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def jpeg_bytes(img, **save_kw):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="jpeg", **save_kw)
    return buf.getvalue()


def jpeg_files_of_every_kind():
    """One file of each subsampling, progressive, restart markers, odd sizes (by name)."""
    import cv2

    img = smooth_image(77, 93, seed=3)
    out = {f"{k}": jpeg_bytes(img, quality=85, subsampling=s)
           for k, s in (("4:4:4", 0), ("4:2:2", 1), ("4:2:0", 2))}
    gray = io.BytesIO()
    Image.fromarray(img).convert("L").save(gray, format="jpeg", quality=85)
    out["gray"] = gray.getvalue()
    out["progressive"] = jpeg_bytes(img, quality=85, progressive=True)
    out["progressive 4:4:4"] = jpeg_bytes(img, quality=85, progressive=True, subsampling=0)
    for name, flags in (("4:4:0", [cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                                   cv2.IMWRITE_JPEG_SAMPLING_FACTOR_440]),
                        ("restart markers", [cv2.IMWRITE_JPEG_RST_INTERVAL, 2])):
        out[name] = cv2.imencode(".jpg", img[..., ::-1], flags)[1].tobytes()
    out["q100 odd size"] = jpeg_bytes(smooth_image(9, 17, seed=1), quality=100)
    return out


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory):
    """A tiny demo dataset shared by the pipeline and CLI tests."""
    from jpeg_deep.demo import make_demo_dataset

    root = tmp_path_factory.mktemp("demo")
    make_demo_dataset(root, train_per_class=12, val_per_class=4, test_per_class=3, verbose=False)
    return root


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JPEG_DEEP_CACHE", str(tmp_path / "cache"))


@pytest.fixture(params=["compiled", "numpy"])
def products(request, monkeypatch):
    """Run a test on the compiled kernel (where it is built for this processor) and on the
    numpy products (every machine)."""
    from jpeg_deep.data.transforms import classification_dct as m
    if request.param == "numpy":
        monkeypatch.setattr(m, "_KERNEL", "numpy")
    elif m._KERNEL == "numpy":
        pytest.skip("the compiled kernel is not in use here (kernel_variant() == 'numpy')")
    return request.param
