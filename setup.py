"""The compiled parts of jpeg_deep; everything else is in pyproject.toml.

Both extensions are plain C (CPython API, no numpy headers) and optional: where one cannot be
built the install goes on and Python code takes its place.

``jpeg_deep/_banded.c``: the kernel of the DCT-domain transforms (numpy products where it is
not built; ``jpeg_deep.data.transforms.classification_dct.kernel_variant()`` says which is in use).
``jpeg_deep/_jpegread.c``: the ``"libjpeg"`` coefficient reader over libjpeg-turbo; it needs
libjpeg's headers (Debian: ``apt-get install libjpeg-dev``). Where it is not built the default
reader is the pure ``"jpeglib"`` package (``jpeg_deep.codec.readers.backends()``).
After editing a C source, ``make install`` (``pip install -e .``) rebuilds it.
"""
from setuptools import Extension, setup

setup(ext_modules=[
    Extension("jpeg_deep._banded", ["jpeg_deep/_banded.c"], depends=["jpeg_deep/_banded_api.h"],
              extra_compile_args=["-O3", "-Wno-psabi"], optional=True),
    Extension("jpeg_deep._jpegread", ["jpeg_deep/_jpegread.c"], libraries=["jpeg", "m"],
              depends=["jpeg_deep/_banded_api.h"],
              extra_compile_args=["-O3", "-Wall", "-Wno-psabi"], optional=True),
])
