"""SSD300 on the registered backbones: the detection task built on a backbone's named maps.

An SSD asks a backbone (``registry.backbone``) for its maps at output stride 16 and adds:

* sources: ``conv4_3_norm`` = the backbone's ``stride8`` map through ``L2Normalization`` (a
  learnable per-channel scale, init 20); ``fc7`` = its ``stride16`` map (VGG: pool5 3x3/1 ->
  fc6 3x3 dilation 6, 1024 -> fc7 1x1, 1024; ResNet: stage 5 with its stride forced to 1);
* extra layers, ReLU, he_normal, L2 5e-4: ``conv6`` 1x1 256 -> pad 1 -> 3x3/2 512;
  ``conv7`` 1x1 128 -> pad 1 -> 3x3/2 256; ``conv8`` and ``conv9`` 1x1 128 -> 3x3/1 valid 256.
  At 300 px the six sources are 38, 19, 10, 5, 3 and 1 cells. A map smaller than 3 cells (small
  inputs) goes through conv8 / conv9 with "same" padding instead of shrinking to nothing;
* per source a 3x3 "same" linear conv of ``n_boxes * classes`` confidences
  (``<source>_mbox_conf``) and one of ``n_boxes * 4`` offsets (``<source>_mbox_loc``), ``n_boxes``
  = 4, 6, 6, 6, 4, 4 (the anchor config's boxes per cell), reshaped to ``(-1, classes)`` /
  ``(-1, 4)`` (row, column, box order) and concatenated over the sources in order;
* the output ``predictions``: ``(batch, n_anchors, classes + 4)`` float32 =
  ``[softmax over classes | 4 box offsets]``; ``classes`` includes background at index 0
  (VOC 21, COCO 81).

:func:`anchors_for` gives the anchors of a built (or loaded) model from the map sizes it has and
the input size it was built for: the one place the anchor grid comes from. 300 px gives 8732
anchors; other sizes (a 128 px demo, 512) work unchanged. Anchor scales are the VOC ones
(0.1, 0.2, 0.37, 0.54, 0.71, 0.88, 1.05) unless ``anchors="coco"`` (0.07, 0.15, 0.33, 0.51, 0.69,
0.87, 1.05), which is the default for 81 classes.

Regularisation: L2 5e-4 on the kernels of the extras and heads (and of VGG, as in its
classifier); on ResNet backbones also on the backbone's kernels (5e-5 in the classifiers) and on
every convolution's bias.

The ResNet SSDs of Deguerre et al. are built on the [D]-code backbones (``*_dcode`` for LC-RFA
and LC-RFA-Thinner): ``ssd300_late_concat_rfa`` is LC-RFA [D] with an SSD head.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers, ops

from jpeg_deep.networks.blocks import filters, l2
from jpeg_deep.networks.layers import L2Normalization
from jpeg_deep.networks.registry import backbone, backbone_spec, register
from jpeg_deep.networks.anchors import SSD300_ANCHORS, SSD300_COCO_ANCHORS, make_anchors

ANCHOR_CONFIGS = {"voc": SSD300_ANCHORS, "coco": SSD300_COCO_ANCHORS}
SSD_L2 = 5e-4
L2_NORM_SCALE = 20.0

# name, 1x1 filters, 3x3 filters, stride of the 3x3
EXTRAS = (("conv6", 256, 512, 2), ("conv7", 128, 256, 2), ("conv8", 128, 256, 1),
          ("conv9", 128, 256, 1))


@dataclass(frozen=True)
class Design:
    """Which backbone maps feed the heads (the first is L2-normalised), under which source
    names, at which output stride, followed by which extra layers."""

    taps: tuple = ("stride8", "stride16")
    sources: tuple = ("conv4_3_norm", "fc7")
    output_stride: int = 16
    extras: tuple = EXTRAS


SSD300 = Design()
#: INSA ``ssd_custom``: the backbone keeps its classification strides; the end of stage 4
#: (stride 16) and of stage 5 (stride 32, 10x10 at 300 px) are the second and third sources,
#: in the places of SSD's fc7 and conv6_2; conv6 is dropped and conv7-conv9 follow stage 5.
INSA_CUSTOM = Design(taps=("stride8", "stride16", "stride32"),
                     sources=("conv4_3_norm", "fc7", "conv6_2"), output_stride=32,
                     extras=EXTRAS[1:])


@keras.saving.register_keras_serializable(package="jpeg_deep")
class SSDOutput(keras.layers.Layer):
    """``[softmax(confidences) | offsets]`` per anchor, in float32. Carries what the anchors
    need besides the map sizes: the input ``image_size`` (pixels, (height, width)), the anchor
    set (``"voc"`` / ``"coco"``) and the ``sources`` names in order."""

    def __init__(self, image_size, anchor_set, sources, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.image_size = tuple(int(v) for v in image_size)
        self.anchor_set = anchor_set
        self.sources = tuple(sources)

    def call(self, inputs):
        conf, loc = inputs
        conf = ops.softmax(ops.cast(conf, "float32"), axis=-1)
        return ops.concatenate([conf, ops.cast(loc, "float32")], axis=-1)

    def compute_output_shape(self, input_shapes):
        conf, loc = input_shapes
        return conf[:-1] + (conf[-1] + loc[-1],)

    def get_config(self):
        return {**super().get_config(), "image_size": self.image_size,
                "anchor_set": self.anchor_set, "sources": self.sources}


def _conv(n, kernel, name, *, strides=1, padding="same", activation="relu"):
    return layers.Conv2D(n, kernel, strides=strides, padding=padding, activation=activation,
                         kernel_initializer="he_normal", kernel_regularizer=l2(SSD_L2), name=name)


def _extra(x, name, mid, out, stride, width):
    x = _conv(filters(mid, width), 1, f"{name}_1")(x)
    if stride == 2:
        x = layers.ZeroPadding2D(1, name=f"{name}_padding")(x)
        return _conv(filters(out, width), 3, f"{name}_2", strides=2, padding="valid")(x)
    small = min(x.shape[1], x.shape[2]) < 3
    return _conv(filters(out, width), 3, f"{name}_2", padding="same" if small else "valid")(x)


def _resnet_ssd_regularisers(model, backbone_layers):
    """SSD on a ResNet: L2 5e-4 on the kernels of the backbone (the classifiers use 5e-5) and on
    the biases of every convolution."""
    for layer in model.layers:
        if not isinstance(layer, (layers.Conv2D, layers.Conv2DTranspose)):
            continue
        if layer.name in backbone_layers:
            layer.kernel_regularizer = l2(SSD_L2)
            layer.kernel.regularizer = layer.kernel_regularizer
        if layer.use_bias:
            layer.bias_regularizer = l2(SSD_L2)
            layer.bias.regularizer = layer.bias_regularizer


def ssd(backbone_name, *, classes=21, input_size=300, weights=None, width=1.0, anchors=None,
        design=SSD300, name=None, resnet=False):
    """SSD on backbone ``backbone_name``; ``classes`` includes background. ``resnet``: the
    regularisation of SSD on ResNets (L2 5e-4 on backbone kernels and on every conv bias)."""
    if input_size is None:
        raise ValueError("an SSD needs a fixed input_size in pixels (its anchors depend on it)")
    anchor_set = anchors or ("coco" if classes == 81 else "voc")
    if anchor_set not in ANCHOR_CONFIGS:
        raise ValueError(f"anchors must be one of {sorted(ANCHOR_CONFIGS)}, not {anchor_set!r}")
    config = ANCHOR_CONFIGS[anchor_set]
    inputs, maps = backbone(backbone_name, input_size, width=width,
                            output_stride=design.output_stride, exact_size=False)
    # Identity markers name the backbone's ends, so the backbone part of the graph can be found
    # again in a built or loaded detector (``backbone_layer_names``).
    taps = [layers.Identity(name=f"backbone_{key}")(maps[key]) for key in design.taps]
    fmaps = [L2Normalization(L2_NORM_SCALE, name=design.sources[0])(taps[0])] + taps[1:]
    names = list(design.sources)
    x = taps[-1]
    for extra in design.extras:
        x = _extra(x, *extra, width)
        fmaps.append(x)
        names.append(f"{extra[0]}_2")
    boxes = config.boxes_per_cell()
    if len(fmaps) != len(boxes):
        raise ValueError(f"{len(fmaps)} sources but the anchor config describes {len(boxes)}")
    confs, locs = [], []
    for src, fmap, n in zip(names, fmaps, boxes):
        conf = _conv(n * classes, 3, f"{src}_mbox_conf", activation=None)(fmap)
        loc = _conv(n * 4, 3, f"{src}_mbox_loc", activation=None)(fmap)
        confs.append(layers.Reshape((-1, classes), name=f"{src}_mbox_conf_reshape")(conf))
        locs.append(layers.Reshape((-1, 4), name=f"{src}_mbox_loc_reshape")(loc))
    conf = layers.Concatenate(axis=1, name="mbox_conf")(confs)
    loc = layers.Concatenate(axis=1, name="mbox_loc")(locs)
    size = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    out = SSDOutput(size, anchor_set, names, name="predictions")([conf, loc])
    model = keras.Model(inputs, out, name=name or f"ssd_{backbone_name}")
    if resnet:
        _resnet_ssd_regularisers(model, set(backbone_layer_names(model)))
    if weights is not None:
        from jpeg_deep.networks.weights import load_weights

        load_weights(model, weights)
    return model


def _output_layer(model) -> SSDOutput:
    layer = model.get_layer("predictions")
    if not isinstance(layer, SSDOutput):
        raise ValueError(f"{model.name} is not an SSD (its 'predictions' layer is "
                         f"{type(layer).__name__})")
    return layer


def feature_map_sizes(model) -> list[tuple[int, int]]:
    """(height, width) of each source map of an SSD, in source order."""
    return [tuple(int(v) for v in model.get_layer(f"{s}_mbox_conf").output.shape[1:3])
            for s in _output_layer(model).sources]


def anchor_config(model):
    return ANCHOR_CONFIGS[_output_layer(model).anchor_set]


def anchors_for(model):
    """The anchors of an SSD (``tasks.detection.anchors.Anchors``), from the map sizes the model
    has, its input size and its anchor set: the order of its outputs."""
    return make_anchors(_output_layer(model).image_size, feature_map_sizes(model),
                        anchor_config(model))


def backbone_layer_names(model) -> list[str]:
    """Names of the layers with weights between the inputs and the backbone's ends."""
    ends = [layer.output for layer in model.layers if layer.name.startswith("backbone_")]
    if not ends:
        raise ValueError(f"{model.name} has no backbone markers (not built by jpeg_deep.ssd)")
    part = keras.Model(model.inputs, ends)
    return [layer.name for layer in part.layers if layer.weights]


def init_from_classifier(model, path):
    """Initialise an SSD's backbone from a classifier's weights file (``.keras``, ``.h5``,
    ``.weights.h5``), or from keras.applications' ImageNet weights (``path = "imagenet"``: the
    layers that share names load, the others are reported), by layer name; return the
    ``TransferReport``.

    Every backbone layer must load: a ``WeightsError`` naming the file and the backbone layers
    that did not (absent from the file, or another shape) otherwise. For VGG backbones, a file
    with the dense ``fc1`` / ``fc2`` but no ``fc6`` / ``fc7`` is converted on the fly by
    :func:`jpeg_deep.networks.convert_fc.convert_vgg_fc_to_ssd` (every 4th filter, 3x3 taps).
    """
    from jpeg_deep.networks.convert_fc import convert_vgg_fc_to_ssd
    from jpeg_deep.networks.weights import load_backbone_weights, read_weight_file

    from jpeg_deep.networks.weights import IMAGENET, read_imagenet_weights

    expected = backbone_layer_names(model)
    source = read_imagenet_weights(model) if path == IMAGENET else read_weight_file(path)
    if "fc6" in expected and "fc6" not in source and "fc1" in source:
        fc6 = model.get_layer("fc6").kernel.shape
        source = convert_vgg_fc_to_ssd(source, filters=int(fc6[-1]), kernel=int(fc6[0]))
    return load_backbone_weights(model, path, expected, source=source)


# ---------------------------------------------------------------------------------------------
# The registered detectors

_DETECTORS = [
    ("ssd300_vgg16", "vgg16", SSD300, "SSD300 on VGG16 (RGB)"),
    ("ssd300_vgg16_dct", "vgg16_dct", SSD300, "SSD300 on VGG-DCT (Y, CbCr)"),
    ("ssd300_vgg16_dct_y", "vgg16_dct_y", SSD300, "SSD300 on VGG-DCT Y (luminance only)"),
    ("ssd300_vgg16_dct_deconv", "vgg16_dct_deconv", SSD300,
     "SSD300 on VGG-DCT Deconvolution; block4_pool takes block4_conv3 (the reference pooled "
     "block4_conv2, so block4_conv3 fed only the stride-8 head): fixed here"),
    ("ssd300_resnet50", "resnet50", SSD300, "SSD300 on ResNet-50 (RGB), stride-8 map conv3_block4"),
    ("ssd300_late_concat_rfa", "late_concat_rfa_dcode", SSD300,
     "SSD300 on LC-RFA ([D]-code widths), stride-8 map: Y conv3_block4 (512)"),
    ("ssd300_late_concat_rfa_y", "late_concat_rfa_y", SSD300, "SSD300 on LC-RFA Y"),
    ("ssd300_late_concat_rfa_thinner", "late_concat_rfa_thinner_dcode", SSD300,
     "SSD300 on LC-RFA-Thinner ([D]-code widths), stride-8 map: Y conv3_block4 (384)"),
    ("ssd300_late_concat_rfa_y_thinner", "late_concat_rfa_y_thinner", SSD300,
     "SSD300 on LC-RFA-Thinner Y"),
    ("ssd300_deconvolution_rfa", "deconvolution_rfa", SSD300, "SSD300 on Deconvolution-RFA"),
    ("ssd_insa_custom", "late_concat_rfa_thinner_dcode", INSA_CUSTOM,
     "INSA ssd_custom: LC-RFA-Thinner [D] at its classification strides; sources: Y stride-8 "
     "map, end of stage 4 (19x19x1024), end of stage 5 (10x10x2048), then conv7-conv9"),
    ("ssd_insa_y_cb4_cbcr_cb5", "y_cb4_cbcr_cb5", SSD300,
     "INSA y_cb4_cbcr_cb5: Y through stages 3-4, CbCr joins before stage 5 (stride 1)"),
    ("ssd_insa_cb5_only", "cb5_only", SSD300,
     "INSA cb5_only: Y and CbCr meet at stride 16, stage 5 only (stride 1); the stride-8 "
     "source is the normalised Y input"),
    ("ssd_insa_up_sampling", "upsampling_rfa", SSD300, "INSA up_sampling: SSD300 on [U] "
     "UpSampling-RFA"),
    ("ssd_insa_deconv", "deconvolution_rfa", SSD300,
     "INSA deconv: SSD300 on [U] Deconvolution-RFA (the graph of ssd300_deconvolution_rfa)"),
]


def _register():
    for name, bb, design, description in _DETECTORS:
        def builder(classes=21, input_size=300, weights=None, width=1.0, anchors=None,
                    _bb=bb, _design=design, _name=name, _resnet=not bb.startswith("vgg16")):
            return ssd(_bb, classes=classes, input_size=input_size, weights=weights, width=width,
                       anchors=anchors, design=_design, name=_name, resnet=_resnet)

        builder.__name__ = name
        builder.__doc__ = description
        register(name, inputs=backbone_spec(bb).inputs, description=description,
                 task="detection", backbone=bb)(builder)


_register()
