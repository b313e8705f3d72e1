"""Loading one sample: the task's transform adapters, :class:`SampleLoader` (file and target ->
network inputs and ``y``), the ordered parallel :func:`iter_samples` and the one prediction loop
:func:`predict_files`."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from jpeg_deep.codec.jpeg import decode_rgb, encode_jpeg
from jpeg_deep.codec.readers import DEFAULT_BACKEND, InvalidJPEGError, inspect_jpeg, read_dct
from jpeg_deep.data.parallel import ordered_map
from jpeg_deep.data.transforms.classification import TransformConfig, make_transform
from jpeg_deep.data.transforms.classification_dct import train_params
from jpeg_deep.data.transforms.layout import dct_layout, rgb_layout

logger = logging.getLogger(__name__)

_TRANSFORMS: dict = {}  # (factory, split, transform config) -> transform, per process


class ClassificationTransform:
    """The classification transform as every task's transform is called:
    ``(rgb, target, seed) -> (rgb, target)``; the class index passes through unchanged. A
    transform's ``domain`` says what it works on: ``"rgb"`` decoded pixels (then re-encoded
    for DCT networks), ``"dct"`` the file's coefficients.

    Validation and test run the albumentations pipeline of :func:`make_transform`. Training
    draws its crop and flip from the seed with
    :func:`jpeg_deep.data.transforms.classification_dct.train_params` (albumentations'
    formulas, the draws the DCT-domain path makes for the same seed) and applies them as that
    pipeline does:
    ``SmallestMaxSize`` (bilinear), ``RandomCrop``, ``HorizontalFlip``. (Seeding the
    albumentations pipeline itself gives every transform of it the same random stream: the flip
    then always came with a crop in the upper half of the image.)"""

    domain = "rgb"

    def __init__(self, split: str, config: TransformConfig):
        self.split, self.config = split, config
        self.pipeline = make_transform(split, config)

    def __call__(self, rgb, target, seed=None):
        if self.split != "train":
            return self.pipeline(image=rgb)["image"], target
        p = train_params(rgb.shape[0], rgb.shape[1], self.config, np.random.default_rng(seed))
        (rh, rw), (top, left), crop = p["size"], p["offset"], self.config.crop
        out = cv2.resize(rgb, (rw, rh), interpolation=cv2.INTER_LINEAR)
        out = out[top:top + crop, left:left + crop]
        return np.ascontiguousarray(out[:, ::-1] if p["flip"] else out), target


class ClassificationDCTTransform:
    """The classification transform in the DCT domain (no decode, no re-encode):
    ``(coefficients, target, seed, size) -> (coefficients, target)`` with ``coefficients`` the
    reader's ``(y, cb, cr)`` and ``size`` the image's ``(height, width)``; see
    :mod:`jpeg_deep.data.transforms.classification_dct`."""

    domain = "dct"

    def __init__(self, split: str, config):
        from jpeg_deep.data.transforms.classification_dct import make_dct_transform

        self.transform = make_dct_transform(split, config)

    def __call__(self, coefficients, target, seed=None, size=None):
        return self.transform(*coefficients, rng=seed, size=size), target

    def prepare(self, seed, size):
        """Geometry and operators of one sample before its file is read (so the reader can
        stop below the rows they need): pass the result to :meth:`apply`."""
        rng = np.random.default_rng(seed)
        return self.transform.prepare(int(size[0]), int(size[1]), rng), rng

    def apply(self, prepared, coefficients, target, out=None):
        (plan, rng) = prepared
        return self.transform.apply(plan, *coefficients, rng=rng, out=out), target

    @staticmethod
    def rows_needed(prepared) -> int:
        return prepared[0].rows_needed

    def read_seeded(self, data: bytes, seed, out=None, name=None):
        """The transformed coefficients of a file's bytes in one compiled call
        (:meth:`DCTTransform.read_seeded`), written into ``out`` if given; None where that
        path does not take this transform, seed or file (the caller goes the general way)."""
        return self.transform.read_seeded(data, seed, out=out, name=name)


@dataclass(frozen=True)
class SampleLoader:
    """Everything needed to turn one file (and its target) into network inputs and the model's
    target (picklable, no state).

    ``transform`` is a frozen config with a ``quality`` (the JPEG re-encoding quality) that
    ``transform_factory(split, transform)`` turns into a ``(rgb, target, seed) -> (rgb,
    target)`` callable (made once per process); ``encoder(target) -> y`` encodes the transformed
    target for the model (None: no ``y``, as at inference).

    ``distortion`` (a :class:`jpeg_deep.codec.distortions.Distortion`, or a
    :class:`~jpeg_deep.codec.distortions.RandomDistortion` drawing one per sample from its
    seed; None: none) is applied to each file before the transform: to its bytes (``domain == "bytes"``: the
    real re-encodes) or to its coefficients as read (``"dct"``: re-quantisation; an RGB-domain
    transform or an RGB network then sees those coefficients decoded by
    :func:`jpeg_deep.codec.distortions.coefficients_to_rgb`)."""

    input_kind: str
    split: str = "train"
    transform: object | None = TransformConfig()
    backend: str = DEFAULT_BACKEND
    transform_factory: Callable = ClassificationTransform
    encoder: Callable | None = None
    distortion: Callable | None = None

    def __call__(self, path, rng_seed=None):
        """The network inputs of ``path`` (its target, if any, is left aside)."""
        return self.sample(path, None, rng_seed)[0]

    def sample(self, path, target=None, rng_seed=None, out=None):
        """``(inputs, y)`` of ``path`` (a file, or a file's bytes) and its ``target``; ``y`` is
        None without an encoder.

        ``out``: float32 arrays shaped like ``inputs`` (one sample's slots of a batch) that a
        DCT-domain transform writes into directly; ``inputs`` then are these arrays. Other
        paths copy their result into them."""
        x, y = self._sample(path, target, rng_seed, out)
        if out is not None and not all(a is b for a, b in zip(x, out)):
            for o, a in zip(out, x):
                o[...] = a
            x = tuple(out)
        return x, y

    def _sample(self, path, target, rng_seed, out):
        distortion = None if self.distortion is None else self.distortion.draw(rng_seed)
        if isinstance(path, (bytes, bytearray)):  # a file's bytes, already in memory
            data, path = bytes(path), "<bytes>"
        else:
            with open(path, "rb") as f:
                data = f.read()
        transform = self._transform()
        if (distortion is None and transform is not None and self.backend == DEFAULT_BACKEND
                and hasattr(transform, "read_seeded")):  # the one-call path of the transform
            slots = _component_slots(out, self.input_kind)
            done = transform.read_seeded(data, rng_seed, slots, str(path))
            if done is not None:
                if slots is not None:
                    return tuple(out), self._encode(target)
                return dct_layout(*done, self.input_kind), self._encode(target)
        info = inspect_jpeg(data, path)  # raises InvalidJPEGError naming the file
        headers = info  # what the reader may reuse: the headers of ``data`` as read
        requantise = None  # the DCT-domain distortion, applied to the coefficients as read
        if distortion is not None and distortion.domain == "bytes":
            data = distortion(data)
            headers = None
        elif distortion is not None:
            requantise = distortion.coefficients
        if transform is not None and transform.domain == "dct":
            size = (info.height, info.width)
            if not hasattr(transform, "prepare"):
                (y, cb, cr), target = transform(self._read(data, path, requantise, info=headers),
                                                target, rng_seed, size)
                return dct_layout(y, cb, cr, self.input_kind), self._encode(target)
            prepared = transform.prepare(rng_seed, size)
            coefficients = self._read(data, path, requantise, info=headers,
                                      stop_rows=transform.rows_needed(prepared))
            slots = _component_slots(out, self.input_kind)
            (y, cb, cr), target = transform.apply(prepared, coefficients, target, out=slots)
            if slots is not None:
                return tuple(out), self._encode(target)
            return dct_layout(y, cb, cr, self.input_kind), self._encode(target)
        if transform is not None:
            rgb, target = transform(self._decode(data, path, info, requantise), target,
                                    rng_seed)
            if self.input_kind == "rgb":
                return rgb_layout(rgb), self._encode(target)
            data = encode_jpeg(rgb, self.transform.quality)  # already distorted
            return dct_layout(*self._read(data, path), self.input_kind), self._encode(target)
        if self.input_kind == "rgb":
            return rgb_layout(self._decode(data, path, info, requantise)), self._encode(target)
        return (dct_layout(*self._read(data, path, requantise, info=headers), self.input_kind),
                self._encode(target))

    def _transform(self):
        """The transform of this loader's config, made once per process (None: none)."""
        if self.transform is None:
            return None
        key = (self.transform_factory, self.split, self.transform)
        if key not in _TRANSFORMS:
            _TRANSFORMS[key] = self.transform_factory(self.split, self.transform)
        return _TRANSFORMS[key]

    def _read(self, data, path, requantise=None, info=None, stop_rows=0):
        try:
            coefficients = read_dct(data, self.backend, info=info, stop_rows=stop_rows)
        except InvalidJPEGError as err:
            raise InvalidJPEGError(path, err.reason) from None
        return coefficients if requantise is None else requantise(coefficients)

    def _decode(self, data, path, info, requantise=None):
        if requantise is None:
            return decode_rgb(data, path)
        from jpeg_deep.codec.distortions import coefficients_to_rgb

        return coefficients_to_rgb(self._read(data, path, requantise),
                                   (info.height, info.width))

    def _encode(self, target):
        return None if self.encoder is None else self.encoder(target)


def _component_slots(out, kind):
    """``(y, cb, cr)`` views of a sample's input arrays ``out`` for the layout ``kind``, where
    the transform's output fits them as they are (no Y padding), else None."""
    if out is None:
        return None
    if kind == "y_cbcr":
        y, cbcr = out
        slots = (y, cbcr[..., :64], cbcr[..., 64:])
    elif kind == "y_cb_cr":
        slots = tuple(out)
    else:
        return None
    if slots[0].shape[:2] != (2 * slots[1].shape[0], 2 * slots[1].shape[1]):
        return None
    return slots


def one_hot(label, num_classes: int) -> np.ndarray:
    """The classification encoder: a class index -> float32 one-hot vector."""
    out = np.zeros(num_classes, np.float32)
    out[int(label)] = 1
    return out


def _load_one(args):
    loader, path = args
    try:
        return path, loader(path), None
    except InvalidJPEGError as err:
        return path, None, err.reason


def iter_samples(loader: SampleLoader, paths, workers: int = 1):
    """Yield ``(path, inputs, error)`` for every path, in order; ``inputs`` is None and ``error``
    the reason when the file is not a readable JPEG. Loads in ``workers`` processes."""
    yield from ordered_map(_load_one, ((loader, p) for p in paths), workers, max_pending=64)


def predict_files(forward, loader: SampleLoader, paths, *, batch_size: int = 1, workers: int = 1,
                  progress: bool = True, skipped: dict | None = None, what: str = ""):
    """The one prediction loop (inference, evaluation, detections drawn, validation mAP, the
    expert's teacher): the loader's inputs of every path, in ``workers`` processes, stacked in
    batches of ``batch_size`` (1: each image at its own size) and run through ``forward``
    (``inputs -> outputs``); yields ``(indices, outputs)``, ``indices`` the positions in
    ``paths`` of the batch's images, in order. A file that is not a readable JPEG is logged
    (``what``: a prefix naming the pass), recorded in ``skipped`` (``{path: reason}``) and left
    out. ``progress``: a progress bar, one step per file."""
    bar = None
    if progress:
        import keras

        bar = keras.utils.Progbar(len(paths), unit_name="image")
    pending, indices = [], []

    def run():
        stacked = [np.stack(parts) for parts in zip(*pending)]
        outputs = forward(stacked[0] if len(stacked) == 1 else stacked)
        done = (list(indices), outputs)
        if bar is not None:
            bar.add(len(pending))
        pending.clear()
        indices.clear()
        return done

    for i, (path, inputs, error) in enumerate(iter_samples(loader, paths, workers)):
        if inputs is None:
            logger.warning("%sskipping %s: %s", f"{what}: " if what else "", path, error)
            if skipped is not None:
                skipped[str(path)] = error
            if bar is not None:
                bar.add(1)
            continue
        pending.append(inputs)
        indices.append(i)
        if len(pending) == batch_size:
            yield run()
    if pending:
        yield run()
