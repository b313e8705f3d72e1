"""VGG classifier weights -> SSD backbone weights: the dense fc1 / fc2 as the decimated fc6 / fc7
convolutions of SSD300 (the conversion of Caffe SSD).

``fc1`` (dense, ``kh * kw * C`` inputs x U units: 7x7x512 x 4096 for VGG16 at 224 px, or its
convolutional twin ``(7, 7, 512, 4096)``) becomes ``fc6`` ``(3, 3, C, U / 4)``: every 4th
output filter (0, 4, 8, ...) and, spatially, taps 0, 3, 6 of the 7x7 kernel in both directions
(rounded ``linspace(0, k - 1, 3)`` for another kernel size k); SSD dilates this 3x3 kernel by 6
so it spans about the 7x7 window it came from. ``fc2`` (U x U) becomes ``fc7`` ``(1, 1, U/4,
U/4)``: every 4th input and output unit. Biases: every 4th. ``fc1``, ``fc2``, ``predictions``
are dropped; every other layer is kept as it is. (Deguerre et al. resampled fc6 by spline
interpolation instead of decimating.)

    python -m jpeg_deep.networks.convert_fc classifier.keras vgg16_ssd.h5

writes a by-name ``.h5`` weights file (layer groups with ``weight_names``, the keras.applications
layout) that ``jpeg_deep.networks.weights.load_weights`` and
``jpeg_deep.networks.ssd.init_from_classifier`` read.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

DROPPED = ("fc1", "fc2", "predictions")


def decimation_taps(size: int, taps: int = 3) -> np.ndarray:
    """Kernel positions kept when a ``size`` kernel is decimated to ``taps``: 7 -> 0, 3, 6."""
    if size < taps:
        raise ValueError(f"a {size}x{size} fc1 kernel cannot give {taps}x{taps} taps")
    return np.round(np.linspace(0, size - 1, taps)).astype(int)


def convert_vgg_fc_to_ssd(source, *, filters: int | None = None, kernel: int = 3) -> dict:
    """``{layer: [arrays]}`` of an SSD VGG backbone from a VGG classifier's weights.

    ``source``: a weights file path, a Keras model or a ``{layer: [arrays]}`` dict; it needs
    ``fc1``, ``fc2`` and ``block5_conv3`` (its filters are fc1's input channels). ``filters``:
    fc6 / fc7 width (default a quarter of fc1's units: 4096 -> 1024); ``kernel``: fc6 taps per
    axis.
    """
    from jpeg_deep.networks.weights import WeightsError, model_layer_weights, read_weight_file

    if isinstance(source, dict):
        weights = source
    elif hasattr(source, "layers"):
        weights = model_layer_weights(source)
    else:
        weights = read_weight_file(source)
    missing = [n for n in ("fc1", "fc2", "block5_conv3") if n not in weights]
    if missing:
        raise WeightsError(f"{source if not isinstance(source, dict) else 'weights'}: no "
                           f"{', '.join(missing)}: not the weights of a VGG classifier")
    fc1_w, fc1_b = (np.asarray(a) for a in weights["fc1"])
    fc2_w, fc2_b = (np.asarray(a) for a in weights["fc2"])
    channels = np.asarray(weights["block5_conv3"][0]).shape[-1]
    units = fc1_w.shape[-1]
    if fc1_w.ndim == 2:
        side = int(round(np.sqrt(fc1_w.shape[0] / channels)))
        if side * side * channels != fc1_w.shape[0]:
            raise WeightsError(f"fc1 has {fc1_w.shape[0]} inputs: not a square map of "
                               f"{channels} channels")
        fc1_w = fc1_w.reshape(side, side, channels, units)  # channels-last flatten order
    filters = filters or units // 4
    if units % filters:
        raise WeightsError(f"fc1 has {units} units: cannot decimate to {filters} filters")
    step = units // filters
    taps = decimation_taps(fc1_w.shape[0], kernel)
    fc6_w = fc1_w[taps][:, taps][:, :, :, ::step]
    fc7_w = fc2_w.reshape(fc2_w.shape[-2], fc2_w.shape[-1])[::step, ::step]
    out = {k: v for k, v in weights.items() if k not in DROPPED}
    out["fc6"] = [np.ascontiguousarray(fc6_w), fc1_b[::step].copy()]
    out["fc7"] = [fc7_w.reshape(1, 1, *fc7_w.shape).copy(), fc2_b[::step].copy()]
    return out


def main(argv=None, prog="python -m jpeg_deep.networks.convert_fc"):
    parser = argparse.ArgumentParser(
        prog=prog,
        description="VGG classifier weights -> SSD backbone weights (fc6 / fc7 decimated)")
    parser.add_argument("source", help="classifier weights: .keras, .weights.h5 or .h5")
    parser.add_argument("out", help="output weights file (.h5, by-name layout)")
    parser.add_argument("--filters", type=int, default=None,
                        help="fc6 / fc7 filters (default: fc1 units / 4)")
    args = parser.parse_args(argv)
    from jpeg_deep.networks.weights import WeightsError, write_weight_file

    if not args.out.endswith(".h5"):
        parser.error(f"{args.out}: the output is a by-name .h5 weights file")
    try:
        weights = convert_vgg_fc_to_ssd(args.source, filters=args.filters)
        write_weight_file(weights, args.out)
    except WeightsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(weights)} layers; fc6 {weights['fc6'][0].shape}, "
          f"fc7 {weights['fc7'][0].shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
