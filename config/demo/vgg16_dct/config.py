"""VGG-DCT on the built-in demo shapes, small enough for a CPU (Adam 3e-4, 25 epochs)."""
base = "../base_classifier.py"
description = "VGG-DCT, 1/4 width, demo shapes"
network = "vgg16_dct"
inference_network = "vgg16_dct_conv"   # fully convolutional twin for full-size test images
epochs = 25
optimizer = dict(name="adam", learning_rate=0.0003)
