"""Data: JPEG files -> DCT coefficients -> transforms -> network inputs -> batches."""
from jpeg_deep.data.readers import (  # noqa: F401
    DEFAULT_BACKEND,
    InvalidJPEGError,
    JpegInfo,
    backends,
    inspect_jpeg,
    read_dct,
    reader_stats,
    reset_reader_stats,
)
