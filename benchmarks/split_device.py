"""The device side of split computing: what the device runs before it sends a stream, for an RGB
network and a DCT network cut at the same place (jpeg_deep.procedures.split).

    python benchmarks/split_device.py                     # 224 px, the paper's S1 and S3
    python benchmarks/split_device.py --points layer4[2] --photos 50 --repeats 5

For each network (ResNet-50 on RGB; LC-RFA and LC-RFA-Thinner, [D]-code widths, on the
coefficients) and each split point, with the paper's bottleneck (128 channels, stride 2,
depthwise-separable):

- multiply-accumulates per image of the front half plus the encoder (convolutions, depthwise
  convolutions and dense layers), and their share of the uncut network's;
- measured milliseconds per image on this machine's CPU, one image at a time (batch 1, one
  process): the input side (RGB: full decode, resize to 256, centre crop 224 with OpenCV; DCT:
  our coefficient reader and the DCT-domain resize / crop), the front half plus the encoder
  (a ``tf.function``, median of ``--repeats`` passes over the files), and their sum.

Random weights: the cost does not depend on them. The files: 500x375 photos (the
input-pipeline benchmark's, written to a temporary folder).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.input_pipeline import machine_info, write_photos  # noqa: E402
from jpeg_deep.networks import build  # noqa: E402
from jpeg_deep.networks.split import RESNET50_POINTS, bottleneck, cut  # noqa: E402

NETWORKS = {"resnet50": "RGB", "late_concat_rfa_dcode": "DCT",
            "late_concat_rfa_thinner_dcode": "DCT"}


def multiply_accumulates(model) -> int:
    """Per image, through the convolutions, depthwise convolutions and dense layers of
    ``model`` and of the models nested in it (static shapes)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += multiply_accumulates(layer)
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)):
            total += int(np.prod(layer.output.shape[1:3])) * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Dense):
            total += int(np.prod(layer.output.shape[1:-1])) * int(np.prod(layer.kernel.shape))
    return total


def input_side(kind: str, size: int):
    """``load(path) -> network inputs (batch of 1)``: what the device does to a file."""
    from jpeg_deep.data.loader import ClassificationDCTTransform, ClassificationTransform, \
        SampleLoader
    from jpeg_deep.data.transforms.classification import TransformConfig
    from jpeg_deep.data.transforms.classification_dct import DCTTransformConfig

    if kind == "RGB":
        loader = SampleLoader("rgb", "val", TransformConfig(resize=size * 8 // 7, crop=size),
                              transform_factory=ClassificationTransform)
    else:
        loader = SampleLoader("y_cbcr", "val", DCTTransformConfig(resize=size * 8 // 7,
                                                                  crop=size),
                              transform_factory=ClassificationDCTTransform)

    def load(path):
        return [np.asarray(x)[None] for x in loader(path)]
    return load


def measure(device, load, paths, repeats):
    """Median ms per image over ``repeats`` passes: input side, front + encoder."""
    import tensorflow as tf

    step = tf.function(lambda xs: device(xs, training=False))
    inputs = [load(p) for p in paths]
    step(inputs[0])
    read, forward = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        for p in paths:
            load(p)
        read.append((time.perf_counter() - start) / len(paths))
        start = time.perf_counter()
        for x in inputs:
            step(x).numpy()
        forward.append((time.perf_counter() - start) / len(paths))
    return 1000 * statistics.median(read), 1000 * statistics.median(forward)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", nargs="+", default=["layer4[2]", "layer3[4]"])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the rows and the machine here")
    args = parser.parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_photos(Path(tmp), count=args.photos)
        for name, kind in NETWORKS.items():
            network = build(name, classes=1000, input_size=args.size)
            whole = multiply_accumulates(network)
            load = input_side(kind, args.size)
            for point in args.points:
                front, _ = cut(network, RESNET50_POINTS.get(point, point))
                encoder, _ = bottleneck(tuple(front.output.shape[1:]), 128, 2)
                inputs = [keras.Input(t.shape[1:]) for t in network.inputs]
                device = keras.Model(inputs, encoder(front(inputs[0] if len(inputs) == 1
                                                           else inputs)))
                macs = multiply_accumulates(device)
                read, forward = measure(device, load, paths, args.repeats)
                rows.append(dict(network=name, input=kind, point=point, device_gmacs=macs / 1e9,
                                 share_of_network=macs / whole, input_ms=read,
                                 front_encoder_ms=forward, device_ms=read + forward))
            keras.backend.clear_session()
    print(f"\n{'network':31}{'input':>6}{'point':>11}{'GMAC':>8}{'share':>7}"
          f"{'input ms':>10}{'front+enc ms':>14}{'device ms':>11}")
    for r in rows:
        print(f"{r['network']:31}{r['input']:>6}{r['point']:>11}{r['device_gmacs']:>8.2f}"
              f"{r['share_of_network']:>7.2f}{r['input_ms']:>10.2f}{r['front_encoder_ms']:>14.2f}"
              f"{r['device_ms']:>11.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine_info(), "rows": rows},
                                              indent=2))
        print(f"written to {args.json}")


if __name__ == "__main__":
    main()
