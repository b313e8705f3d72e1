"""CPU inference speed (images/s) of the registered networks, and the ratio to the RGB baseline of
the same family (VGG16 for VGG networks, ResNet50 for ResNets).

    python -m benchmarks.model_speed --batch 8 --size 224 --repeats 5   # from the repo root
    python -m benchmarks.model_speed --networks resnet50 late_concat_rfa

Each network runs a compiled ``tf.function`` forward pass (inference mode) on one preloaded
random batch: one warm-up call (tracing), then ``--repeats`` timed calls; the median is reported.
Only the network is timed: no JPEG reading or decoding.
"""
from __future__ import annotations

import argparse
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from jpeg_deep.networks import build, names

DEFAULT_NETWORKS = [
    "vgg16", "vgg16_dct", "vgg16_dct_y", "vgg16_dct_deconv",
    "resnet50", "late_concat_rfa", "late_concat_rfa_dcode", "late_concat_rfa_thinner",
    "late_concat_rfa_thinner_dcode", "late_concat_rfa_y", "late_concat_rfa_y_thinner",
    "late_concat", "deconvolution_rfa", "downsampling", "upsampling", "upsampling_rfa",
]


def baseline_of(name):
    return "vgg16" if name.startswith("vgg16") else "resnet50"


def images_per_second(name, batch, size, repeats, seed=0):
    model = build(name, input_size=size)
    rng = np.random.default_rng(seed)
    inputs = [tf.constant(rng.normal(0, 50, (batch,) + tuple(i.shape[1:])).astype("float32"))
              for i in model.inputs]
    forward = tf.function(lambda xs: model(xs, training=False), jit_compile=False)
    forward(inputs).numpy()  # warm-up: trace and run once
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward(inputs).numpy()
        times.append(time.perf_counter() - start)
    params = model.count_params()
    del model, forward
    keras.backend.clear_session()
    return batch / statistics.median(times), params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=DEFAULT_NETWORKS,
                        help=f"registered names (default: a representative set); any of {names()}")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224, help="image size in pixels")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per network")
    args = parser.parse_args(argv)

    unknown = sorted(set(args.networks) - set(names()))
    if unknown:
        parser.error(f"unknown networks {unknown}; known: {', '.join(names())}")
    # baselines first, so every ratio has its denominator
    order = list(dict.fromkeys([baseline_of(n) for n in args.networks] + args.networks))
    results = {}
    for name in order:
        results[name] = images_per_second(name, args.batch, args.size, args.repeats)
        print(f"  measured {name}: {results[name][0]:.1f} images/s", flush=True)

    print(f"\nCPU inference, batch {args.batch}, {args.size}x{args.size} px, "
          f"median of {args.repeats} timed runs after one warm-up")
    print(f"{'network':32s} {'params':>12s} {'images/s':>9s} {'vs baseline':>12s}")
    for name in args.networks:
        speed, params = results[name]
        base = baseline_of(name)
        ratio = speed / results[base][0]
        print(f"{name:32s} {params:>12,d} {speed:>9.1f} {ratio:>8.2f}x {base}")


if __name__ == "__main__":
    main()
