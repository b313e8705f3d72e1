"""ImageNet: CB5-only (INSA variant: Y and CbCr meet before ResNet block 5) (network ``cb5_only``,
defined in jpeg_deep/networks/resnet_insa.py).

A [D]-code network variant without a published config; trained with the [D] ResNet DCT recipe.
As in the INSA project, the stages it shares with ResNet-50 (by layer name) start from
keras.applications' ImageNet weights (downloaded into ~/.keras/models/ on first use; the
loading report names what loaded).
"""
base = "../base_classifier.py"
description = "CB5-only (INSA variant: Y and CbCr meet before ResNet block 5), ImageNet"
network = "cb5_only"
weights = "imagenet"  # keras.applications ResNet50's, into the layers that share its names
