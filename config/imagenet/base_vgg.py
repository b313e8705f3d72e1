"""[D]'s ImageNet VGG recipes: base_classifier.py's with batch 64 per replica and SGD 0.0025 /
0.9. VGG-DCT / Y / Deconv: 180 epochs, ReduceLROnPlateau patience 5, EarlyStopping patience 11
(as set here); VGG16 RGB: 120 epochs, patience 7 and 15 (set in vgg16/config.py).

Used by vgg16, vgg16_dct, vgg16_dct_y and vgg16_dct_deconv; each names its fully convolutional
twin (inference_network), which evaluates the full test images.
"""
base = "base_classifier.py"
batch_size = 64  # per replica
epochs = 180
optimizer = dict(name="sgd", learning_rate=0.0025, momentum=0.9)
