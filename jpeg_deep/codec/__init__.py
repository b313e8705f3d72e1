"""Reading and writing the files: the DCT coefficient reader (``readers``, over the compiled
``_jpegread`` where built), one full decode / encode (``jpeg``) and the coding distortions of
the robustness tools (``distortions``)."""
from jpeg_deep.codec.readers import (  # noqa: F401
    DEFAULT_BACKEND,
    InvalidJPEGError,
    JpegInfo,
    backends,
    inspect_jpeg,
    read_dct,
    reader_stats,
    reset_reader_stats,
)
