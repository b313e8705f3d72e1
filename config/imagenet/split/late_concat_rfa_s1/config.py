"""ImageNet split computing: LC-RFA, a DCT ResNet ([D]-code widths), cut at its
conv5_block3_out (the place of ResNet-50's S1, 7x7x2048), supervised. Its device half reads the
coefficients: entropy decoding, no inverse DCT. Baseline: config/imagenet/late_concat_rfa."""
base = "../base.py"
description = "LC-RFA split at conv5_block3_out (S1), ImageNet"
network = "late_concat_rfa_dcode"
