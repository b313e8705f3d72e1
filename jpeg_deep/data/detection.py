"""Detection data: Pascal VOC and MS-COCO annotations, and the SSD transforms with boxes.

Boxes
-----
Every box is ``float32 [xmin, ymin, xmax, ymax]`` in **continuous pixel coordinates**: the image
spans ``[0, width] x [0, height]`` and pixel ``(i, j)`` (0-based column, row) covers
``[i, i+1) x [j, j+1)``. COCO ``bbox`` values ``[x, y, w, h]`` are already in this system
(``-> [x, y, x+w, y+h]``). VOC XML holds 1-based *inclusive* integer pixel indices (a box on the
whole image is ``1, 1, W, H``), so a VOC box becomes ``[xmin-1, ymin-1, xmax, ymax]`` (its width is
``xmax - xmin + 1`` pixels); :func:`to_voc_pixels` gives the XML values back (for devkit
submission files). Keeping the raw 1-based numbers as continuous coordinates would shift every box
by one pixel to the right and down and make a one-pixel-wide box zero-sized; with one convention,
flips (``x -> W - x``) and resizes (``x -> x * s``) are exact and VOC and COCO boxes of the same
scene are identical.

Samples
-------
A dataset is a tuple of :class:`DetectionSample`: ``path``, ``image_id`` (VOC: the file stem,
e.g. ``"000005"``; COCO: the integer image id), ``width``, ``height``, ``boxes`` ``(K, 4)``
float32, ``labels`` ``(K,)`` int32 in ``1..C`` (0 is the background), ``difficult`` ``(K,)`` bool.
VOC "difficult" boxes are kept and flagged (training keeps them as positives; the VOC evaluation
ignores them). COCO crowd boxes are not training targets and are left out of ``boxes`` (the COCO
evaluation reads them from the original json).

What scanning does with bad annotations
---------------------------------------
A scan checks every listed image and annotation before it decides anything. Structural
errors (a devkit folder, image set file or COCO json missing or unreadable) raise
:class:`DatasetError` at once. Problems of single images and annotations (``problem`` below)
are collected, each with its kind, file and reason, and reported together: a line per kind with
its count and first files, and every one of them in a TSV file under
``$JPEG_DEEP_CACHE/problems/`` (the message gives the path). Then ``on_error="stop"`` (the
default) raises :class:`~jpeg_deep.data.datasets.DatasetProblems` (the training scripts exit 2
before making any folder) and ``on_error="skip"`` leaves the images with a problem out, counted
in the dataset's ``skipped`` (``{kind: [ids]}``; ``summary.json`` records it). Known quirks of
real datasets are not problems: they are handled and counted in ``skipped`` (image ids for
images, COCO annotation ids for boxes).

=============================================  ============================================
case                                           outcome
=============================================  ============================================
VOC: image set file missing                    error
VOC: ``<id>.jpg`` missing / header unreadable  problem ``missing_image`` / ``unreadable_image``
(``verify=True``: not entropy-decodable)
VOC: ``Annotations/<id>.xml`` missing, not     problem ``missing_annotation``,
XML, an object without ``<name>``, a missing   ``malformed_xml``, ``no_class_name``,
/ non-numeric ``<bndbox>`` coordinate          ``bad_box_coordinates`` (``annotations=False``
                                               reads no XML: for sets without public labels,
                                               e.g. VOC2012 test)
VOC: ``<size>`` differs from the JPEG's size   problem ``size_mismatch`` (no ``<size>``: the
                                               JPEG header is the truth)
VOC: class name not in ``class_names``         problem ``unknown_class``
VOC: box one pixel past the border (``0`` or   clipped, counted as ``"clipped_box"``
``width + 1``, a quirk of real files)
VOC: box further outside the image             problem ``box_outside_image``
VOC: box of zero or negative size              problem ``degenerate_box``
(``xmax < xmin`` or ``ymax < ymin``;
``xmax == xmin`` is one pixel wide)
VOC: ``<difficult>`` not 0 or 1 (absent: 0)    problem ``bad_difficult``
VOC: the same image id twice                   problem ``duplicate_id``
image with no object (COCO: no non-crowd box)  with ``skip_empty=True`` (training): skipped,
                                               ``"no_objects"``; else kept (it still
                                               counts for false positives)
COCO: json missing or not COCO                 error
COCO: image file missing (``verify=True``:     problem ``missing_image``
not entropy-decodable)                         (``unreadable_image``)
COCO: annotation of an unknown category or     problem ``unknown_category`` /
image, ``bbox`` not four numbers               ``unknown_image`` / ``bad_box_coordinates``
COCO: box of zero or negative width or height  skipped, ``"degenerate_box"`` (real COCO
                                               files can hold a few)
COCO: box more than 1 pixel outside the image  problem ``box_outside_image``; up to 1 pixel
                                               (float rounding): clipped, counted as
                                               ``"clipped_box"``
COCO: crowd box (``iscrowd=1``)                not a training target, ``"crowd_box"``
=============================================  ============================================

Transforms
----------
:func:`make_detection_transform` returns the SSD training augmentation (photometric distortions,
zoom-out, IoU-constrained crop, flip, resize) or the evaluation resize, as a callable
``(rgb, boxes, labels, rng) -> (rgb, boxes, labels)``; see :class:`SSDAugmentation`. The
result is re-encoded with :func:`jpeg_deep.data.augmentation.encode_jpeg` at
``DetectionTransformConfig.quality`` (75 for detection) before the DCT read.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import logging
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from jpeg_deep.data.datasets import (DatasetError, ProblemReport, _cache_dir,
                                     settle_problems, verify_jpeg)

logger = logging.getLogger(__name__)

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
    "tvmonitor",
)
_VOC_CACHE_VERSION = 2


# --------------------------------------------------------------------------------- samples

@dataclass(frozen=True, eq=False)
class DetectionSample:
    """One image and its boxes (continuous pixel coordinates, see the module docstring)."""

    path: Path
    image_id: object      # VOC: file stem (str); COCO: image id (int)
    width: int
    height: int
    boxes: np.ndarray     # (K, 4) float32 xmin, ymin, xmax, ymax
    labels: np.ndarray    # (K,) int32 in 1..C
    difficult: np.ndarray  # (K,) bool

    def __eq__(self, other):
        if not isinstance(other, DetectionSample):
            return NotImplemented
        return (self.path, self.image_id, self.width, self.height) == \
            (other.path, other.image_id, other.width, other.height) and \
            np.array_equal(self.boxes, other.boxes) and \
            np.array_equal(self.labels, other.labels) and \
            np.array_equal(self.difficult, other.difficult)


def _sample(path, image_id, width, height, boxes, labels, difficult) -> DetectionSample:
    return DetectionSample(Path(path), image_id, int(width), int(height),
                           np.asarray(boxes, np.float32).reshape(-1, 4),
                           np.asarray(labels, np.int32).reshape(-1),
                           np.asarray(difficult, bool).reshape(-1))


def to_voc_pixels(boxes) -> np.ndarray:
    """VOC 1-based inclusive ``xmin, ymin, xmax, ymax`` of continuous-coordinate boxes."""
    boxes = np.asarray(boxes, np.float64).copy()
    boxes[..., :2] += 1
    return boxes


@dataclass(frozen=True)
class DetectionDataset:
    """Samples plus the class names (label ``i`` is ``class_names[i - 1]``; 0 is background)."""

    samples: tuple
    class_names: tuple
    skipped: dict = field(default_factory=dict)   # reason -> image ids (boxes: annotation ids)

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i) -> DetectionSample:
        return self.samples[i]

    @property
    def num_classes(self) -> int:
        """Object classes, background not included."""
        return len(self.class_names)

    def path(self, i: int) -> Path:
        return self.samples[i].path

    def target(self, i: int) -> DetectionSample:
        """The sample itself: its boxes travel through the transforms with the image."""
        return self.samples[i]

    def shard(self, index: int, count: int):
        """Every ``count``-th sample starting at ``index`` (one worker's part of the data)."""
        if not 0 <= index < count:
            raise ValueError(f"shard index {index} not in [0, {count})")
        return dataclasses.replace(self, samples=tuple(self.samples[index::count]))


def _count_skip(skipped: dict, reason: str, image_id) -> None:
    skipped.setdefault(reason, []).append(image_id)


def _log_skips(name, skipped: dict) -> None:
    for reason, ids in skipped.items():
        logger.info("%s: %d %s (e.g. %s)", name, len(ids), reason.replace("_", " "), ids[:3])


# --------------------------------------------------------------------------------- VOC

def voc_splits(name: str, held_out: bool = False) -> dict:
    """Image sets ``(year, set)`` that the VOC protocol ``name`` trains, validates and tests on.

    Published protocols (default; the numbers papers report):

    ==========  =====================================  ==================  ===================
    protocol    train                                  val                 test
    ==========  =====================================  ==================  ===================
    ``07``      VOC2007 trainval                       VOC2007 val         VOC2007 test
    ``07+12``   VOC2007 trainval + VOC2012 trainval    VOC2007 val         VOC2007 test
    ``07++12``  VOC2007 trainval + VOC2007 test +      VOC2012 val         VOC2012 test
                VOC2012 trainval
    ==========  =====================================  ==================  ===================

    Their ``val`` set is part of the training data (the test set must not steer training): a
    validation mAP on it shows progress but is not a held-out score. ``held_out=True`` gives
    protocols that keep the validation images out of training (the original jpeg_deep code's
    splits; lower test scores):

    ==========  =====================================  ==================  ===================
    ``07``      VOC2007 train                          VOC2007 val         VOC2007 test
    ``07+12``   VOC2007 train + VOC2012 train          VOC2007 val +       VOC2007 test
                                                       VOC2012 val
    ``07++12``  VOC2007 trainval + VOC2012 trainval    VOC2007 test        VOC2012 test
    ==========  =====================================  ==================  ===================

    VOC2012 test has no public annotations: scan it with ``annotations=False`` and submit the
    devkit result files to the evaluation server. Returns ``{"train": [...], "val": [...],
    "test": [...]}``, each a list of ``(year, set)`` pairs.
    """
    published = {
        "07": {"train": [("VOC2007", "trainval")], "val": [("VOC2007", "val")],
               "test": [("VOC2007", "test")]},
        "07+12": {"train": [("VOC2007", "trainval"), ("VOC2012", "trainval")],
                  "val": [("VOC2007", "val")], "test": [("VOC2007", "test")]},
        "07++12": {"train": [("VOC2007", "trainval"), ("VOC2007", "test"),
                             ("VOC2012", "trainval")],
                   "val": [("VOC2012", "val")], "test": [("VOC2012", "test")]},
    }
    separate = {
        "07": {"train": [("VOC2007", "train")], "val": [("VOC2007", "val")],
               "test": [("VOC2007", "test")]},
        "07+12": {"train": [("VOC2007", "train"), ("VOC2012", "train")],
                  "val": [("VOC2007", "val"), ("VOC2012", "val")],
                  "test": [("VOC2007", "test")]},
        "07++12": {"train": [("VOC2007", "trainval"), ("VOC2012", "trainval")],
                   "val": [("VOC2007", "test")], "test": [("VOC2012", "test")]},
    }
    table = separate if held_out else published
    if name not in table:
        raise ValueError(f"unknown VOC protocol {name!r}; expected one of {', '.join(table)}")
    return {k: list(v) for k, v in table[name].items()}


def _voc_error(path, what, kind="error") -> DatasetError:
    return DatasetError(f"{path}: {what}", kind)


def read_voc_annotation(xml_path, class_index: dict, image_size):
    """``(boxes, labels, difficult, clipped, problems)`` of one VOC XML file: boxes in
    continuous pixels, ``clipped`` the number of boxes one pixel past the border that were
    clipped (a quirk of real annotations, not an error), ``problems`` every ``(kind, reason)``
    found in the file (see the module table; empty when it is usable). ``image_size`` None
    (the image is missing): what needs it (``<size>``, the border) is not checked."""
    xml_path = Path(xml_path)
    if not xml_path.is_file():
        return [], [], [], 0, [("missing_annotation", "annotation file missing (every listed "
                                "image needs one; scan with annotations=False for a set without "
                                "labels)")]
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as err:
        return [], [], [], 0, [("malformed_xml", f"not well-formed XML ({err})")]
    if root.tag != "annotation":
        return [], [], [], 0, [("malformed_xml",
                                f"root element is <{root.tag}>, expected <annotation>")]
    problems = []
    width, height = image_size if image_size is not None else (None, None)
    size = root.find("size")
    if size is not None and width is not None:
        try:
            xml_size = (int(float(size.findtext("width"))), int(float(size.findtext("height"))))
        except (TypeError, ValueError):
            problems.append(("bad_size", "<size> without numeric <width> and <height>"))
        else:
            if xml_size != (width, height):
                problems.append(("size_mismatch", f"<size> says {xml_size[0]}x{xml_size[1]} "
                                 f"but the image is {width}x{height}"))
    boxes, labels, difficult, clipped = [], [], [], 0
    for k, obj in enumerate(root.findall("object")):
        name = (obj.findtext("name") or "").strip()
        where = f"object {k} ({name or 'no name'})"
        if not name:
            problems.append(("no_class_name", f"object {k} has no <name>"))
            continue
        if name not in class_index:
            problems.append(("unknown_class", f"{where}: unknown class {name!r} (known: "
                             f"{', '.join(class_index)}); pass class_names to scan"))
            continue
        try:
            xmin, ymin, xmax, ymax = (float(obj.findtext(f"bndbox/{c}"))
                                      for c in ("xmin", "ymin", "xmax", "ymax"))
        except (TypeError, ValueError):
            problems.append(("bad_box_coordinates", f"{where}: <bndbox> needs numeric xmin, "
                             "ymin, xmax, ymax"))
            continue
        box = f"box ({xmin:g}, {ymin:g}, {xmax:g}, {ymax:g})"
        if xmin < 0 or ymin < 0 or (width is not None and (xmax > width + 1
                                                            or ymax > height + 1)):
            image = ("the image (negative coordinates)" if width is None else
                     f"the {width}x{height} image (VOC boxes are 1-based, 1 <= x <= {width}, "
                     f"1 <= y <= {height}; one pixel past the border is clipped)")
            problems.append(("box_outside_image", f"{where}: {box} lies outside {image}"))
            continue
        if xmin < 1 or ymin < 1 or (width is not None and (xmax > width or ymax > height)):
            xmin, ymin = max(xmin, 1.0), max(ymin, 1.0)  # one pixel past the border: clipped
            if width is not None:
                xmax, ymax = min(xmax, float(width)), min(ymax, float(height))
            clipped += 1
        if xmax < xmin or ymax < ymin:
            problems.append(("degenerate_box", f"{where}: {box} has zero or negative size"))
            continue
        flag = (obj.findtext("difficult") or "0").strip()
        if flag not in ("0", "1"):
            problems.append(("bad_difficult", f"{where}: <difficult> is {flag!r}, expected 0 "
                             "or 1"))
            continue
        boxes.append((xmin - 1, ymin - 1, xmax, ymax))
        labels.append(class_index[name])
        difficult.append(flag == "1")
    return boxes, labels, difficult, clipped, problems


def parse_voc_annotation(xml_path, class_index: dict, image_size):
    """Boxes (continuous pixels), labels and difficult flags of one VOC XML file.

    ``class_index`` maps class names to labels 1..C; ``image_size`` is the JPEG's (width,
    height). Raises :class:`DatasetError` naming the file for the first problem of the module
    table (:func:`read_voc_annotation` returns them all)."""
    boxes, labels, difficult, _, problems = read_voc_annotation(xml_path, class_index,
                                                                image_size)
    if problems:
        kind, reason = problems[0]
        raise _voc_error(xml_path, reason, kind)
    return boxes, labels, difficult


def _image_size(path: Path):
    """``((width, height), None)`` from the image header, or ``(None, (kind, reason))``."""
    if not path.is_file():
        return None, ("missing_image", "image file missing")
    try:
        with Image.open(path) as im:
            return im.size, None
    except (OSError, ValueError) as err:
        return None, ("unreadable_image", f"cannot read the image header ({err})")


@dataclass(frozen=True)
class VOCDataset(DetectionDataset):
    """Pascal VOC images of one or several ``(year, image set)`` of a devkit."""

    root: Path = None             # the VOCdevkit folder
    image_sets: tuple = ()

    @classmethod
    def scan(cls, devkit_root, image_sets=(("VOC2007", "trainval"), ("VOC2012", "trainval")), *,
             class_names=VOC_CLASSES, annotations: bool = True, skip_empty: bool = False,
             cache: bool = True, progress: bool = True, on_error: str = "stop",
             verify: bool = False) -> "VOCDataset":
        """Read ``devkit_root/<year>/ImageSets/Main/<set>.txt`` and the listed images'
        ``Annotations/<id>.xml`` (see the module docstring for the error table).

        ``class_names``: labels 1..C in this order (default: the 20 VOC classes, alphabetical).
        ``annotations=False``: no XML is read (sets without public labels); samples have no box.
        ``skip_empty``: leave out images without objects (training), counted in ``skipped``.
        Every image and annotation is checked before anything is decided: the problems are
        reported together (a line per kind with its count and first files; all of them in a
        TSV file under ``$JPEG_DEEP_CACHE/problems/``); ``on_error="stop"`` then raises
        :class:`~jpeg_deep.data.datasets.DatasetProblems`, ``"skip"`` leaves the broken images
        out and counts them in ``skipped`` by kind. ``verify``: entropy-decode every image too
        (finds truncated and corrupt files; about a millisecond per image).
        The parsed samples are cached in ``$JPEG_DEEP_CACHE`` (default ``~/.cache/jpeg_deep``),
        keyed by the folders and the modification times of the image set files and of the
        ``Annotations`` / ``JPEGImages`` folders (editing an XML in place: pass ``cache=False``);
        a scan that found problems is not reused (the user may have fixed them in place).
        """
        root = Path(devkit_root).expanduser().resolve()
        if not root.is_dir():
            raise DatasetError(f"VOC devkit folder {root} does not exist")
        image_sets = tuple((str(y), str(s)) for y, s in image_sets)
        if not image_sets:
            raise DatasetError("no image set given")
        class_names = tuple(class_names)
        if len(set(class_names)) != len(class_names) or "background" in class_names:
            raise ValueError(f"class names must be distinct and not 'background': {class_names}")
        class_index = {name: i + 1 for i, name in enumerate(class_names)}

        lists = []
        for year, name in image_sets:
            set_file = root / year / "ImageSets" / "Main" / f"{name}.txt"
            if not set_file.is_file():
                raise DatasetError(f"{set_file}: image set file missing (VOC devkit layout: "
                                   f"{root}/<year>/ImageSets/Main/<set>.txt)")
            ids = [line.split()[0] for line in set_file.read_text().splitlines() if line.strip()]
            lists.append((year, set_file, ids))

        key = _voc_cache_key(root, lists, class_names, annotations, verify)
        scanned = _load_voc_cache(key) if cache else None
        if scanned is not None and scanned["problems"]:
            scanned = None  # files fixed in place keep their folders' dates: scan them again
        if scanned is None:
            scanned = _scan_voc(root, lists, class_index, annotations, progress, verify)
            if cache:
                _save_voc_cache(key, scanned)
        records, problems = scanned["records"], scanned["problems"]
        report = ProblemReport(f"VOC {root} {', '.join('/'.join(s) for s in image_sets)}")
        skipped = {}
        for p in problems:
            report.add(p["kind"], root / p["file"], p["reason"])
            if p["id"] is not None and p["id"] not in skipped.get(p["kind"], ()):
                _count_skip(skipped, p["kind"], p["id"])
        settle_problems(report, on_error, f"voc-{key}")
        samples = []
        for r in records:
            for _ in range(r.get("clipped", 0)):
                _count_skip(skipped, "clipped_box", r["id"])
            if skip_empty and not r["boxes"]:
                _count_skip(skipped, "no_objects", r["id"])
                continue
            samples.append(_sample(root / r["path"], r["id"], r["width"], r["height"],
                                   r["boxes"], r["labels"], r["difficult"]))
        _log_skips(f"VOC {image_sets}", skipped)
        if not samples:
            raise DatasetError(f"{root}: no usable image in {image_sets}")
        return cls(tuple(samples), class_names, skipped, root, image_sets)


def _scan_voc(root, lists, class_index, annotations, progress, verify=False) -> dict:
    """``{"records": [usable images], "problems": [{"kind", "file", "reason", "id"}]}``:
    every listed image and its annotation checked; an image with a problem is not a record."""
    records, problems, seen = [], [], {}

    def problem(kind, file, reason, image_id):
        problems.append({"kind": kind, "file": str(Path(file).relative_to(root)),
                         "reason": reason, "id": image_id})

    total = sum(len(ids) for _, _, ids in lists)
    with tqdm(total=total, desc=f"scan {root.name}", unit="img", disable=not progress,
              leave=False) as bar:
        for year, set_file, ids in lists:
            for image_id in ids:
                bar.update()
                if image_id in seen:
                    problem("duplicate_id", set_file, f"image {image_id} listed twice (also in "
                            f"{seen[image_id]})", None)
                    continue
                seen[image_id] = set_file
                rel = f"{year}/JPEGImages/{image_id}.jpg"
                size, bad = _image_size(root / rel)
                width, height = size or (None, None)
                if bad:
                    kind, reason = bad
                    problem(kind, root / rel, reason, image_id)
                if width is not None and verify:
                    reason = verify_jpeg(root / rel)
                    if reason:
                        problem("unreadable_image", root / rel, reason, image_id)
                boxes, labels, difficult, clipped = [], [], [], 0
                if annotations:  # without the image: what the XML says alone is checked
                    xml = root / year / "Annotations" / f"{image_id}.xml"
                    boxes, labels, difficult, clipped, found = read_voc_annotation(
                        xml, class_index, None if width is None else (width, height))
                    for kind, reason in found:
                        problem(kind, xml, reason, image_id)
                if problems and problems[-1]["id"] == image_id:  # a problem of this image
                    continue
                records.append({"id": image_id, "path": rel, "width": width, "height": height,
                                "boxes": boxes, "labels": labels, "difficult": difficult,
                                "clipped": clipped})
    return {"records": records, "problems": problems}


def _voc_cache_key(root, lists, class_names, annotations, verify=False) -> str:
    h = hashlib.sha1(f"{_VOC_CACHE_VERSION}|{root}|{class_names}|{annotations}|{verify}"
                     .encode())
    for year, set_file, _ in lists:
        for p in (set_file, root / year / "Annotations", root / year / "JPEGImages"):
            try:
                h.update(f"|{p}:{os.stat(p).st_mtime_ns}".encode())
            except FileNotFoundError:
                h.update(f"|{p}:-".encode())
    return h.hexdigest()


def _load_voc_cache(key):
    try:
        scanned = json.loads((_cache_dir() / "voc" / f"{key}.json").read_text())
        return {"records": scanned["records"], "problems": scanned["problems"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save_voc_cache(key, scanned):
    folder = _cache_dir() / "voc"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{key}.json.tmp{os.getpid()}"
        tmp.write_text(json.dumps(scanned))
        tmp.replace(folder / f"{key}.json")
    except OSError as err:  # a read-only home must not stop training
        logger.info("VOC annotation cache not written: %s", err)


# --------------------------------------------------------------------------------- COCO

@dataclass(frozen=True)
class COCODataset(DetectionDataset):
    """MS-COCO images of one annotation file; labels 1..C are the categories sorted by id."""

    annotation_file: Path = None
    image_dir: Path = None
    category_ids: tuple = ()      # category_ids[label - 1] is the original COCO category id

    @classmethod
    def scan(cls, annotation_json, image_dir, *, skip_empty: bool = False,
             progress: bool = True, on_error: str = "stop", verify: bool = False
             ) -> "COCODataset":
        """Read a COCO ``instances_*.json`` with pycocotools; images are ``image_dir/file_name``.

        Categories sorted by COCO id become labels 1..C (``category_ids`` maps back). Crowd boxes
        are left out of the samples; ``skip_empty`` leaves out images without a box (training).
        An annotation's optional ``"difficult": 1`` (written by the demo) sets the flag.
        Every image and annotation is checked first and the problems reported together, as
        for VOC (``on_error``, ``verify``: see :meth:`VOCDataset.scan`); a broken annotation
        takes its image out with ``"skip"``.
        """
        from pycocotools.coco import COCO

        annotation_json = Path(annotation_json).expanduser().resolve()
        image_dir = Path(image_dir).expanduser().resolve()
        if not annotation_json.is_file():
            raise DatasetError(f"{annotation_json}: COCO annotation file missing")
        if not image_dir.is_dir():
            raise DatasetError(f"{image_dir}: COCO image folder missing")
        try:
            raw = json.loads(annotation_json.read_text())
        except (OSError, ValueError) as err:
            raise DatasetError(f"{annotation_json}: not a JSON file ({err})") from None
        missing = [k for k in ("images", "annotations", "categories")
                   if not isinstance(raw, dict) or k not in raw]
        if missing:
            raise DatasetError(f"{annotation_json}: not a COCO instances file (no "
                               f"{', '.join(missing)})")
        coco = COCO()
        coco.dataset = raw
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # createIndex prints progress
                coco.createIndex()
        except (KeyError, TypeError) as err:
            raise DatasetError(f"{annotation_json}: malformed COCO entry ({err!r})") from None

        category_ids = tuple(sorted(coco.getCatIds()))
        label_of = {cid: i + 1 for i, cid in enumerate(category_ids)}
        class_names = tuple(coco.cats[c]["name"] for c in category_ids)
        report = ProblemReport(f"COCO {annotation_json}")
        skipped, broken = {}, set()

        def problem(kind, file, reason, image_id=None):
            report.add(kind, file, reason)
            if image_id is not None and image_id in coco.imgs:
                broken.add(image_id)
                if image_id not in skipped.get(kind, ()):
                    _count_skip(skipped, kind, image_id)

        for ann in raw["annotations"]:
            where = f"annotation {ann.get('id')} (image {ann.get('image_id')})"
            if ann.get("image_id") not in coco.imgs:
                problem("unknown_image", annotation_json,
                        f"annotation {ann.get('id')} refers to unknown image {ann.get('image_id')}")
            elif ann.get("category_id") not in label_of:
                problem("unknown_category", annotation_json,
                        f"{where} has unknown category {ann.get('category_id')}",
                        ann.get("image_id"))

        samples = []
        for image_id in tqdm(sorted(coco.imgs), desc=f"scan {annotation_json.name}", unit="img",
                             disable=not progress, leave=False):
            info = coco.imgs[image_id]
            path = image_dir / info["file_name"]
            if not path.is_file():
                problem("missing_image", path, f"image file missing (image {image_id} of "
                        f"{annotation_json.name})", image_id)
                continue
            if verify:
                reason = verify_jpeg(path)
                if reason:
                    problem("unreadable_image", path, reason, image_id)
            width, height = int(info["width"]), int(info["height"])
            boxes, labels, difficult = [], [], []
            for ann in coco.imgToAnns.get(image_id, []):
                where = f"annotation {ann['id']} (image {image_id})"
                if ann.get("category_id") not in label_of:
                    continue  # reported above
                if ann.get("iscrowd", 0):
                    _count_skip(skipped, "crowd_box", ann["id"])
                    continue
                try:
                    x, y, w, h = (float(v) for v in ann["bbox"])
                except (KeyError, TypeError, ValueError):
                    problem("bad_box_coordinates", annotation_json,
                            f"{where}: bbox must be [x, y, w, h], not {ann.get('bbox')!r}",
                            image_id)
                    continue
                if not (w > 0 and h > 0):
                    _count_skip(skipped, "degenerate_box", ann["id"])
                    continue
                box = np.array([x, y, x + w, y + h])
                limit = np.array([0, 0, width, height])
                if (box[:2] < -1).any() or (box[2:] > limit[2:] + 1).any():
                    problem("box_outside_image", annotation_json,
                            f"{where}: bbox {ann['bbox']} lies outside the {width}x{height} "
                            "image", image_id)
                    continue
                clipped = np.clip(box, 0, [width, height, width, height])
                if not np.array_equal(clipped, box):
                    _count_skip(skipped, "clipped_box", ann["id"])
                    if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
                        _count_skip(skipped, "degenerate_box", ann["id"])
                        continue
                boxes.append(clipped)
                labels.append(label_of[ann["category_id"]])
                difficult.append(bool(ann.get("difficult", 0)))
            if image_id in broken:
                continue
            if skip_empty and not boxes:
                _count_skip(skipped, "no_objects", image_id)
                continue
            samples.append(_sample(path, image_id, width, height, boxes, labels, difficult))
        key = hashlib.sha1(f"{annotation_json}|{image_dir}".encode()).hexdigest()
        settle_problems(report, on_error, f"coco-{key}")
        _log_skips(str(annotation_json), skipped)
        if not samples:
            raise DatasetError(f"{annotation_json}: no usable image")
        return cls(tuple(samples), class_names, skipped, annotation_json, image_dir,
                   category_ids)


# --------------------------------------------------------------------------------- transforms

SSD_MEAN_RGB = (123, 117, 104)   # zoom-out canvas fill
CROP_MIN_IOUS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9)   # 0.0: any overlap
_INTERPOLATIONS = (cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_AREA,
                   cv2.INTER_LANCZOS4)


@dataclass(frozen=True)
class DetectionTransformConfig:
    """Network input side (square, pixels), JPEG re-encoding quality and the zoom-out fill."""

    input_size: int = 300
    quality: int = 75
    mean: tuple = SSD_MEAN_RGB
    max_expand: float = 4.0
    min_box_size: float = 1.0     # boxes narrower or lower than this (output pixels) are dropped

    def __post_init__(self):
        object.__setattr__(self, "mean", tuple(int(v) for v in self.mean))  # hashable
        if self.input_size < 1:
            raise ValueError(f"input_size must be positive, not {self.input_size}")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"JPEG quality must be in 1..100, not {self.quality}")
        if self.max_expand < 1:
            raise ValueError(f"max_expand must be >= 1, not {self.max_expand}")


def box_iou(boxes, box) -> np.ndarray:
    """IoU of each of ``boxes`` (K, 4) with one ``box`` (continuous coordinates)."""
    boxes = np.asarray(boxes, np.float64)
    iw = np.maximum(np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0]), 0)
    ih = np.maximum(np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1]), 0)
    inter = iw * ih
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / (area + (box[2] - box[0]) * (box[3] - box[1]) - inter)


def photometric_params(rng: np.random.Generator) -> dict:
    """The random parameters of :func:`photometric_distort`, drawn in its order:
    ``{"order_a": bool, "brightness": delta or None, "contrast": factor or None,
    "saturation": factor or None, "hue": shift (OpenCV hue units) or None}`` (None: step not
    applied). Shared by the RGB chain and the DCT-domain one
    (:mod:`jpeg_deep.data.dct_detection`)."""
    order_a = rng.random() < 0.5
    p = {"order_a": bool(order_a)}
    p["brightness"] = rng.uniform(-32, 32) if rng.random() < 0.5 else None

    def contrast():
        p["contrast"] = rng.uniform(0.5, 1.5) if rng.random() < 0.5 else None

    def saturation_hue():
        do_sat, sat = rng.random() < 0.5, rng.uniform(0.5, 1.5)
        do_hue, hue = rng.random() < 0.5, rng.uniform(-18, 18)
        p["saturation"] = sat if do_sat else None
        p["hue"] = hue if do_hue else None

    if order_a:
        contrast()
        saturation_hue()
    else:
        saturation_hue()
        contrast()
    return p


def apply_photometric(rgb: np.ndarray, p: dict) -> np.ndarray:
    """:func:`photometric_distort` with the parameters ``p`` of :func:`photometric_params`."""
    def to_uint8(x):
        return np.clip(np.round(x), 0, 255).astype(np.uint8)

    def brightness(img):
        if p["brightness"] is not None:
            img = to_uint8(img.astype(np.float32) + p["brightness"])
        return img

    def contrast(img):
        if p["contrast"] is not None:
            img = to_uint8((img.astype(np.float32) - 127.5) * p["contrast"] + 127.5)
        return img

    def saturation_hue(img):
        if p["saturation"] is None and p["hue"] is None:
            return img
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        if p["saturation"] is not None:
            hsv[..., 1] = to_uint8(hsv[..., 1] * np.float32(p["saturation"]))
        if p["hue"] is not None:
            hsv[..., 0] = np.round(hsv[..., 0] + np.float32(p["hue"])).astype(np.int32) % 180
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)

    rgb = brightness(rgb)
    if p["order_a"]:
        return saturation_hue(contrast(rgb))
    return contrast(saturation_hue(rgb))


def photometric_distort(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Caffe SSD's colour distortions on a uint8 RGB image.

    With p 0.5 order A: brightness, contrast, saturation, hue; else order B: brightness,
    saturation, hue, contrast. Each step has p 0.5: brightness ``+U[-32, 32]``, contrast
    ``x U[0.5, 1.5]`` around 127.5, saturation ``x U[0.5, 1.5]``, hue ``+U[-18, 18]`` in OpenCV's
    0-180 hue units (mod 180). Values are clipped and rounded to uint8 after every step.
    (:func:`photometric_params` draws the parameters, :func:`apply_photometric` applies them.)
    """
    return apply_photometric(rgb, photometric_params(rng))


def expand_params(h: int, w: int, rng, max_ratio=4.0):
    """The random canvas of :func:`expand` for an ``h x w`` image: ``(canvas_h, canvas_w, top,
    left)``, the image's top-left pixel at ``(top, left)``."""
    ratio = rng.uniform(1, max_ratio)
    out_h, out_w = int(h * ratio), int(w * ratio)
    top, left = int(rng.integers(0, out_h - h + 1)), int(rng.integers(0, out_w - w + 1))
    return out_h, out_w, top, left


def expand(rgb, boxes, rng, max_ratio=4.0, fill=SSD_MEAN_RGB):
    """Zoom out: put the image at a random place on a ``f x`` larger canvas filled with ``fill``
    (f ~ U[1, max_ratio], same for both sides); boxes are shifted with it."""
    h, w = rgb.shape[:2]
    out_h, out_w, top, left = expand_params(h, w, rng, max_ratio)
    canvas = np.empty((out_h, out_w, 3), np.uint8)
    canvas[...] = np.asarray(fill, np.uint8)
    canvas[top:top + h, left:left + w] = rgb
    return canvas, boxes + np.array([left, top, left, top], np.float32)


def iou_crop_params(h: int, w: int, boxes, rng, min_ious=CROP_MIN_IOUS, trials=50):
    """The random patch of :func:`iou_random_crop` for an ``h x w`` image with ``boxes``:
    ``(patch, inside)`` with ``patch`` the integer ``[x0, y0, x1, y1]`` and ``inside`` the
    boolean mask of the boxes kept, or ``(None, None)`` for "keep the whole image"."""
    if len(boxes) == 0:
        return None, None
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    # few boxes: the tests of a trial in plain Python floats (the same IEEE operations as
    # box_iou, so the same decisions), much cheaper than numpy calls on 1-16 elements
    small = len(boxes) <= 16
    if small:
        box_list = np.asarray(boxes, np.float64).tolist()
        centre_list = centres.tolist()
    while True:
        choice = int(rng.integers(len(min_ious) + 1))
        if choice == len(min_ious):
            return None, None
        bound = min_ious[choice]
        for _ in range(trials):
            cw, ch = rng.uniform(0.3 * w, w), rng.uniform(0.3 * h, h)
            if not 0.5 <= cw / ch <= 2:
                continue
            left, top = rng.uniform(0, w - cw), rng.uniform(0, h - ch)
            x0, y0, x1, y1 = int(left), int(top), int(left + cw), int(top + ch)
            if x1 <= x0 or y1 <= y0:
                continue
            if small:
                if not any(_iou(b, x0, y0, x1, y1) > bound for b in box_list):
                    continue
                kept = [x0 < cx < x1 and y0 < cy < y1 for cx, cy in centre_list]
                if not any(kept):
                    continue
                return np.array([x0, y0, x1, y1]), np.array(kept)
            patch = np.array([x0, y0, x1, y1])
            if not (box_iou(boxes, patch) > bound).any():
                continue
            inside = ((centres[:, 0] > patch[0]) & (centres[:, 1] > patch[1])
                      & (centres[:, 0] < patch[2]) & (centres[:, 1] < patch[3]))
            if not inside.any():
                continue
            return patch, inside


def _iou(b, x0, y0, x1, y1) -> float:
    """:func:`box_iou` of one box (a list of 4 floats) and an integer patch, in Python."""
    iw = max(min(b[2], x1) - max(b[0], x0), 0.0)
    ih = max(min(b[3], y1) - max(b[1], y0), 0.0)
    inter = iw * ih
    return inter / ((b[2] - b[0]) * (b[3] - b[1]) + (x1 - x0) * (y1 - y0) - inter)


def crop_boxes(boxes, patch, inside):
    """The boxes of :func:`iou_random_crop` in the patch: those whose centre is ``inside``,
    clipped to the patch and shifted to its origin."""
    kept = boxes[inside].copy()
    kept[:, :2] = np.maximum(kept[:, :2], patch[:2])
    kept[:, 2:] = np.minimum(kept[:, 2:], patch[2:])
    kept -= np.array([patch[0], patch[1], patch[0], patch[1]], np.float32)
    return kept


def iou_random_crop(rgb, boxes, labels, rng, min_ious=CROP_MIN_IOUS, trials=50):
    """Caffe SSD's random crop.

    Repeat: with p 1/7 return the input; else draw a lower IoU bound from ``min_ious`` and try
    up to ``trials`` patches of sides ``U[0.3, 1]`` x the image's (aspect w/h in [0.5, 2],
    uniform position). A patch is taken when a box has an IoU with it above the bound and at
    least one box centre lies inside it; boxes whose centre is inside are kept and clipped to
    the patch, the others dropped (with their labels). (:func:`iou_crop_params` draws the
    patch.)
    """
    h, w = rgb.shape[:2]
    patch, inside = iou_crop_params(h, w, boxes, rng, min_ious, trials)
    if patch is None:
        return rgb, boxes, labels
    return (rgb[patch[1]:patch[3], patch[0]:patch[2]], crop_boxes(boxes, patch, inside),
            labels[inside])


def train_geometry(h: int, w: int, boxes, labels, rng, config) -> dict:
    """The random geometry of one SSD training sample of an ``h x w`` image, drawn after the
    photometric parameters, in the order of :class:`SSDAugmentation`: zoom-out (p 0.5,
    :func:`expand_params`), IoU crop (:func:`iou_crop_params`), flip (p 0.5), interpolation.

    Returns ``{"expand": (canvas_h, canvas_w, top, left) or None, "patch": [x0, y0, x1, y1] in
    the canvas or None, "size": (h, w) of the image after the crop, "flip": bool,
    "interpolation": cv2 flag, "boxes", "labels"}`` (boxes in the cropped image's pixels,
    before the flip and the resize; zero-sized ones dropped). Shared by the RGB chain and the
    DCT-domain one (:mod:`jpeg_deep.data.dct_detection`)."""
    out = {"expand": None, "patch": None}
    if rng.random() < 0.5:
        out["expand"] = expand_params(h, w, rng, config.max_expand)
        h, w, top, left = out["expand"]
        boxes = boxes + np.array([left, top, left, top], np.float32)
    patch, inside = iou_crop_params(h, w, boxes, rng)
    if patch is not None:
        out["patch"] = patch
        boxes, labels = crop_boxes(boxes, patch, inside), labels[inside]
        h, w = int(patch[3] - patch[1]), int(patch[2] - patch[0])
    out["size"] = (h, w)
    out["flip"] = bool(rng.random() < 0.5)
    out["interpolation"] = _INTERPOLATIONS[int(rng.integers(len(_INTERPOLATIONS)))]
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    out["boxes"], out["labels"] = boxes[keep], labels[keep]
    return out


def clean_boxes(boxes, labels, h, w):
    """Boxes clipped to the ``h x w`` image, zero-sized ones dropped with their labels (the
    first step of :class:`SSDAugmentation`)."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    labels = np.asarray(labels)
    if len(labels) != len(boxes):
        raise ValueError(f"{len(boxes)} boxes but {len(labels)} labels")
    boxes = np.clip(boxes, 0, np.array([w, h, w, h], np.float32))
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return boxes[keep], labels[keep]


class SSDAugmentation:
    """The SSD transform of one split: ``(rgb, boxes, labels, rng) -> (rgb, boxes, labels)``.

    ``train``: photometric distortion -> zoom-out (p 0.5, ``U[1, max_expand]``, mean fill) ->
    IoU-constrained random crop -> horizontal flip (p 0.5) -> resize to ``input_size`` squared
    with an interpolation drawn from nearest, linear, cubic, area, Lanczos-4.
    ``val`` / ``test``: resize to ``input_size`` squared, bilinear. No aspect preservation.

    ``rgb``: ``(H, W, 3)`` uint8; ``boxes``: ``(K, 4)`` continuous pixel coordinates; ``labels``:
    any array whose first axis has K entries (e.g. ``np.stack([labels, difficult], 1)``), kept
    in step with the boxes. Boxes are clipped to the image and those less than
    ``min_box_size`` output pixels wide or high dropped with their labels; coordinates stay
    floats (not rounded to integers). ``rng``: a seed or a
    ``np.random.Generator`` (the same seed gives the same result); None uses the transform's own
    generator (seeded 0 at construction). The flip and the resize are albumentations transforms
    with ``BboxParams("pascal_voc")`` (its pixel boxes are continuous coordinates too).
    The random parameters come from :func:`photometric_params` (through
    :func:`photometric_distort`) and :func:`train_geometry`.
    """

    def __init__(self, split: str, config: DetectionTransformConfig = DetectionTransformConfig()):
        if split not in ("train", "val", "test"):
            raise ValueError(f"unknown split {split!r}; expected train, val or test")
        self.split, self.config = split, config
        self._rng = np.random.default_rng(0)
        self._geometry = {}   # (flip, interpolation) -> albumentations pipeline

    def _pipeline(self, flip: bool, interpolation: int) -> A.Compose:
        key = (flip, interpolation)
        if key not in self._geometry:
            size = self.config.input_size
            steps = [A.HorizontalFlip(p=1.0)] if flip else []
            steps.append(A.Resize(size, size, interpolation=interpolation))
            params = A.BboxParams(format="pascal_voc", label_fields=["index"], clip=True,
                                  min_width=self.config.min_box_size,
                                  min_height=self.config.min_box_size)
            self._geometry[key] = A.Compose(steps, bbox_params=params, seed=0)
        return self._geometry[key]

    def __call__(self, rgb, boxes, labels, rng=None):
        rng = self._rng if rng is None else np.random.default_rng(rng)
        rgb = np.ascontiguousarray(rgb, np.uint8)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got shape {rgb.shape}")
        h, w = rgb.shape[:2]
        boxes, labels = clean_boxes(boxes, labels, h, w)
        flip, interpolation = False, cv2.INTER_LINEAR
        if self.split == "train":
            rgb = photometric_distort(rgb, rng)
            g = train_geometry(h, w, boxes, labels, rng, self.config)
            if g["expand"] is not None:
                out_h, out_w, top, left = g["expand"]
                canvas = np.empty((out_h, out_w, 3), np.uint8)
                canvas[...] = np.asarray(self.config.mean, np.uint8)
                canvas[top:top + h, left:left + w] = rgb
                rgb = canvas
            if g["patch"] is not None:
                x0, y0, x1, y1 = g["patch"]
                rgb = rgb[y0:y1, x0:x1]
            boxes, labels = g["boxes"], g["labels"]
            flip, interpolation = g["flip"], g["interpolation"]
        out = self._pipeline(flip, interpolation)(image=rgb, bboxes=boxes,
                                                  index=np.arange(len(boxes)))
        index = np.asarray(out["index"], np.int64).reshape(-1)
        out_boxes = np.asarray(out["bboxes"], np.float32).reshape(-1, 4)
        return out["image"], out_boxes, labels[index]


def make_detection_transform(split: str, config: DetectionTransformConfig =
                             DetectionTransformConfig()) -> SSDAugmentation:
    """The SSD transform of ``split`` (``train``, ``val`` or ``test``): :class:`SSDAugmentation`."""
    return SSDAugmentation(split, config)
