"""INSA ssd_custom (ResNet stages as sources), Pascal VOC 07+12 (published: 63.0 mAP on VOC2007
test, INSA project)."""
from jpeg_deep.config import merge

base = "../../base_ssd300.py"
description = "INSA ssd_custom (ResNet stages as sources), VOC 07+12"
network = "ssd_insa_custom"
data = merge(protocol="07+12")
