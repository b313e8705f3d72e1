"""Transforms of one sample: classification in RGB (``classification``: decode, augment,
re-encode, the reference path) and on the coefficients (``classification_dct``), SSD's chain
with boxes in RGB (``ssd``) and on the coefficients (``ssd_dct``), and the network input layout
(``layout``)."""
