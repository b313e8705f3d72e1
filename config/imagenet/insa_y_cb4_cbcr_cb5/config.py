"""ImageNet: Y-CB4, CbCr-CB5 (INSA variant) (network ``y_cb4_cbcr_cb5``, defined in
jpeg_deep/networks/resnet_insa.py).

A [D]-code network variant without a published config; trained with the [D] ResNet DCT recipe.
As in the INSA project, the stages it shares with ResNet-50 (by layer name) start from
keras.applications' ImageNet weights (downloaded into ~/.keras/models/ on first use; the
loading report names what loaded).
"""
base = "../base_classifier.py"
description = "Y-CB4, CbCr-CB5 (INSA variant), ImageNet"
network = "y_cb4_cbcr_cb5"
weights = "imagenet"  # keras.applications ResNet50's, into the layers that share its names
