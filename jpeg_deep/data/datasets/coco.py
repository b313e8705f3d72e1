"""MS-COCO: the instances json and its images, scanned
(:mod:`jpeg_deep.data.datasets.detection` says what the scan does with bad annotations)."""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from jpeg_deep.data.datasets.detection import DetectionDataset, _count_skip, _log_skips, _sample
from jpeg_deep.data.datasets.scans import ProblemReport, settle_problems, verify_jpeg
from jpeg_deep.errors import DatasetError

logger = logging.getLogger(__name__)


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
