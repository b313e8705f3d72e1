"""SSD detection building blocks: anchors, target encoding and decoding, multibox loss, VOC and
COCO metrics. Each module is plain numpy / TensorFlow and usable alone."""
