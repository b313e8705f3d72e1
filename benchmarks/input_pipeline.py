"""Images per second of three input paths on the same JPEG files, measured in one run.

(a) full RGB decode + resize / crop   (what an RGB network's loader does)
(b) DCT read only                      (jpeg2dct, and jpeglib)
(c) the reference training transform  (decode, albumentations, JPEG re-encode, DCT read)

    python benchmarks/input_pipeline.py [--data demo_data/imagenet/train] [--size 256 224]

One process, one thread each: ratios are what matters (the pipeline scales them over processes).
"""
import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from jpeg_deep.data.augmentation import TransformConfig, decode_rgb
from jpeg_deep.data.pipeline import SampleLoader
from jpeg_deep.data.readers import read_dct


def timed(fn, items, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - start)
    return len(items) / best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="demo_data/imagenet/train",
                        help="folder searched recursively for .jpg files")
    parser.add_argument("--size", nargs=2, type=int, default=(256, 224),
                        metavar=("RESIZE", "CROP"))
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    paths = sorted(Path(args.data).rglob("*.jpg"))[: args.limit]
    if not paths:
        raise SystemExit(f"no .jpg under {args.data} (run: python -m jpeg_deep.demo demo_data)")
    blobs = [p.read_bytes() for p in paths]
    resize, crop = args.size
    config = TransformConfig(resize=resize, crop=crop, quality=95)

    def rgb_path(data):
        img = decode_rgb(data)
        h, w = img.shape[:2]
        s = resize / min(h, w)
        img = cv2.resize(img, (max(crop, round(w * s)), max(crop, round(h * s))))
        y0, x0 = (img.shape[0] - crop) // 2, (img.shape[1] - crop) // 2
        return img[y0:y0 + crop, x0:x0 + crop]

    loader = SampleLoader("y_cbcr", "train", config)
    rows = [
        ("(a) RGB decode + resize/crop", timed(rgb_path, blobs, args.repeats)),
        ("(b) DCT read, jpeg2dct", timed(lambda d: read_dct(d, "jpeg2dct"), blobs, args.repeats)),
        ("(b) DCT read, jpeglib", timed(lambda d: read_dct(d, "jpeglib"), blobs, args.repeats)),
        ("(c) train transform: decode, augment, re-encode, DCT read",
         timed(lambda p: loader(p, 0), paths, args.repeats)),
    ]
    sizes = np.array([cv2.imdecode(np.frombuffer(b, np.uint8), 0).shape for b in blobs[:50]])
    print(f"{len(paths)} files from {args.data} (median {int(np.median(sizes[:, 1]))}x"
          f"{int(np.median(sizes[:, 0]))} px), resize {resize}, crop {crop}, one thread\n")
    base = rows[0][1]
    print(f"{'path':<60}{'images/s':>10}{'vs (a)':>9}")
    for name, ips in rows:
        print(f"{name:<60}{ips:>10.0f}{ips / base:>8.2f}x")


if __name__ == "__main__":
    main()
