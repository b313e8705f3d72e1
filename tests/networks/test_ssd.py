"""SSD detectors on the registered backbones: build, forward, anchors from the built model,
parameter counts, the backbone seam, backbone initialisation and the VGG fc6/fc7 conversion."""

import functools

import keras
import numpy as np
import pytest

from jpeg_deep.networks import build, names, spec
from jpeg_deep.networks.convert_fc import convert_vgg_fc_to_ssd, decimation_taps, main
from jpeg_deep.networks.registry import backbone_names, build_backbone
from jpeg_deep.networks.ssd import (
    anchors_for, backbone_layer_names, feature_map_sizes, init_from_classifier,
)
from jpeg_deep.networks.weights import (
    WeightsError, model_layer_weights, read_weight_file, write_weight_file,
)

DETECTORS = names(task="detection")

# Parameters at 300 px, VOC (21 classes) / COCO (81) heads. The papers' checksums are given in
# millions to two decimals (26.29 M...); the exact figures are this implementation's.
SPEC_PARAMS_M = {
    "ssd300_vgg16": (26.29, 34.31),
    "ssd300_vgg16_dct": (25.29, 33.31),
    "ssd300_vgg16_dct_y": (24.70, 32.72),
    "ssd300_vgg16_dct_deconv": (24.29, 32.31),
    "ssd300_resnet50": (31.03, 42.37),
    "ssd300_late_concat_rfa": (32.83, 44.17),
    "ssd300_late_concat_rfa_thinner": (31.25, 42.31),
    "ssd300_late_concat_rfa_y": (32.99, 44.33),
    "ssd300_late_concat_rfa_y_thinner": (31.28, 42.34),
    "ssd300_deconvolution_rfa": (33.83, 45.17),
}
EXACT_PARAMS = {
    "ssd300_vgg16": (26_285_486, 34_305_206),
    "ssd300_vgg16_dct": (25_288_302, 33_308_022),
    "ssd300_vgg16_dct_y": (24_697_966, 32_717_686),
    "ssd300_vgg16_dct_deconv": (24_288_750, 32_308_470),
    "ssd300_resnet50": (31_033_838, 42_371_318),
    "ssd300_late_concat_rfa": (32_831_854, 44_169_334),
    "ssd300_late_concat_rfa_thinner": (31_250_542, 42_311_542),
    "ssd300_late_concat_rfa_y": (32_993_902, 44_331_382),
    "ssd300_late_concat_rfa_y_thinner": (31_281_518, 42_342_518),
    "ssd300_deconvolution_rfa": (33_831_406, 45_168_886),
}
HEADS = {"voc": 21, "coco": 81}


def sample_inputs(model, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 50, (batch,) + tuple(i.shape[1:])).astype("float32")
            for i in model.inputs]


def test_registry_marks_detectors():
    assert len(DETECTORS) == 15 and set(SPEC_PARAMS_M) <= set(DETECTORS)
    assert not set(DETECTORS) & set(names())          # names() = classifiers, as before
    assert set(DETECTORS) <= set(names(task=None))
    kinds = {n: spec(n).inputs for n in DETECTORS}
    assert kinds["ssd300_vgg16"] == kinds["ssd300_resnet50"] == "rgb"
    assert kinds["ssd300_vgg16_dct"] == kinds["ssd300_late_concat_rfa"] == "y_cbcr"
    assert kinds["ssd300_vgg16_dct_y"] == kinds["ssd300_late_concat_rfa_y_thinner"] == "y"
    assert kinds["ssd300_deconvolution_rfa"] == kinds["ssd_insa_up_sampling"] == "y_cb_cr"
    for n in DETECTORS:
        assert spec(n).task == "detection" and spec(n).backbone in backbone_names()
    assert spec("vgg16_dct").task == "classification" and spec("vgg16_dct").backbone == "vgg16_dct"
    assert spec("ssd300_late_concat_rfa").backbone == "late_concat_rfa_dcode"


@pytest.mark.parametrize("name", DETECTORS)
def test_detector_forward(name):
    model = build(name, classes=4, input_size=96, width=0.125)
    anchors = anchors_for(model)
    out = np.asarray(model(sample_inputs(model), training=False))
    assert out.shape == (2, len(anchors), 4 + 4) and out.dtype == np.float32
    np.testing.assert_allclose(out[..., :4].sum(-1), 1.0, rtol=1e-5)
    assert np.all(out[..., :4] >= 0)
    keras.backend.clear_session()


@pytest.mark.parametrize("name, size, maps, n_anchors", [
    ("ssd300_vgg16_dct", 300, [38, 19, 10, 5, 3, 1], 8732),
    ("ssd300_resnet50", 300, [38, 19, 10, 5, 3, 1], 8732),
    ("ssd_insa_custom", 300, [38, 19, 10, 5, 3, 1], 8732),
    ("ssd300_vgg16_dct_y", 512, [64, 32, 16, 8, 6, 4], None),
    ("ssd300_late_concat_rfa_y", 160, [20, 10, 5, 3, 1, 1], None),
    ("ssd300_vgg16", 128, [16, 8, 4, 2, 2, 2], None),
])
def test_anchors_from_the_built_model(name, size, maps, n_anchors):
    model = build(name, classes=3, input_size=size, width=0.0625)
    assert feature_map_sizes(model) == [(m, m) for m in maps]
    anchors = anchors_for(model)
    assert anchors.image_size == (size, size)
    expected = sum(m * m * b for m, b in zip(maps, (4, 6, 6, 6, 4, 4)))
    assert len(anchors) == expected == (n_anchors or expected)
    assert model.output.shape[1:] == (expected, 3 + 4)
    out = np.asarray(model(sample_inputs(model, batch=1), training=False))
    assert out.shape == (1, expected, 7)
    keras.backend.clear_session()


def test_coco_head_takes_coco_anchor_scales():
    voc = build("ssd300_vgg16_dct_y", classes=21, input_size=128, width=0.0625)
    coco = build("ssd300_vgg16_dct_y", classes=81, input_size=128, width=0.0625)
    forced = build("ssd300_vgg16_dct_y", classes=5, anchors="coco", input_size=128, width=0.0625)
    # the first map's square box is s * size: 0.1 (VOC) or 0.07 (COCO) of the image
    assert np.isclose(anchors_for(voc).boxes[0, 2], 0.1)
    assert np.isclose(anchors_for(coco).boxes[0, 2], 0.07)
    assert np.isclose(anchors_for(forced).boxes[0, 2], 0.07)
    keras.backend.clear_session()


@functools.cache
def _counts(name):
    counts = []
    for classes in HEADS.values():
        counts.append(build(name, classes=classes, input_size=300).count_params())
        keras.backend.clear_session()
    return tuple(counts)


@pytest.mark.parametrize("head", list(HEADS))
@pytest.mark.parametrize("name", sorted(SPEC_PARAMS_M))
def test_parameter_count(name, head):
    i = list(HEADS).index(head)
    count = _counts(name)[i]
    assert round(count / 1e6, 2) == SPEC_PARAMS_M[name][i]
    assert count == EXACT_PARAMS[name][i]


@pytest.mark.parametrize("name", ["vgg16", "vgg16_dct", "vgg16_dct_deconv", "resnet50",
                                  "late_concat_rfa_dcode", "late_concat_rfa_y_thinner",
                                  "deconvolution_rfa", "cb5_only", "upsampling_rfa"])
def test_backbone_named_maps(name):
    ssd_maps = build_backbone(name, 300, width=0.0625, output_stride=16, exact_size=False).output
    assert ssd_maps["stride8"].shape[1:3] == (38, 38)
    assert ssd_maps["stride16"].shape[1:3] == (19, 19) and ssd_maps["last"] is ssd_maps["stride16"]
    assert "stride32" not in ssd_maps
    cls_maps = build_backbone(name, 224, width=0.0625).output
    assert [cls_maps[f"stride{s}"].shape[1] for s in (8, 16, 32)] == [28, 14, 7]
    assert cls_maps["last"] is cls_maps["stride32"]
    keras.backend.clear_session()


def test_classifier_refuses_sizes_the_detector_takes():
    with pytest.raises(ValueError, match="multiple of 16"):
        build("vgg16_dct", input_size=300)
    model = build("ssd300_vgg16_dct", input_size=300, width=0.0625)
    assert [tuple(i.shape[1:]) for i in model.inputs] == [(38, 38, 64), (19, 19, 128)]
    keras.backend.clear_session()


@pytest.mark.parametrize("detector, classifier", [
    ("ssd300_late_concat_rfa", "late_concat_rfa_dcode"),
    ("ssd300_vgg16_dct", "vgg16_dct"),
    ("ssd_insa_cb5_only", "cb5_only"),
])
def test_detector_and_classifier_share_the_backbone(detector, classifier):
    det = build(detector, input_size=96, width=0.0625)
    cls = build(classifier, input_size=96, width=0.0625, classes=7)
    shared = backbone_layer_names(det)
    cls_weights = {layer.name: layer for layer in cls.layers if layer.weights}
    extra = {"fc6", "fc7"} if "fc6" in shared else set()   # the atrous VGG top
    assert set(shared) - extra <= set(cls_weights)
    for name in set(shared) - extra:
        assert ([tuple(w.shape) for w in det.get_layer(name).weights]
                == [tuple(w.shape) for w in cls_weights[name].weights]), name
    assert not {n for n in shared if "mbox" in n or n.startswith(("conv6", "conv7"))}
    keras.backend.clear_session()


def test_detector_save_load_keeps_anchors(tmp_path):
    model = build("ssd300_vgg16_dct", classes=5, input_size=128, width=0.0625)
    x = sample_inputs(model)
    model.save(tmp_path / "ssd.keras")
    loaded = keras.models.load_model(tmp_path / "ssd.keras")
    np.testing.assert_array_equal(anchors_for(model).boxes, anchors_for(loaded).boxes)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(loaded(x)), rtol=1e-6)
    assert backbone_layer_names(loaded) == backbone_layer_names(model)
    keras.backend.clear_session()


# ---------------------------------------------------------------------------------------------
# backbone initialisation from a classification experiment's weights


def test_vgg_classifier_initialises_ssd(tmp_path):
    width = 0.0625                        # fc1: 7x7x32 -> 256 units; fc6 3x3x32x64
    classifier = build("vgg16_dct", classes=10, input_size=224, width=width)
    path = tmp_path / "classifier.keras"
    classifier.save(path)
    source = model_layer_weights(classifier)
    keras.backend.clear_session()
    ssd = build("ssd300_vgg16_dct", input_size=96, width=width)
    report = init_from_classifier(ssd, path)
    expected = backbone_layer_names(ssd)
    assert set(expected) == set(report.loaded)
    assert {"bn_y", "bn_cbcr", "block3_conv_dct", "block5_conv3", "fc6", "fc7"} <= set(expected)
    for name in ("bn_cbcr", "block4_conv3", "block5_conv1"):
        for got, want in zip(ssd.get_layer(name).get_weights(), source[name]):
            np.testing.assert_array_equal(got, want)
    fc1 = source["fc1"][0].reshape(7, 7, 32, 256)
    np.testing.assert_array_equal(ssd.get_layer("fc6").get_weights()[0],
                                  fc1[[0, 3, 6]][:, [0, 3, 6]][..., ::4])
    assert "conv6_1" in report.missing and "conv4_3_norm" in report.missing
    keras.backend.clear_session()


def test_initialisation_fails_loudly(tmp_path):
    # [U] widths of LC-RFA into the [D]-code SSD: the stride-2 Y block and the chroma block differ
    classifier = build("late_concat_rfa", classes=10, input_size=64, width=0.0625)
    path = tmp_path / "uber.keras"
    classifier.save(path)
    weights = model_layer_weights(classifier)
    keras.backend.clear_session()
    ssd = build("ssd300_late_concat_rfa", input_size=96, width=0.0625)
    with pytest.raises(WeightsError) as info:
        init_from_classifier(ssd, path)
    message = str(info.value)
    assert str(path) in message and "y_conv4_block1_1_conv" in message and "shape" in message
    # a layer renamed (here: absent) in the file is named too
    del weights["conv4_block3_2_conv"]
    renamed = tmp_path / "renamed.h5"
    write_weight_file(weights, renamed)
    with pytest.raises(WeightsError, match=r"renamed\.h5.*conv4_block3_2_conv \(not in the file\)"):
        init_from_classifier(ssd, renamed)
    keras.backend.clear_session()


# ---------------------------------------------------------------------------------------------
# fc6 / fc7 conversion


def test_fc_conversion_against_hand_computation(tmp_path):
    rng = np.random.default_rng(1)
    c, units = 2, 8
    fc1 = rng.normal(size=(7 * 7 * c, units)).astype("float32")
    fc2 = rng.normal(size=(units, units)).astype("float32")
    source = {"block5_conv3": [np.zeros((3, 3, 4, c)), np.zeros(c)],
              "fc1": [fc1, np.arange(units, dtype="float32")],
              "fc2": [fc2, -np.arange(units, dtype="float32")],
              "predictions": [np.zeros((units, 3)), np.zeros(3)]}
    out = convert_vgg_fc_to_ssd(source)
    assert list(decimation_taps(7)) == [0, 3, 6]
    fc6, b6 = out["fc6"]
    fc7, b7 = out["fc7"]
    assert fc6.shape == (3, 3, c, 2) and fc7.shape == (1, 1, 2, 2)
    # fc1 rows are the flattened (row, column, channel) of a 7x7xC map: row r, col q, channel k
    # is input (r*7 + q)*C + k; fc6[i, j, k, f] = fc1[(3i*7 + 3j)*C + k, 4f]
    for i, j, k, f in [(0, 0, 0, 0), (1, 2, 1, 1), (2, 1, 0, 1), (2, 2, 1, 0)]:
        assert fc6[i, j, k, f] == fc1[((3 * i) * 7 + 3 * j) * c + k, 4 * f]
    assert fc7[0, 0, 1, 0] == fc2[4, 0] and fc7[0, 0, 0, 1] == fc2[0, 4]
    np.testing.assert_array_equal(b6, [0, 4]) and np.testing.assert_array_equal(b7, [0, -4])
    assert not {"fc1", "fc2", "predictions"} & set(out) and "block5_conv3" in out
    # the command writes a by-name file the loader reads
    src = tmp_path / "src.h5"
    write_weight_file(source, src)
    assert main([str(src), str(tmp_path / "ssd.h5")]) == 0
    back = read_weight_file(tmp_path / "ssd.h5")
    np.testing.assert_array_equal(back["fc6"][0], fc6)
    assert main([str(tmp_path / "ssd.h5"), str(tmp_path / "again.h5")]) == 2  # no fc1 any more


def test_resnet_ssd_regularisation():
    model = build("ssd300_resnet50", input_size=96, width=0.0625)
    block = model.get_layer("conv4_block2_2_conv")
    assert np.isclose(block.kernel_regularizer.l2, 5e-4) and np.isclose(block.bias.regularizer.l2,
                                                                         5e-4)
    assert np.isclose(model.get_layer("fc7_mbox_conf").bias_regularizer.l2, 5e-4)
    vgg = build("ssd300_vgg16", input_size=96, width=0.0625)
    assert vgg.get_layer("block4_conv1").bias_regularizer is None
    assert np.isclose(vgg.get_layer("conv6_2").kernel_regularizer.l2, 5e-4)
    keras.backend.clear_session()


def test_dilated_conv_equals_keras_conv():
    from jpeg_deep.networks.layers import DilatedConv2D

    x = np.random.default_rng(2).normal(size=(2, 7, 9, 5)).astype("float32")
    ref = keras.layers.Conv2D(6, 3, dilation_rate=(3, 2), padding="same", activation="relu")
    ours = DilatedConv2D(6, 3, dilation_rate=(3, 2), padding="same", activation="relu")
    want = np.asarray(ref(x))
    ours.build(x.shape)
    ours.set_weights(ref.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), want, atol=1e-5)
    keras.backend.clear_session()
