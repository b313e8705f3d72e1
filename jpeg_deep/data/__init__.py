"""Data: datasets (``datasets/``: image folders, VOC, COCO, their scans), transforms
(``transforms/``: RGB and DCT domain, classification and SSD), loading one sample
(``loader``), batches for ``model.fit`` (``batches``), worker processes (``parallel``) and the
tf.data bridge (``tfdata``). The files are read by :mod:`jpeg_deep.codec`."""
