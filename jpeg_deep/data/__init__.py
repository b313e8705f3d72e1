"""Data: datasets (image folders, VOC, COCO), transforms (RGB and DCT domain, classification and
SSD), loaders, batches and the tf.data bridge. The files are read by :mod:`jpeg_deep.codec`."""
