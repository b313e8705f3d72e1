"""Pascal VOC devkits: the protocols' image sets, the XML annotations and the scan
(:mod:`jpeg_deep.data.datasets.detection` says what it does with bad annotations)."""
from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from tqdm.auto import tqdm

from jpeg_deep.data.datasets.detection import (VOC_CLASSES, DetectionDataset, _count_skip,
                                               _log_skips, _sample)
from jpeg_deep.data.datasets.scans import (ProblemReport, cache_key, read_cache, settle_problems,
                                           verify_jpeg, write_cache)
from jpeg_deep.errors import DatasetError

logger = logging.getLogger(__name__)

_VOC_CACHE_VERSION = 2  # of the cached annotation scans


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
    paths = [p for year, set_file, _ in lists
             for p in (set_file, root / year / "Annotations", root / year / "JPEGImages")]
    return cache_key(f"{_VOC_CACHE_VERSION}|{root}|{class_names}|{annotations}|{verify}",
                     ((p, p) for p in paths))


def _load_voc_cache(key):
    scanned = read_cache("voc", key)
    try:
        return {"records": scanned["records"], "problems": scanned["problems"]}
    except (KeyError, TypeError):
        return None


def _save_voc_cache(key, scanned):
    write_cache("voc", key, scanned, "VOC annotation")
