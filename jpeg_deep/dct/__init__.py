"""Image operations on JPEG DCT coefficients, without decoding to pixels.

Layout (the one :func:`jpeg_deep.codec.readers.read_dct` returns): a *component* (Y, Cb or Cr) is
an array ``(blocks_h, blocks_w, 64)``, one 8x8 block per cell, de-quantised, in natural row-major
frequency order: channel ``8 * v + u`` holds vertical frequency ``v`` and horizontal frequency
``u``. Each block is the orthonormal 2-D DCT-II (:func:`dct_matrix`) of the *level-shifted*
pixels (value - 128), so a block's DC is ``8 * (mean pixel - 128)``. A component of ``h x w``
pixels has ``ceil(h/8) x ceil(w/8)`` blocks; the pixels of the last block row / column beyond
``h`` / ``w`` are padding. Sizes and offsets below are in pixels *of that component* (a 4:2:0
chroma component of a 500x375 image is 250x188 pixels); functions that need to know the true
size take ``size=(h, w)`` and otherwise assume whole blocks (``8 * blocks``).

Exact operations (they keep the dtype, e.g. ``int16``): :func:`flip_horizontal`,
:func:`flip_vertical` on whole blocks and block-aligned :func:`crop` -- bit-identical to
``jpegtran -flip horizontal|vertical`` and ``jpegtran -crop``.

Resampling operations (:func:`resize`, :func:`crop` at any offset, :func:`expand`, flips of a
partial block grid, :func:`to_420`, and any composition of them through :class:`AxisOp` and
:func:`resample`) are separable linear maps. If ``R`` (``n_out x n_in``) resamples the pixels of
one axis, the tiled coefficients ``M`` (``8 * blocks_h x 8 * blocks_w``; block ``(i, j)`` at rows
``8i..8i+7``, columns ``8j..8j+7``, ``M[8i + v, 8j + u] = c[i, j, 8v + u]``) become
``M' = A_h @ M @ A_w.T`` with ``A = (I (x) C8) R (I (x) C8).T``. ``A`` is block-banded: an output
block depends on the few input blocks its pixels are interpolated from, so each operator is
stored (cached per shape) as one ``(8, 8 * K)`` slice per output block row plus the index of its
first input block, and applied as a batched product over those slices only. The result equals
"inverse DCT, the same operation on float pixels (OpenCV ``cv2.resize`` / slicing / padding),
forward DCT" up to float rounding: measured at most 3e-5 on the 0..255 pixel scale in float32
and 2e-12 in float64 (the weights are OpenCV's own; see ``tests/dct/test_ops.py``).

Outputs of resampling operations have ``ceil(n/8)`` blocks per axis for ``n`` output pixels;
when ``n`` is not a multiple of 8, the padding pixels of the last block repeat the last valid
pixel row / column (what a JPEG encoder does at the image edge), so DCs stay block means of
real content.

Output dtype of the float operations: ``float64`` for ``float64`` input, else ``float32``.
Pixel-valued arguments (``fill``, ``delta``, ``mean``) are *level-shifted* values (pixel - 128,
so 0 is mid-grey and, for Cb / Cr, no colour); :func:`ycbcr_levels` converts an RGB colour.

Speed: float32 resampling (int16 or float32 input) runs on the compiled kernel
(``jpeg_deep/_banded.c``, :func:`kernel_variant`) that the DCT-domain training transforms use,
with the operators of each size cached; float64 input, or no kernel (``kernel_variant() ==
"numpy"``), takes numpy's banded products. ``benchmarks/input_pipeline.py`` times a user's
chain (read, resize, crop, flip) against the reader alone (row 3).

Modules: ``basis`` (the transform, tiles), ``axis`` (1-D pixel resampling operators),
``banded`` (the banded operator: taps -> band -> apply, numpy or the compiled kernel), ``ops``
(the operations above, all re-exported here) and ``layers`` (the Keras layers, imported on
their own: ``from jpeg_deep.dct.layers import DCTResample``).
"""
from jpeg_deep.dct.axis import AxisOp, area_taps, linear_taps
from jpeg_deep.dct.banded import (KernelPlan, apply_kernel, apply_plans, axis_taps,
                                  band_from_taps, banded_operator, cached_linear_taps,
                                  compose_taps, halve_taps, kernel_variant)
from jpeg_deep.dct.basis import blocks_to_pixels, dct_matrix, pixels_to_blocks, ycbcr_levels
from jpeg_deep.dct.ops import (adjust_brightness, adjust_contrast, adjust_hue, adjust_saturation,
                               crop, expand, flip_horizontal, flip_vertical, quantization_table,
                               requantize, resample, resize, to_420)

__all__ = [
    "dct_matrix",
    "blocks_to_pixels",
    "pixels_to_blocks",
    "ycbcr_levels",
    "flip_horizontal",
    "flip_vertical",
    "crop",
    "resize",
    "expand",
    "AxisOp",
    "resample",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_saturation",
    "adjust_hue",
    "quantization_table",
    "requantize",
    "to_420",
    # the banded operator, for code that builds its own plans
    "area_taps",
    "linear_taps",
    "axis_taps",
    "band_from_taps",
    "banded_operator",
    "cached_linear_taps",
    "compose_taps",
    "halve_taps",
    "kernel_variant",
    "KernelPlan",
    "apply_kernel",
    "apply_plans",
]
