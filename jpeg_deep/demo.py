"""Synthetic "shapes" dataset for trying out jpeg_deep end to end in seconds.

Every scene is a small RGB picture (width and height each drawn from
[MIN_SIDE, MAX_SIDE], so most sizes are not multiples of 8 or 16) with a
smooth noisy background, one large object of the scene's class and, now and
then, a smaller distractor object of another class.  The classes are
``CLASSES = ("circle", "square", "triangle", "cross", "ring")``.

The same JPEG bytes are written twice, once in an ImageNet-like layout for
classification and once in a Pascal VOC 2007 layout for detection::

    <root>/
      manifest.json                       parameters, counts, one entry per scene
      imagenet/
        imagenet_class_index.json         {"0": ["circle", "circle"], ...} (Keras format)
        train/<class>/<id>.jpg
        validation/<class>/<id>.jpg
        test/<class>/<id>.jpg
      VOCdevkit/VOC2007/
        JPEGImages/<id>.jpg
        Annotations/<id>.xml              one <object> per shape, 1-based inclusive boxes
        ImageSets/Main/{train,val,trainval,test}.txt

Ids are ``000001``, ``000002``, ... over train, then validation, then test
scenes; VOC ``train``/``val``/``test`` hold the same scenes as ImageNet
``train``/``validation``/``test``.

Most files are baseline JPEGs, quality 90, 4:2:0 chroma subsampling.  In every
split a fixed share is encoded differently (see ENCODING_SHARES): 4:4:4,
4:2:2, grayscale (depth is still written as 3 in the VOC XML) or progressive.
``manifest.json`` records the encoding of every file.

Output is deterministic: each scene is drawn from its own generator seeded by
(seed, split, class, index), so the same seed gives byte-identical files
whatever the other counts are.

Usage::

    python -m jpeg_deep.demo data/demo --seed 0 --per-class-train 60

or ``make_demo_dataset("data/demo")`` from Python.

Detection scenes (160-320 pixel sides, 1-6 shapes of any class, small and overlapping ones,
some flagged difficult) are a separate set written by ``make_demo_detection_dataset(root)``
(or ``--detection``) under ``<root>/detection``, in Pascal VOC layout and as COCO json files
of the same scenes.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

__all__ = ["CLASSES", "DEMO_ROOT", "SPLITS", "ENCODINGS", "make_demo_data", "make_demo_dataset",
           "make_demo_detection_dataset", "main"]

#: Where the demo configs read their data (``jpeg-deep demo`` writes it; ``make demo`` runs it).
DEMO_ROOT = "demo_data"

CLASSES: Tuple[str, ...] = ("circle", "square", "triangle", "cross", "ring")

# ImageNet split folder -> VOC image set name.
SPLITS: Tuple[str, ...] = ("train", "validation", "test")
VOC_SETS: Dict[str, str] = {"train": "train", "validation": "val", "test": "test"}

MIN_SIDE, MAX_SIDE = 72, 160          # image width / height range (inclusive)
MAIN_SIZE = (0.50, 0.85)              # main object extent / shorter image side
DISTRACTOR_SIZE = (0.16, 0.28)        # distractor extent / shorter image side
DISTRACTOR_PROB = 0.3
MAX_DISTRACTOR_OVERLAP = 0.15         # share of the distractor box inside the main box
MIN_LUMA_CONTRAST = 60.0              # |Y(object) - mean Y(background under it)|
MARGIN = 2                            # pixels kept free between objects and borders
SUPERSAMPLE = 4                       # shapes are drawn at this scale, then box-filtered
_SHIFT = 4                            # cv2 fixed-point bits for sub-pixel drawing

QUALITY = 90
ENCODINGS: Tuple[str, ...] = ("420", "444", "422", "gray", "progressive")
ENCODING_SHARES: Dict[str, float] = {"444": 0.10, "gray": 0.10, "progressive": 0.10, "422": 0.05}
_SAVE_KWARGS: Dict[str, dict] = {
    "420": {"subsampling": 2},
    "444": {"subsampling": 0},
    "422": {"subsampling": 1},
    "gray": {},
    "progressive": {"subsampling": 2, "progressive": True},
}

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
_MARKER_NAME = ".jpeg_deep_demo"       # written first, so a crashed run can be cleaned up
_OUTPUT_DIRS = ("imagenet", "VOCdevkit")

# Tags that keep the seed sequences of scenes and encoding plans apart.
_TAG_SCENE, _TAG_ENCODING = 0, 1


# --------------------------------------------------------------------------- shapes

def _rotate(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, s], [-s, c]])


def random_shape(cls: str, rng: np.random.Generator) -> dict:
    """Random outline of a ``cls`` shape in unit coordinates.

    The result is centred on its bounding box and scaled so that the larger
    side of that box is 2 (coordinates span [-1, 1] along it).  Keys:
    ``polygon`` (N x 2 array) or ``radius``/``inner_radius`` for discs and
    rings, plus ``half_w``/``half_h``, the half extents.
    """
    if cls in ("circle", "ring"):
        inner = float(rng.uniform(0.45, 0.7)) if cls == "ring" else 0.0
        return {"radius": 1.0, "inner_radius": inner, "half_w": 1.0, "half_h": 1.0}
    if cls == "square":
        poly = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64)
        poly = _rotate(poly, rng.uniform(0, np.pi / 2))
    elif cls == "triangle":
        angles = rng.uniform(0, 2 * np.pi) + np.arange(3) * 2 * np.pi / 3
        angles = angles + rng.uniform(-0.2, 0.2, size=3)
        radii = rng.uniform(0.85, 1.0, size=3)
        poly = np.stack([np.cos(angles), np.sin(angles)], axis=1) * radii[:, None]
    elif cls == "cross":
        w = rng.uniform(0.22, 0.34)       # half thickness of the bars
        poly = np.array([[-w, -1], [w, -1], [w, -w], [1, -w], [1, w], [w, w],
                         [w, 1], [-w, 1], [-w, w], [-1, w], [-1, -w], [-w, -w]])
        poly = _rotate(poly, rng.uniform(-0.25, 0.25))
    else:
        raise ValueError(f"unknown class {cls!r}")
    lo, hi = poly.min(axis=0), poly.max(axis=0)
    poly = (poly - (lo + hi) / 2) * (2.0 / (hi - lo).max())
    half_w, half_h = np.abs(poly).max(axis=0)
    return {"polygon": poly, "half_w": float(half_w), "half_h": float(half_h)}


def draw_shape(mask: np.ndarray, shape: dict, center: Tuple[float, float], size: float) -> None:
    """Fill ``shape`` with 255 into the supersampled uint8 ``mask``.

    ``center`` (x, y) is in output pixels (pixel centres at integers) and
    ``size`` is the larger side of the shape's bounding box in output pixels.
    """
    unit = float(1 << _SHIFT)

    def to_fixed(xy: np.ndarray) -> np.ndarray:
        # Output pixel j covers supersampled pixels SS*j .. SS*j+SS-1.
        return np.round((xy * SUPERSAMPLE + (SUPERSAMPLE - 1) / 2) * unit).astype(np.int32)

    c = np.asarray(center, dtype=np.float64)
    scale = size / 2.0
    if "polygon" in shape:
        pts = to_fixed(c + shape["polygon"] * scale)
        cv2.fillPoly(mask, [pts.reshape(-1, 1, 2)], 255, lineType=cv2.LINE_8, shift=_SHIFT)
        return
    cc = tuple(int(v) for v in to_fixed(c))
    for radius, value in ((shape["radius"], 255), (shape["inner_radius"], 0)):
        if radius > 0:
            r = int(round(radius * scale * SUPERSAMPLE * unit))
            cv2.circle(mask, cc, r, value, thickness=-1, lineType=cv2.LINE_8, shift=_SHIFT)


def render_alpha(shape: dict, center: Tuple[float, float], size: float,
                 width: int, height: int) -> np.ndarray:
    """Antialiased coverage (float32 in [0, 1], shape H x W) of one shape."""
    big = np.zeros((height * SUPERSAMPLE, width * SUPERSAMPLE), dtype=np.uint8)
    draw_shape(big, shape, center, size)
    small = cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255.0


def tight_box(alpha: np.ndarray) -> Optional[List[int]]:
    """VOC box [xmin, ymin, xmax, ymax] (1-based, inclusive) of pixels >= half covered."""
    ys, xs = np.nonzero(alpha >= 0.5)
    if xs.size == 0:
        return None
    return [int(xs.min()) + 1, int(ys.min()) + 1, int(xs.max()) + 1, int(ys.max()) + 1]


def _box_overlap(inner: Sequence[int], outer: Sequence[int]) -> float:
    """Share of box ``inner``'s area that lies inside box ``outer``."""
    w = min(inner[2], outer[2]) - max(inner[0], outer[0]) + 1
    h = min(inner[3], outer[3]) - max(inner[1], outer[1]) + 1
    area = (inner[2] - inner[0] + 1) * (inner[3] - inner[1] + 1)
    return max(w, 0) * max(h, 0) / area


# --------------------------------------------------------------------------- scenes

def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114])


def make_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Smooth colour gradient, sometimes a soft blob, plus mild noise (float32 H x W x 3)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    c0 = rng.uniform(20, 235, size=3)
    c1 = np.clip(c0 + rng.uniform(-70, 70, size=3), 0, 255)
    theta = rng.uniform(0, 2 * np.pi)
    t = np.cos(theta) * xs / width + np.sin(theta) * ys / height
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    img = c0 + (c1 - c0) * t[..., None]
    if rng.random() < 0.5:
        c2 = np.clip(c0 + rng.uniform(-60, 60, size=3), 0, 255)
        bx, by = rng.uniform(0, width), rng.uniform(0, height)
        sigma = rng.uniform(0.2, 0.45) * min(width, height)
        blob = np.exp(-((xs - bx) ** 2 + (ys - by) ** 2) / (2 * sigma ** 2))
        a = (rng.uniform(0.4, 0.8) * blob)[..., None]
        img = img * (1 - a) + c2 * a
    img = img + rng.normal(0, rng.uniform(2, 6), size=img.shape)
    return img.astype(np.float32)


def _contrasting_colour(rng: np.random.Generator, background_luma: float) -> np.ndarray:
    best, best_gap = None, -1.0
    for _ in range(50):
        colour = rng.uniform(0, 255, size=3)
        gap = abs(float(_luma(colour)) - background_luma)
        if gap >= MIN_LUMA_CONTRAST:
            return colour
        if gap > best_gap:
            best, best_gap = colour, gap
    return best


def _place(rng: np.random.Generator, shape: dict, size: float,
           width: int, height: int) -> Tuple[float, float]:
    """Random centre that keeps the whole shape MARGIN pixels inside the image."""
    hw, hh = shape["half_w"] * size / 2, shape["half_h"] * size / 2
    x = rng.uniform(hw + MARGIN, max(width - 1 - hw - MARGIN, hw + MARGIN))
    y = rng.uniform(hh + MARGIN, max(height - 1 - hh - MARGIN, hh + MARGIN))
    return float(x), float(y)


def _paint(img: np.ndarray, alpha: np.ndarray, rng: np.random.Generator) -> None:
    under = img[alpha >= 0.5]
    colour = _contrasting_colour(rng, float(_luma(under.mean(axis=0))) if len(under) else 128.0)
    a = alpha[..., None]
    img *= 1 - a
    img += a * colour.astype(np.float32)


def make_scene(rng: np.random.Generator, class_idx: int) -> Tuple[np.ndarray, List[dict]]:
    """Draw one scene whose main object is ``CLASSES[class_idx]``.

    Returns the uint8 RGB image and its objects (main object first), each
    ``{"name", "bbox": [xmin, ymin, xmax, ymax] 1-based inclusive, "role"}``.
    """
    width = int(rng.integers(MIN_SIDE, MAX_SIDE + 1))
    height = int(rng.integers(MIN_SIDE, MAX_SIDE + 1))
    short = min(width, height)
    img = make_background(rng, width, height)

    main_shape = random_shape(CLASSES[class_idx], rng)
    main_size = rng.uniform(*MAIN_SIZE) * short
    main_alpha = render_alpha(main_shape, _place(rng, main_shape, main_size, width, height),
                              main_size, width, height)
    main_box = tight_box(main_alpha)

    objects = []
    if rng.random() < DISTRACTOR_PROB:
        others = [i for i in range(len(CLASSES)) if i != class_idx]
        d_cls = CLASSES[others[int(rng.integers(len(others)))]]
        d_shape = random_shape(d_cls, rng)
        d_size = rng.uniform(*DISTRACTOR_SIZE) * short
        for _ in range(30):
            d_alpha = render_alpha(d_shape, _place(rng, d_shape, d_size, width, height),
                                   d_size, width, height)
            d_box = tight_box(d_alpha)
            if d_box is not None and _box_overlap(d_box, main_box) <= MAX_DISTRACTOR_OVERLAP:
                _paint(img, d_alpha, rng)          # distractor first, main object on top
                visible = tight_box(d_alpha * (1 - main_alpha))
                if visible is not None:
                    objects.append({"name": d_cls, "bbox": visible, "role": "distractor"})
                break

    _paint(img, main_alpha, rng)
    objects.insert(0, {"name": CLASSES[class_idx], "bbox": main_box, "role": "main"})
    return np.clip(np.round(img), 0, 255).astype(np.uint8), objects


# --------------------------------------------------------------------------- files

def encode_jpeg(image: np.ndarray, encoding: str) -> bytes:
    """JPEG bytes of an RGB uint8 array with one of ENCODINGS (all quality QUALITY)."""
    pil = Image.fromarray(image, mode="RGB")
    if encoding == "gray":
        pil = pil.convert("L")
    buf = io.BytesIO()
    pil.save(buf, format="JPEG", quality=QUALITY, optimize=False, **_SAVE_KWARGS[encoding])
    return buf.getvalue()


def plan_encodings(n: int, rng: np.random.Generator) -> List[str]:
    """Encodings for the n scenes of one split: fixed shares, randomly placed.

    Each special encoding gets round(share * n) scenes, at least one, so even
    tiny splits contain every encoding; the rest are baseline 4:2:0.
    """
    plan: List[str] = []
    for enc, share in ENCODING_SHARES.items():
        plan += [enc] * max(1, int(round(share * n)))
    plan = (plan + ["420"] * n)[:n]
    return [plan[i] for i in rng.permutation(n)]


def write_voc_annotation(path: Path, image_id: str, width: int, height: int,
                         objects: Sequence[dict]) -> None:
    """Write a Pascal VOC 2007 style XML file."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "VOC2007"
    ET.SubElement(root, "filename").text = f"{image_id}.jpg"
    source = ET.SubElement(root, "source")
    ET.SubElement(source, "database").text = "jpeg_deep demo shapes"
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(width)
    ET.SubElement(size, "height").text = str(height)
    ET.SubElement(size, "depth").text = "3"
    ET.SubElement(root, "segmented").text = "0"
    for obj in objects:
        node = ET.SubElement(root, "object")
        ET.SubElement(node, "name").text = obj["name"]
        ET.SubElement(node, "pose").text = "Unspecified"
        ET.SubElement(node, "truncated").text = "0"
        ET.SubElement(node, "difficult").text = str(int(bool(obj.get("difficult", False))))
        box = ET.SubElement(node, "bndbox")
        for key, value in zip(("xmin", "ymin", "xmax", "ymax"), obj["bbox"]):
            ET.SubElement(box, key).text = str(value)
    ET.indent(root, space="\t")
    path.write_bytes(ET.tostring(root, encoding="utf-8") + b"\n")


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _params(seed: int, train_per_class: int, val_per_class: int, test_per_class: int) -> dict:
    return {"seed": seed, "per_class": {"train": train_per_class, "validation": val_per_class,
                                        "test": test_per_class}}


def _is_complete(root: Path, params: dict) -> bool:
    try:
        manifest = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("version") != MANIFEST_VERSION or manifest.get("classes") != list(CLASSES):
        return False
    if any(manifest.get(k) != v for k, v in params.items()):
        return False
    return all((root / f[k]).is_file() and (root / f["annotation"]).is_file()
               for f in manifest.get("files", []) for k in ("imagenet_path", "voc_path"))


def _prepare_root(root: Path, output_dirs: Sequence[str] = _OUTPUT_DIRS) -> None:
    """Remove a previous demo dataset from ``root``; refuse to touch foreign data."""
    ours = (root / _MARKER_NAME).exists() or (root / MANIFEST_NAME).exists()
    existing = [root / d for d in output_dirs if (root / d).exists()]
    if existing and not ours:
        raise FileExistsError(f"{root} already holds {', '.join(d.name for d in existing)} "
                              "that jpeg_deep.demo did not write; choose another folder")
    (root / MANIFEST_NAME).unlink(missing_ok=True)
    for d in existing:
        shutil.rmtree(d)
    root.mkdir(parents=True, exist_ok=True)
    (root / _MARKER_NAME).write_text("written by jpeg_deep.demo\n", encoding="utf-8")


def _existing_params(root: Path) -> Optional[dict]:
    """The parameters of the complete demo dataset in ``root``, or None."""
    try:
        manifest = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
        params = {k: manifest[k] for k in ("seed", "per_class")}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return params if _is_complete(root, params) else None


def make_demo_dataset(root, seed: int = 0, train_per_class: int = 60, val_per_class: int = 15,
                      test_per_class: int = 10, force: bool = False,
                      verbose: bool = True, keep_existing: bool = False) -> Path:
    """Write the demo dataset under ``root`` (see the module docstring) and return ``root``.

    Nothing is written if ``root`` already holds a complete dataset made with
    the same parameters, unless ``force`` is true; with ``keep_existing``, a
    complete dataset made with *other* parameters is kept too (what the demo
    configs do, so they never rewrite a demo folder a user made).
    ``verbose=False`` hides the progress bar and the status line.
    """
    root = Path(root)
    existing = None if force or not keep_existing else _existing_params(root)
    if existing is not None:
        if verbose:
            print(f"Using the demo dataset already in {root} ({existing['per_class']} images "
                  "per class; python -m jpeg_deep.demo --force rewrites it)")
        return root
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    counts = {"train": train_per_class, "validation": val_per_class, "test": test_per_class}
    if any(int(c) != c or c < 0 for c in counts.values()):
        raise ValueError(f"per-class counts must be non-negative integers, got {counts}")
    seed, counts = int(seed), {k: int(v) for k, v in counts.items()}
    params = _params(seed, *counts.values())

    if not force and _is_complete(root, params):
        if verbose:
            print(f"Demo dataset already present in {root} (pass force=True / --force to rewrite)")
        return root

    _prepare_root(root)
    imagenet = root / "imagenet"
    voc = root / "VOCdevkit" / "VOC2007"
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (voc / sub).mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        for cls in CLASSES:
            (imagenet / split / cls).mkdir(parents=True, exist_ok=True)
    _write_json(imagenet / "imagenet_class_index.json",
                {str(i): [cls, cls] for i, cls in enumerate(CLASSES)})

    files: List[dict] = []
    image_sets: Dict[str, List[str]] = {name: [] for name in VOC_SETS.values()}
    total = sum(counts.values()) * len(CLASSES)
    with tqdm(total=total, desc="demo dataset", unit="img", disable=not verbose) as bar:
        for split_idx, split in enumerate(SPLITS):
            n_split = counts[split] * len(CLASSES)
            encodings = plan_encodings(n_split, np.random.default_rng([seed, _TAG_ENCODING, split_idx]))
            for k in range(n_split):
                class_idx, i = divmod(k, counts[split])
                rng = np.random.default_rng([seed, _TAG_SCENE, split_idx, class_idx, i])
                image, objects = make_scene(rng, class_idx)
                height, width = image.shape[:2]
                image_id = f"{len(files) + 1:06d}"
                data = encode_jpeg(image, encodings[k])
                cls = CLASSES[class_idx]
                entry = {
                    "id": image_id, "split": split, "class": cls, "label": class_idx,
                    "width": width, "height": height, "encoding": encodings[k],
                    "num_bytes": len(data),
                    "imagenet_path": f"imagenet/{split}/{cls}/{image_id}.jpg",
                    "voc_path": f"VOCdevkit/VOC2007/JPEGImages/{image_id}.jpg",
                    "annotation": f"VOCdevkit/VOC2007/Annotations/{image_id}.xml",
                    "objects": objects,
                }
                (root / entry["imagenet_path"]).write_bytes(data)
                (root / entry["voc_path"]).write_bytes(data)
                write_voc_annotation(root / entry["annotation"], image_id, width, height, objects)
                image_sets[VOC_SETS[split]].append(image_id)
                files.append(entry)
                bar.update()

    image_sets["trainval"] = image_sets["train"] + image_sets["val"]
    for name, ids in image_sets.items():
        (voc / "ImageSets" / "Main" / f"{name}.txt").write_text(
            "".join(f"{i}\n" for i in ids), encoding="utf-8")

    manifest = {"version": MANIFEST_VERSION, **params, "classes": list(CLASSES),
                "counts": {split: counts[split] * len(CLASSES) for split in SPLITS},
                "encodings": {enc: sum(f["encoding"] == enc for f in files) for enc in ENCODINGS},
                "files": files}
    _write_json(root / MANIFEST_NAME, manifest)      # last: its presence marks completion
    if verbose:
        print(f"Demo dataset written to {root} ({len(files)} images)")
    return root


# --------------------------------------------------------------------------- detection scenes

DETECTION_DIR = "detection"
DET_MIN_SIDE, DET_MAX_SIDE = 160, 320   # image width / height range (inclusive)
DET_MAX_OBJECTS = 6
DET_SIZE = (0.06, 0.6)                  # object extent / shorter side, drawn log-uniformly
DET_MIN_VISIBLE = 0.5                   # share of an object's area left visible by later ones
DIFFICULT_VISIBLE = 0.7                 # flagged difficult below this visible share ...
DIFFICULT_SIDE = 16                     # ... or when the larger box side is under 16 pixels
# COCO category id of each class: deliberately not 1..5 (COCO's own ids have gaps), so that
# the mapping between contiguous labels and category ids is exercised.
COCO_CATEGORY_IDS: Tuple[int, ...] = (1, 2, 4, 7, 9)
DET_SETS: Tuple[str, ...] = ("train", "val", "test")
_DET_OUTPUT_DIRS = ("VOCdevkit", "annotations")
_TAG_DET_SCENE, _TAG_DET_ENCODING = 2, 3


def make_detection_scene(rng: np.random.Generator) -> Tuple[np.ndarray, List[dict]]:
    """Draw one detection scene: 1 to DET_MAX_OBJECTS shapes of random classes and sizes.

    Objects may overlap; a later object never hides more than ``1 - DET_MIN_VISIBLE`` of an
    earlier one. Returns the uint8 RGB image and its objects in drawing order, each
    ``{"name", "bbox": [xmin, ymin, xmax, ymax] 1-based inclusive (visible part),
    "difficult"}``; an object is difficult when less than DIFFICULT_VISIBLE of it is visible or
    its box's larger side is under DIFFICULT_SIDE pixels.
    """
    width = int(rng.integers(DET_MIN_SIDE, DET_MAX_SIDE + 1))
    height = int(rng.integers(DET_MIN_SIDE, DET_MAX_SIDE + 1))
    short = min(width, height)
    img = make_background(rng, width, height)
    n = int(rng.integers(1, DET_MAX_OBJECTS + 1))
    placed: List[Tuple[str, np.ndarray]] = []       # (class, full coverage)
    visible: List[np.ndarray] = []
    log_lo, log_hi = np.log(DET_SIZE[0]), np.log(DET_SIZE[1])
    for _ in range(n):
        cls = CLASSES[int(rng.integers(len(CLASSES)))]
        shape = random_shape(cls, rng)
        size = float(np.exp(rng.uniform(log_lo, log_hi))) * short
        for _ in range(20):
            alpha = render_alpha(shape, _place(rng, shape, size, width, height), size,
                                 width, height)
            if tight_box(alpha) is None:
                continue
            after = [v * (1 - alpha) for v in visible]
            if all(a.sum() >= DET_MIN_VISIBLE * full.sum()
                   for a, (_, full) in zip(after, placed)):
                placed.append((cls, alpha))
                visible = after + [alpha]
                break
    objects = []
    for (cls, alpha), vis in zip(placed, visible):
        _paint(img, alpha, rng)
        box = tight_box(vis)
        if box is None:       # cannot happen with DET_MIN_VISIBLE >= 0.5, kept as a guard
            continue
        share = float(vis.sum() / alpha.sum())
        side = max(box[2] - box[0], box[3] - box[1]) + 1
        objects.append({"name": cls, "bbox": box,
                        "difficult": bool(share < DIFFICULT_VISIBLE or side < DIFFICULT_SIDE)})
    return np.clip(np.round(img), 0, 255).astype(np.uint8), objects


def coco_annotations(entries: Sequence[dict], split: str) -> dict:
    """COCO instances dict of the detection ``entries`` (``bbox`` ``[x, y, w, h]`` in continuous
    pixels: a VOC box ``xmin..xmax`` becomes ``x = xmin - 1``, ``w = xmax - xmin + 1``)."""
    category = dict(zip(CLASSES, COCO_CATEGORY_IDS))
    images, annotations = [], []
    for e in entries:
        images.append({"id": int(e["id"]), "file_name": f"{e['id']}.jpg",
                       "width": e["width"], "height": e["height"]})
        for obj in e["objects"]:
            xmin, ymin, xmax, ymax = obj["bbox"]
            w, h = xmax - xmin + 1, ymax - ymin + 1
            annotations.append({"id": len(annotations) + 1, "image_id": int(e["id"]),
                                "category_id": category[obj["name"]],
                                "bbox": [xmin - 1, ymin - 1, w, h], "area": w * h,
                                "iscrowd": 0, "difficult": int(obj["difficult"])})
    return {"info": {"description": f"jpeg_deep demo shapes, detection {split}"},
            "licenses": [], "images": images, "annotations": annotations,
            "categories": [{"id": c, "name": n, "supercategory": "shape"}
                           for n, c in zip(CLASSES, COCO_CATEGORY_IDS)]}


def _det_is_complete(folder: Path, params: dict) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("version") != MANIFEST_VERSION or manifest.get("classes") != list(CLASSES):
        return False
    if any(manifest.get(k) != v for k, v in params.items()):
        return False
    return all((folder / f"annotations/instances_{s}.json").is_file() for s in DET_SETS) and \
        all((folder / f[k]).is_file() for f in manifest.get("files", [])
            for k in ("voc_path", "annotation"))


def make_demo_detection_dataset(root, seed: int = 0, train: int = 300, val: int = 60,
                                test: int = 100, force: bool = False,
                                verbose: bool = True, keep_existing: bool = False) -> Path:
    """Write the demo detection scenes under ``root/detection`` and return that folder::

        <root>/detection/
          manifest.json                         parameters, counts, one entry per scene
          VOCdevkit/VOC2007/
            JPEGImages/<id>.jpg
            Annotations/<id>.xml                1-based inclusive boxes, <difficult> flags
            ImageSets/Main/{train,val,trainval,test}.txt
          annotations/instances_{train,val,test}.json
                                                COCO format, the same scenes; file_name is
                                                relative to VOCdevkit/VOC2007/JPEGImages

    ``train``, ``val``, ``test``: scenes per set (see :func:`make_detection_scene`); ids run
    ``000001``... over train, val, then test. COCO category ids are COCO_CATEGORY_IDS, image
    ids the integer file ids; an annotation's extra ``"difficult"`` field carries the VOC flag.
    Files are encoded as in the classification demo (mostly baseline 4:2:0, quality 90).
    Deterministic: each scene has its own generator seeded by (seed, set, index). Nothing is
    written when the folder holds a complete set made with the same parameters, unless
    ``force``; with ``keep_existing`` a complete set made with *other* parameters is kept too
    (what the demo configs do). The classification demo in ``root`` is left alone.
    """
    folder = Path(root) / DETECTION_DIR
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    counts = {"train": train, "val": val, "test": test}
    if any(int(c) != c or c < 0 for c in counts.values()):
        raise ValueError(f"scene counts must be non-negative integers, got {counts}")
    seed, counts = int(seed), {k: int(v) for k, v in counts.items()}
    params = {"seed": seed, "scenes": counts}
    if keep_existing and not force:
        try:
            manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
            existing = {k: manifest[k] for k in ("seed", "scenes")}
        except (OSError, ValueError, KeyError, TypeError):
            existing = None
        if existing is not None and _det_is_complete(folder, existing):
            if verbose:
                print(f"Using the demo detection scenes already in {folder} "
                      f"({existing['scenes']}; python -m jpeg_deep.demo --force rewrites them)")
            return folder
    if not force and _det_is_complete(folder, params):
        if verbose:
            print(f"Demo detection dataset already present in {folder} "
                  "(pass force=True to rewrite)")
        return folder

    _prepare_root(folder, _DET_OUTPUT_DIRS)
    voc = folder / "VOCdevkit" / "VOC2007"
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (voc / sub).mkdir(parents=True, exist_ok=True)
    (folder / "annotations").mkdir()

    files: List[dict] = []
    with tqdm(total=sum(counts.values()), desc="demo detection", unit="img",
              disable=not verbose) as bar:
        for set_idx, name in enumerate(DET_SETS):
            encodings = plan_encodings(counts[name],
                                       np.random.default_rng([seed, _TAG_DET_ENCODING, set_idx]))
            for i in range(counts[name]):
                image, objects = make_detection_scene(
                    np.random.default_rng([seed, _TAG_DET_SCENE, set_idx, i]))
                height, width = image.shape[:2]
                image_id = f"{len(files) + 1:06d}"
                data = encode_jpeg(image, encodings[i])
                entry = {"id": image_id, "split": name, "width": width, "height": height,
                         "encoding": encodings[i], "num_bytes": len(data),
                         "voc_path": f"VOCdevkit/VOC2007/JPEGImages/{image_id}.jpg",
                         "annotation": f"VOCdevkit/VOC2007/Annotations/{image_id}.xml",
                         "objects": objects}
                (folder / entry["voc_path"]).write_bytes(data)
                write_voc_annotation(folder / entry["annotation"], image_id, width, height,
                                     objects)
                files.append(entry)
                bar.update()

    sets = {name: [f for f in files if f["split"] == name] for name in DET_SETS}
    sets["trainval"] = sets["train"] + sets["val"]
    for name, entries in sets.items():
        (voc / "ImageSets" / "Main" / f"{name}.txt").write_text(
            "".join(f"{e['id']}\n" for e in entries), encoding="utf-8")
    for name in DET_SETS:
        _write_json(folder / "annotations" / f"instances_{name}.json",
                    coco_annotations(sets[name], name))
    objects = [o for f in files for o in f["objects"]]
    manifest = {"version": MANIFEST_VERSION, **params, "classes": list(CLASSES),
                "coco_category_ids": list(COCO_CATEGORY_IDS),
                "objects": len(objects), "difficult": sum(o["difficult"] for o in objects),
                "files": files}
    _write_json(folder / MANIFEST_NAME, manifest)      # last: its presence marks completion
    if verbose:
        print(f"Demo detection dataset written to {folder} ({len(files)} images, "
              f"{len(objects)} objects)")
    return folder


def make_demo_data(root=DEMO_ROOT, verbose: bool = True) -> Path:
    """Write the data the demo configs (``config/demo/``) read: the shapes (200 / 30 / 20
    images per class) and the detection scenes (600 / 60 / 100); what is already there is
    kept, whatever its counts (a few seconds the first time, nothing afterwards)."""
    make_demo_dataset(root, train_per_class=200, val_per_class=30, test_per_class=20,
                      keep_existing=True, verbose=verbose)
    make_demo_detection_dataset(root, train=600, val=60, test=100, keep_existing=True,
                                verbose=verbose)
    return Path(root)


# --------------------------------------------------------------------------- CLI

def main(argv: Optional[Sequence[str]] = None) -> Path:
    parser = argparse.ArgumentParser(
        prog="python -m jpeg_deep.demo",
        description="Write a small synthetic shapes dataset in ImageNet and Pascal VOC layouts "
                    "(and, with --detection, multi-object scenes in VOC and COCO layouts).")
    parser.add_argument("root", help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--per-class-train", type=int, default=60, metavar="N",
                        help="training images per class (default: 60)")
    parser.add_argument("--per-class-val", type=int, default=15, metavar="N",
                        help="validation images per class (default: 15)")
    parser.add_argument("--per-class-test", type=int, default=10, metavar="N",
                        help="test images per class (default: 10)")
    parser.add_argument("--detection", action="store_true",
                        help="also write the detection scenes under ROOT/detection")
    parser.add_argument("--scenes", type=int, nargs=3, default=(300, 60, 100),
                        metavar=("TRAIN", "VAL", "TEST"),
                        help="detection scenes per set (default: 300 60 100)")
    parser.add_argument("--force", action="store_true", help="rewrite an existing dataset")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or status line")
    args = parser.parse_args(argv)
    try:
        root = make_demo_dataset(args.root, seed=args.seed, train_per_class=args.per_class_train,
                                 val_per_class=args.per_class_val,
                                 test_per_class=args.per_class_test, force=args.force,
                                 verbose=not args.quiet)
        if args.detection:
            make_demo_detection_dataset(args.root, args.seed, *args.scenes, force=args.force,
                                        verbose=not args.quiet)
        return root
    except (ValueError, FileExistsError) as err:
        parser.error(str(err))


if __name__ == "__main__":
    main()
