"""Datasets: ImageNet-style folders (``folders``), Pascal VOC (``voc``) and MS-COCO (``coco``)
of detection samples (``detection``), all scanned the same way: every problem of a dataset
reported in one run (``scans``). Each gives for item ``i`` a file ``path(i)`` and a target
``target(i)``."""
from jpeg_deep.data.datasets.coco import COCODataset
from jpeg_deep.data.datasets.detection import (
                                               VOC_CLASSES,
                                               DetectionDataset,
                                               DetectionSample,
                                               to_voc_pixels,
)
from jpeg_deep.data.datasets.folders import ImageFolder
from jpeg_deep.data.datasets.scans import (
                                               ON_ERROR,
                                               DatasetProblems,
                                               ProblemReport,
                                               settle_problems,
                                               verify_jpeg,
)
from jpeg_deep.data.datasets.voc import VOCDataset, voc_splits
from jpeg_deep.errors import DatasetError

__all__ = ["COCODataset", "DatasetError", "DatasetProblems", "DetectionDataset", "DetectionSample",
           "ImageFolder", "ON_ERROR", "ProblemReport", "VOCDataset", "VOC_CLASSES",
           "settle_problems", "to_voc_pixels", "verify_jpeg", "voc_splits"]
