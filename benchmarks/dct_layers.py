"""The DCT-domain Keras layers (``jpeg_deep.dct.layers``) on whatever device Keras uses:
agreement with the numpy operators, and images/s of resize + crop + random flip on a batch.

    python benchmarks/dct_layers.py [--batch 128] [--steps 50]
    KERAS_BACKEND=jax python benchmarks/dct_layers.py        # e.g. a GPU machine without TF

Needs numpy, OpenCV, scikit-image and Keras only (no JPEG reader): the coefficients are the
8x8 DCT of scikit-image photos resized to 500x375 (Y, and 4:2:0 Cb / Cr by a 2:1 box).
"""
import argparse
import time

import cv2
import numpy as np


def photo_components(size=(500, 375)):
    from skimage import data

    from jpeg_deep import dct

    out = []
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        rgb = cv2.resize(getattr(data, name)()[..., :3], size, interpolation=cv2.INTER_AREA)
        ycc = dct.ycbcr_levels(rgb)
        h, w = ycc.shape[:2]
        chroma = cv2.resize(ycc[..., 1:], (-(-w // 2), -(-h // 2)), interpolation=cv2.INTER_AREA)
        out.append((dct.pixels_to_blocks(ycc[..., 0]), dct.pixels_to_blocks(chroma[..., 0]),
                    dct.pixels_to_blocks(chroma[..., 1])))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args(argv)

    import keras

    from jpeg_deep import dct
    from jpeg_deep.dct.layers import DCTRandomFlip, DCTResample

    comps = photo_components()
    h, w, crop = 375, 500, 224
    rh, rw = 256, 341
    top, left = (rh - crop) // 2, (rw - crop) // 2
    rows = dct.AxisOp(h).resize(rh).window(top, crop)
    cols = dct.AxisOp(w).resize(rw).window(left, crop)
    crow = dct.AxisOp(-(-h // 2)).resize(rh // 2).window(top // 2, crop // 2)
    ccol = dct.AxisOp(-(-w // 2)).resize(rw // 2).window(left // 2, crop // 2)
    y_layer, c_layer, flip = DCTResample(rows, cols), DCTResample(crow, ccol), DCTRandomFlip()

    reps = -(-args.batch // len(comps))
    y = np.stack([c[0] for c in comps] * reps)[: args.batch].astype(np.float32)
    cbcr = np.stack([np.concatenate(c[1:], -1) for c in comps] * reps)[: args.batch]
    cbcr = cbcr.astype(np.float32)

    # agreement with numpy (float64 reference)
    oy = keras.ops.convert_to_numpy(y_layer(y[:4]))
    oc = keras.ops.convert_to_numpy(c_layer(cbcr[:4]))
    ref_y = dct.resample(y[:4].astype(np.float64), rows, cols)
    ref_c = np.concatenate([dct.resample(cbcr[:4, ..., :64].astype(np.float64), crow, ccol),
                            dct.resample(cbcr[:4, ..., 64:].astype(np.float64), crow, ccol)], -1)
    err = max(np.abs(dct.blocks_to_pixels(a) - dct.blocks_to_pixels(b)).max()
              for a, b in zip(list(oy) + [oc[i, ..., :64] for i in range(4)],
                              list(ref_y) + [ref_c[i, ..., :64] for i in range(4)]))
    flipped = keras.ops.convert_to_numpy(DCTRandomFlip(p=1.0)(oy, training=True))
    flip_exact = np.array_equal(flipped, dct.flip_horizontal(oy))

    yt, ct = keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(cbcr)

    def step(y, c):
        return flip([y_layer(y), c_layer(c)], training=True)

    if keras.backend.backend() == "jax":
        import jax

        fn = jax.jit(lambda y, c: [y_layer(y), c_layer(c)])  # flip: eager (stateful seed)

        def step(y, c):  # noqa: F811
            return flip(fn(y, c), training=True)

    out = step(yt, ct)
    keras.ops.convert_to_numpy(out[0])
    start = time.perf_counter()
    for _ in range(args.steps):
        out = step(yt, ct)
    keras.ops.convert_to_numpy(out[0])
    keras.ops.convert_to_numpy(out[1])
    ips = args.batch * args.steps / (time.perf_counter() - start)
    try:
        import jax
        device = str(jax.devices()[0]) if keras.backend.backend() == "jax" else ""
    except ImportError:
        device = ""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"backend {keras.backend.backend()} on {device}: batch {args.batch}, 500x375 -> 256 "
          f"-> 224 centre crop + random flip, Y and CbCr")
    print(f"max |layer - numpy| on the 0..255 pixel scale: {err:.2e}; flip exact: {flip_exact}")
    print(f"images/s: {ips:.0f}")


if __name__ == "__main__":
    main()
