"""Inference speed (images/s) of the registered networks, and the ratio to the RGB baseline of
the same family (VGG16 for VGG networks, ResNet50 for ResNets), at the papers' protocol: batch 8,
forward pass only, one preloaded random batch.

    python -m benchmarks.model_speed                          # CPU, float32, every network
    python -m benchmarks.model_speed --networks resnet50 late_concat_rfa
    python -m benchmarks.model_speed --device gpu --modes float32 mixed xla mixed+xla
    python -m benchmarks.model_speed --ssd --repeats 3      # SSD300 pairs, 300 px

``--ssd``: the detectors instead (default size 300 px): SSD300 on VGG16 and on each ResNet
backbone against SSD300 on the DCT backbones, each ratio to the RGB SSD of its family
(``ssd300_vgg16`` for VGG backbones, ``ssd300_resnet50`` for ResNets). ``--macs`` adds the
multiply-accumulates per image of every network (convolutions and dense layers), the work a
speed ratio can be compared with: at 300 px SSD300-VGG16 does 31.4 G, SSD300-VGG-DCT 15.1 G
(ratio 2.08; VGG block4 at 38x38, 8.5 G, is in both), SSD300-ResNet50 13.2 G and the ResNet-DCT
SSDs 13.3 to 16.1 G (stage 5 at stride 16, 5.4 G, is in all).

Modes: ``float32``; ``mixed`` (Keras ``mixed_float16`` policy on a GPU, ``mixed_bfloat16`` on
a CPU, outputs float32); ``xla`` (the forward pass XLA-compiled); ``mixed+xla``. Each
(network, mode) runs one warm-up call (tracing / compiling), then ``--repeats`` timed calls of
``--calls`` forward passes each; the median call time gives images/s. Only the network is timed:
no JPEG reading or decoding. On the TensorFlow backend the forward pass is a ``tf.function`` on
the chosen device; on the JAX backend (``KERAS_BACKEND=jax``) it is a ``jax.jit`` of the model's
stateless call, which is always XLA-compiled, so ``float32`` and ``xla`` are the same there.
"""
from __future__ import annotations

import argparse
import statistics
import time

import keras
import numpy as np

from jpeg_deep.networks import build, names

DEFAULT_NETWORKS = [
    "vgg16", "vgg16_dct", "vgg16_dct_y", "vgg16_dct_deconv",
    "resnet50", "late_concat_rfa", "late_concat_rfa_dcode", "late_concat_rfa_thinner",
    "late_concat_rfa_thinner_dcode", "late_concat_rfa_y", "late_concat_rfa_y_thinner",
    "late_concat", "deconvolution_rfa", "downsampling", "upsampling", "upsampling_rfa",
]
SSD_NETWORKS = [
    "ssd300_vgg16", "ssd300_vgg16_dct", "ssd300_vgg16_dct_y", "ssd300_vgg16_dct_deconv",
    "ssd300_resnet50", "ssd300_late_concat_rfa", "ssd300_late_concat_rfa_thinner",
    "ssd300_late_concat_rfa_y", "ssd300_late_concat_rfa_y_thinner", "ssd300_deconvolution_rfa",
]
MODES = ("float32", "mixed", "xla", "mixed+xla")


def baseline_of(name):
    if name.startswith("ssd"):
        return "ssd300_vgg16" if name.startswith("ssd300_vgg16") else "ssd300_resnet50"
    return "vgg16" if name.startswith("vgg16") else "resnet50"


def device_name(device: str) -> str:
    """A readable name of the device the benchmark runs on."""
    if keras.backend.backend() == "jax":
        import jax

        return str(jax.devices()[0].device_kind)
    import tensorflow as tf

    if device == "gpu":
        gpus = tf.config.list_physical_devices("GPU")
        details = tf.config.experimental.get_device_details(gpus[0]) if gpus else {}
        return details.get("device_name", "GPU")
    import platform

    return platform.processor() or platform.machine() or "CPU"


def _forward(model, inputs, device: str, xla: bool):
    """A compiled inference-mode forward pass returning host memory (so the time includes the
    device finishing its work)."""
    if keras.backend.backend() == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        frozen = [v.value for v in model.non_trainable_variables]
        step = jax.jit(lambda t, n, x: model.stateless_call(t, n, x, training=False)[0])
        arrays = [jax.device_put(x) for x in inputs]
        return lambda: np.asarray(step(trainable, frozen, arrays))
    import tensorflow as tf

    with tf.device(f"/{device.upper()}:0"):
        tensors = [tf.constant(x) for x in inputs]
    step = tf.function(lambda xs: model(xs, training=False), jit_compile=xla)

    def call():
        with tf.device(f"/{device.upper()}:0"):
            return step(tensors).numpy()
    return call


def multiply_accumulates(model) -> int:
    """Multiply-accumulates of one image through the convolutions and dense layers of a
    built model (static shapes)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            cells = int(np.prod(layer.input.shape[1:3]))
        elif isinstance(layer, keras.layers.Conv2D):
            cells = int(np.prod(layer.output.shape[1:3]))
        elif isinstance(layer, keras.layers.Dense):
            cells = int(np.prod(layer.output.shape[1:-1]))
        else:
            continue
        total += cells * int(np.prod(layer.kernel.shape))
    return total


def images_per_second(name, batch, size, repeats, *, device="cpu", mode="float32", calls=1,
                      seed=0):
    mixed = mode.startswith("mixed")
    policy = ("mixed_float16" if device == "gpu" else "mixed_bfloat16") if mixed else "float32"
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = build(name, input_size=size)
        rng = np.random.default_rng(seed)
        inputs = [rng.normal(0, 50, (batch,) + tuple(i.shape[1:])).astype("float32")
                  for i in model.inputs]
        forward = _forward(model, inputs, device, xla=mode.endswith("xla"))
        forward()  # warm-up: trace / compile and run once
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(calls):
                forward()
            times.append((time.perf_counter() - start) / calls)
        params = model.count_params()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    del model, forward
    keras.backend.clear_session()
    return batch / statistics.median(times), params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=None,
                        help="registered names (default: a representative set of classifiers, "
                        f"or with --ssd the SSD300 pairs); any of {names(task=None)}")
    parser.add_argument("--ssd", action="store_true",
                        help=f"benchmark the detectors (default networks {SSD_NETWORKS}, 300 px)")
    parser.add_argument("--macs", action="store_true",
                        help="also print the multiply-accumulates per image of each network")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=None,
                        help="image size in pixels (default 224, 300 with --ssd)")
    parser.add_argument("--repeats", type=int, default=5, help="timed measurements per network")
    parser.add_argument("--calls", type=int, default=None,
                        help="forward passes per measurement (default: 1 on CPU, 20 on GPU)")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=None,
                        help="precision / compilation modes (default: float32 on CPU, all four "
                        "on GPU)")
    args = parser.parse_args(argv)
    args.networks = args.networks or (SSD_NETWORKS if args.ssd else DEFAULT_NETWORKS)
    args.size = args.size or (300 if args.ssd else 224)

    unknown = sorted(set(args.networks) - set(names(task=None)))
    if unknown:
        parser.error(f"unknown networks {unknown}; known: {', '.join(names(task=None))}")
    if args.device == "gpu" and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if not tf.config.list_physical_devices("GPU"):
            parser.error("--device gpu: TensorFlow sees no GPU (CPU-only build, or no driver); "
                         "see the README's GPU install")
    modes = args.modes or (list(MODES) if args.device == "gpu" else ["float32"])
    calls = args.calls or (20 if args.device == "gpu" else 1)
    # baselines first, so every ratio has its denominator
    order = list(dict.fromkeys([baseline_of(n) for n in args.networks] + args.networks))
    results = {}
    for mode in modes:
        for name in order:
            results[name, mode] = images_per_second(name, args.batch, args.size, args.repeats,
                                                    device=args.device, mode=mode, calls=calls)
            print(f"  measured {name} [{mode}]: {results[name, mode][0]:.1f} images/s",
                  flush=True)

    print(f"\n{args.device.upper()} inference ({device_name(args.device)}, Keras "
          f"{keras.__version__} on {keras.backend.backend()}), batch {args.batch}, "
          f"{args.size}x{args.size} px, median of {args.repeats} x {calls} calls after a warm-up")
    header = f"{'network':34s} {'params':>12s}" + "".join(
        f" {mode + ' img/s':>17s} {'ratio':>6s}" for mode in modes)
    print(header + "   (ratio: to the RGB baseline of the family in the same mode)")
    for name in args.networks:
        row = f"{name:34s} {results[name, modes[0]][1]:>12,d}"
        for mode in modes:
            speed = results[name, mode][0]
            row += f" {speed:>17.1f} {speed / results[baseline_of(name), mode][0]:>5.2f}x"
        print(row)
    if args.macs:
        macs = {}
        for name in order:
            macs[name] = multiply_accumulates(build(name, input_size=args.size))
            keras.backend.clear_session()
        print(f"\nmultiply-accumulates per {args.size}x{args.size} image (ratio: baseline / "
              "network, the speed-up the work alone predicts)")
        for name in args.networks:
            ratio = macs[baseline_of(name)] / macs[name]
            print(f"{name:34s} {macs[name] / 1e9:>8.2f} G {ratio:>6.2f}x")
    return results


if __name__ == "__main__":
    main()
