"""Serving on the CPU with LiteRT: a DCT network fed by our reader against its RGB counterpart
fed by a full decode, on the same files, one process, one thread.

    python benchmarks/serving_speed.py [--pairs resnet50:late_concat_rfa] [--count 100]
        [--json OUT]

Each network (random weights: speed does not depend on them) is exported by Keras'
``model.export(format="litert")`` (TensorFlow's converter) and run by LiteRT's interpreter
(``ai-edge-litert``), one thread, batch 1, at 224 px. Per image, best of ``--repeats`` passes
over the files (each file read once per pass):

* input side: the validation transform as jpeg_deep's pipeline runs it; for the DCT network
  our reader and the DCT-domain shorter side 256 + centre crop 224 (``augmentation = "dct"``),
  for the RGB network a full decode (OpenCV) and the same resize and crop in pixels;
* network: the LiteRT call alone;
* total: both, per image, and the images/s it gives.

Files: scikit-image's photos at 500x375 (``benchmarks/input_pipeline.py``'s ``write_photos``),
or ``--data FOLDER`` (its JPEG files, recursively).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def litert_runner(name, size, folder: Path):
    """``(forward(inputs) -> output, input names)`` of network ``name`` built at ``size`` and
    converted to LiteRT, one interpreter thread."""
    from ai_edge_litert.interpreter import Interpreter

    from jpeg_deep.networks import build

    model = build(name, classes=1000, input_size=size)
    path = folder / f"{name}.tflite"
    model.export(str(path), format="litert", verbose=False)
    names = [t.name for t in model.inputs]
    runner = Interpreter(model_path=str(path), num_threads=1).get_signature_runner(
        "serving_default")

    def forward(inputs):
        (out,) = runner(**{n: x[None].astype(np.float32) for n, x in zip(names, inputs)}
                        ).values()
        return out

    return forward, path.stat().st_size


def loader_for(name, size):
    from jpeg_deep.data.transforms.classification import TransformConfig
    from jpeg_deep.data.loader import (ClassificationDCTTransform, ClassificationTransform,
                                       SampleLoader)
    from jpeg_deep.networks import spec

    kind = spec(name).inputs
    factory = ClassificationTransform if kind == "rgb" else ClassificationDCTTransform
    return SampleLoader(kind, "val", TransformConfig(resize=size * 8 // 7, crop=size),
                        transform_factory=factory)


def measure(name, size, blobs, folder, repeats):
    forward, model_bytes = litert_runner(name, size, folder)
    loader = loader_for(name, size)
    inputs = [loader(b) for b in blobs[:2]]
    for x in inputs:
        forward(x)  # warm-up
    best_in = best_net = best_total = float("inf")
    for _ in range(repeats):
        t_in = t_net = 0.0
        for data in blobs:
            t0 = time.perf_counter()
            x = loader(data)
            t1 = time.perf_counter()
            forward(x)
            t2 = time.perf_counter()
            t_in += t1 - t0
            t_net += t2 - t1
        best_in, best_net = min(best_in, t_in), min(best_net, t_net)
        best_total = min(best_total, t_in + t_net)
    n = len(blobs)
    return {"network": name, "model_mb": model_bytes / 2**20,
            "input_ms": best_in / n * 1e3, "network_ms": best_net / n * 1e3,
            "total_ms": best_total / n * 1e3, "images_per_s": n / best_total}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", nargs="+", default=["resnet50:late_concat_rfa",
                                                       "resnet50:late_concat_rfa_thinner"],
                        help="RGB:DCT network pairs (default: ResNet-50 against LC-RFA and "
                        "LC-RFA-Thinner)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--count", type=int, default=100, help="generated photos")
    parser.add_argument("--data", help="a folder of JPEG files instead")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    import cv2

    cv2.setNumThreads(1)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.data:
            paths = sorted(Path(args.data).rglob("*.jpg"))[:args.count]
        else:
            from input_pipeline import write_photos

            (tmp / "photos").mkdir()
            paths = write_photos(tmp / "photos", count=args.count)
        blobs = [p.read_bytes() for p in paths]
        print(f"{len(blobs)} files; LiteRT, one thread, batch 1, {args.size} px; "
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
        print("| network | input side ms | network ms | total ms | img/s | x RGB | .tflite MB |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        results, measured = [], {}
        for pair in args.pairs:
            rgb, dct = pair.split(":")
            for name in (rgb, dct):
                if name not in measured:
                    measured[name] = measure(name, args.size, blobs, tmp, args.repeats)
            base = measured[rgb]
            for r in (dict(base), dict(measured[dct])):
                r["x_rgb"] = r["images_per_s"] / base["images_per_s"]
                print(f"| {r['network']} | {r['input_ms']:.2f} | {r['network_ms']:.2f} | "
                      f"{r['total_ms']:.2f} | {r['images_per_s']:.1f} | {r['x_rgb']:.2f} | "
                      f"{r['model_mb']:.0f} |")
                results.append(r)
    if args.json:
        Path(args.json).write_text(json.dumps({"size": args.size, "files": len(blobs),
                                               "results": results}, indent=1))


if __name__ == "__main__":
    main()
