"""The compiled kernel of the DCT-domain transforms; everything else is in pyproject.toml.

``jpeg_deep/_banded.c`` is plain C (CPython API, no numpy headers). It is optional: where no C
compiler is found the install goes on and the transforms use numpy products instead
(``jpeg_deep.data.dct_transforms.kernel_variant()`` says which is in use). After editing the C
source, ``make install`` (``pip install -e .``) rebuilds it.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("jpeg_deep._banded", ["jpeg_deep/_banded.c"],
                             extra_compile_args=["-O3", "-Wno-psabi"], optional=True)])
