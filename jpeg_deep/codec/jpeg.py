"""One full JPEG decode and one encode (OpenCV over libjpeg-turbo): what the RGB reference
pipeline, the real re-encode distortions, the pictures and the serving client use."""
from __future__ import annotations

import cv2
import numpy as np

from jpeg_deep.errors import InvalidJPEGError


def decode_rgb(data: bytes, source="<bytes>") -> np.ndarray:
    """Full decode to an RGB ``uint8`` array (EXIF orientation ignored, like the DCT reader)."""
    flags = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if bgr is None:
        raise InvalidJPEGError(source, "OpenCV cannot decode it")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """Baseline 4:2:0 JPEG bytes of an RGB image (OpenCV / libjpeg-turbo)."""
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality),
              cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420]
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise RuntimeError("OpenCV failed to encode a JPEG")
    return buf.tobytes()
