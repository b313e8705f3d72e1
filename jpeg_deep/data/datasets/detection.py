"""Detection datasets: the samples (boxes, labels, difficult flags) the VOC and COCO readers
return, and what a scan does with bad annotations.

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
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
    "tvmonitor",
)


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
