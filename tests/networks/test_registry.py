"""Every registered network builds, predicts, saves, counts its parameters as the spec says, and
takes ImageNet-layout weights by layer name."""

import functools

import keras
import numpy as np
import pytest

from jpeg_deep.networks import UnknownNetworkError, build, names, spec
from jpeg_deep.networks.weights import load_weights

SMALL = 64      # pixels: Y 8x8, chroma 4x4
CLASSES = 5
WIDTH = 0.25    # forward-pass models: same graph, thinner (full widths: parameter counts)

# Parameter counts at 224 px, 1000 classes. "spec": the checksums of the papers' layer tables
# (the reference code's models); "ours": derived by this implementation where they give none.
SPEC_PARAMS = {
    "vgg16": 138_357_544,
    "vgg16_dct": 137_360_360,
    "vgg16_dct_y": 136_770_024,
    "vgg16_dct_deconv": 136_360_808,
    "resnet50": 25_636_712,
    "late_concat_rfa": 28_141_800,                 # [U] diagram
    "late_concat_rfa_dcode": 27_434_728,           # [D] code
    "late_concat_rfa_thinner": 24_759_080,         # [U] diagram
    "late_concat_rfa_thinner_dcode": 25_968_744,   # [D] code
    "late_concat_rfa_y": 27_596_776,
    "late_concat_rfa_y_thinner": 25_999_720,
    "deconvolution_rfa": 28_434_280,
}
OUR_PARAMS = {
    "upsampling": 25_366_760,
    "upsampling_rfa": 28_401_384,
    "downsampling": 28_713_960,
    "late_concat": 25_189_096,
    "dct_frozen": 28_413_684,
    "dct_learn": 28_413_684,
    "dct_ortho": 28_413_684,
    "dct_frozen_x2": 25_681_012,
    "channels_div_1_1": 21_313_735,
    "channels_div_sqrt2": 13_271_400,
    "channels_div_2": 6_967_464,
    "less_id_blocks_2": 25_493_608,
    "less_id_blocks_3": 25_293_800,
    "less_id_blocks_4": 25_011_432,
    "less_id_blocks_5": 24_729_064,
    "less_id_blocks_6": 24_446_696,
    "cb5_only": 17_513_448,
    "y_cb4_cbcr_cb5": 28_565_224,
}


def small_kwargs(name, **kw):
    kw = dict(classes=CLASSES, input_size=SMALL, **kw)
    if spec(name).fully_convolutional:
        kw["train_input_size"] = SMALL
    return kw


def sample_inputs(model, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 50, (batch,) + tuple(i.shape[1:])).astype("float32")
            for i in model.inputs]


@functools.cache
def param_count(name):
    """Parameters of ``name`` at 224 px, 1000 classes, built once per session, neither compiled
    nor initialised (variables created in a ``StatelessScope`` are only shaped)."""
    with keras.StatelessScope():
        count = _build_for_count(name).count_params()
    keras.backend.clear_session()
    return count


def _build_for_count(name):
    if name == "keras.applications.ResNet50":
        return keras.applications.ResNet50(weights=None)
    if name == "keras.applications.VGG16":
        return keras.applications.VGG16(weights=None)
    return build(name, input_size=224)


def test_every_network_is_tested():
    assert set(SPEC_PARAMS) | set(OUR_PARAMS) == {
        n for n in names() if not spec(n).fully_convolutional}


@pytest.mark.parametrize("name", names())
def test_builds_and_predicts(name):
    model = build(name, **small_kwargs(name, width=WIDTH))
    out = np.asarray(model(sample_inputs(model), training=False))
    assert out.shape == (2, CLASSES)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(out >= 0)
    keras.backend.clear_session()


@pytest.mark.parametrize("name", sorted(SPEC_PARAMS) + sorted(OUR_PARAMS))
def test_parameter_count(name):
    expected = SPEC_PARAMS.get(name) or OUR_PARAMS[name]
    assert param_count(name) == expected


@pytest.mark.parametrize("name, reference", [
    ("resnet50", "keras.applications.ResNet50"), ("vgg16", "keras.applications.VGG16")])
def test_rgb_baselines_match_keras_applications(name, reference):
    assert param_count(name) == param_count(reference)


def test_variable_input_size():
    model = build("late_concat_rfa", classes=CLASSES, input_size=None, width=0.125)
    for size in (64, 96):
        y = np.zeros((1, size // 8, size // 8 + 2, 64), "float32")
        c = np.zeros((1, size // 16, size // 16 + 1, 128), "float32")
        assert model([y, c]).shape == (1, CLASSES)
    keras.backend.clear_session()


@pytest.mark.parametrize("name, kw", [
    ("late_concat_rfa", dict(width=0.125)),
    ("deconvolution_rfa", dict(width=0.125)),
    ("dct_ortho", dict(width=0.125)),
    ("cb5_only", dict(width=0.125)),
    ("vgg16_dct_conv", dict(width=0.0625)),
])
def test_keras_save_load_round_trip(tmp_path, name, kw):
    model = build(name, **small_kwargs(name, **kw))
    x = sample_inputs(model)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(np.asarray(model(x, training=False)),
                                  np.asarray(loaded(x, training=False)))
    keras.backend.clear_session()


def test_unknown_name_lists_known_names():
    with pytest.raises(UnknownNetworkError) as info:
        build("resnet51")
    message = str(info.value)
    assert "resnet51" in message and "late_concat_rfa" in message and "vgg16_dct" in message


def test_dct_stems_start_as_the_dct_basis():
    from jpeg_deep.networks.resnet_uber import dct_basis

    basis = dct_basis().reshape(64, 64)
    np.testing.assert_allclose(basis.T @ basis, np.eye(64), atol=1e-5)  # orthonormal
    frozen = build("dct_frozen", **small_kwargs("dct_frozen", width=0.125))
    learn = build("dct_learn", **small_kwargs("dct_learn", width=0.125))
    assert not frozen.get_layer("conv_y").trainable and learn.get_layer("conv_y").trainable
    np.testing.assert_array_equal(frozen.get_layer("conv_cb").get_weights()[0], dct_basis())
    # a flat 8x8 block of value v has DC = 8 v in the orthonormal DCT, zero AC
    assert np.isclose(dct_basis()[:, :, 0, 0].sum() * 3.0, 24.0)
    keras.backend.clear_session()


# ---------------------------------------------------------------------------------------------
# weight transfer by name from keras.applications layouts

RESNET_SHARED = (
    [f"conv3_block1_{i}_{k}" for i in (2, 3) for k in ("conv", "bn")]
    + [f"conv3_block{b}_{i}_{k}" for b in (2, 3, 4) for i in (1, 2, 3) for k in ("conv", "bn")]
    + [f"conv4_block{b}_{i}_{k}" for b in range(2, 7) for i in (1, 2, 3) for k in ("conv", "bn")]
    + [f"conv5_block{b}_{i}_{k}" for b in (1, 2, 3) for i in (1, 2, 3) for k in ("conv", "bn")]
    + [f"conv5_block1_0_{k}" for k in ("conv", "bn")] + ["predictions"]
)


@pytest.fixture(scope="module")
def resnet50_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("resnet50")
    source = keras.applications.ResNet50(weights=None)
    source.save_weights(folder / "resnet50.weights.h5")
    source.save(folder / "resnet50.keras")
    values = {name: [np.asarray(w) for w in source.get_layer(name).get_weights()]
              for name in RESNET_SHARED}
    keras.backend.clear_session()
    return folder, values


@pytest.mark.parametrize("file", ["resnet50.weights.h5", "resnet50.keras"])
def test_resnet50_weights_into_late_concat_rfa(resnet50_files, file):
    folder, values = resnet50_files
    model = build("late_concat_rfa", input_size=SMALL)
    x = sample_inputs(model)
    before = np.asarray(model(x, training=False))
    report = load_weights(model, folder / file)
    assert set(RESNET_SHARED) <= set(report.loaded)
    assert {"conv3_block1_0_conv", "conv3_block1_1_conv"} <= set(report.skipped)  # 1024 inputs
    assert "rfa_block1_1_conv" in report.missing and "y_conv4_block1_1_conv" in report.missing
    for name, arrays in values.items():
        for got, want in zip(model.get_layer(name).get_weights(), arrays):
            np.testing.assert_array_equal(got, want)
    assert not np.allclose(before, np.asarray(model(x, training=False)))
    keras.backend.clear_session()


def test_resnet50_weights_load_fully_into_resnet50(resnet50_files):
    folder, _ = resnet50_files
    model = build("resnet50", input_size=SMALL)
    report = load_weights(model, folder / "resnet50.weights.h5", strict=True)
    assert len(report.loaded) == 107
    keras.backend.clear_session()


@pytest.fixture
def imagenet_download(tmp_path, monkeypatch):
    """keras.applications' download (``keras.utils.get_file``) replaced by files built here, in
    the downloaded files' layout: ``serve(app, include_top)`` writes one and returns the
    reference model's weights; ``asked`` lists the file names keras.applications asked for."""
    from keras.src.utils import file_utils

    from jpeg_deep.networks.weights import model_layer_weights, write_weight_file

    files, asked = {}, []

    def get_file(fname, origin=None, *args, **kwargs):
        asked.append(fname)
        if fname not in files:
            raise OSError(f"no network here: {origin}")
        return str(files[fname])

    def serve(app, include_top):
        reference = getattr(keras.applications, app)(weights=None, include_top=include_top)
        name = (f"{app.lower()}_weights_tf_dim_ordering_tf_kernels"
                f"{'' if include_top else '_notop'}.h5")
        weights = model_layer_weights(reference)
        write_weight_file(weights, tmp_path / name)
        files[name] = tmp_path / name
        del reference
        keras.backend.clear_session()
        return weights

    monkeypatch.setattr(file_utils, "get_file", get_file)
    serve.asked = asked
    return serve


def test_imagenet_weights_through_keras_applications(imagenet_download):
    """weights = "imagenet": keras.applications fetches its file (here: a local one) and the
    layers sharing names load; the classifier's top is asked for because it has one."""
    want = imagenet_download("ResNet50", include_top=True)
    model = build("late_concat_rfa", input_size=SMALL)
    x = sample_inputs(model)
    before = np.asarray(model(x, training=False))
    report = load_weights(model, "imagenet")
    assert imagenet_download.asked == ["resnet50_weights_tf_dim_ordering_tf_kernels.h5"]
    assert set(RESNET_SHARED) <= set(report.loaded)
    assert "rfa_block1_1_conv" in report.missing
    for name in RESNET_SHARED:
        for got, expected in zip(model.get_layer(name).get_weights(), want[name]):
            np.testing.assert_array_equal(got, expected)
    assert not np.allclose(before, np.asarray(model(x, training=False)))
    keras.backend.clear_session()


def test_imagenet_backbone_weights_into_an_ssd(imagenet_download):
    """backbone_weights = "imagenet" for SSD300 on ResNet-50: the file without the top, every
    ResNet backbone layer loads; the SSD's own layers are left as initialised."""
    from jpeg_deep.networks.ssd import backbone_layer_names, init_from_classifier

    want = imagenet_download("ResNet50", include_top=False)
    ssd = build("ssd300_resnet50", input_size=96, width=1.0)
    report = init_from_classifier(ssd, "imagenet")
    assert imagenet_download.asked == ["resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"]
    assert set(backbone_layer_names(ssd)) <= set(report.loaded)
    np.testing.assert_array_equal(ssd.get_layer("conv4_block6_3_conv").get_weights()[0],
                                  want["conv4_block6_3_conv"][0])
    keras.backend.clear_session()


def test_imagenet_weights_errors_name_the_cause(imagenet_download):
    from jpeg_deep.networks.weights import WeightsError

    inputs = keras.Input((8, 8, 3))
    plain = keras.Model(inputs, keras.layers.Dense(2, name="head")(inputs))
    with pytest.raises(WeightsError, match="shares no layer name with keras.applications"):
        load_weights(plain, "imagenet")
    assert imagenet_download.asked == []  # nothing fetched for a network that cannot use it
    model = build("resnet50", input_size=SMALL)  # nothing served: the download fails
    with pytest.raises(WeightsError, match=r"keras.applications.ResNet50 could not fetch.*"
                                           r"no network here.*~/.keras/models"):
        load_weights(model, "imagenet")
    keras.backend.clear_session()


@pytest.mark.parametrize("suffix", [".weights.h5", ".keras"])
def test_vgg16_weights_into_vgg16_dct(tmp_path, suffix):
    source = keras.applications.VGG16(weights=None, input_shape=(32, 32, 3))  # fc1: 512 in
    path = tmp_path / f"vgg16{suffix}"
    source.save_weights(path) if suffix == ".weights.h5" else source.save(path)
    shared = ["block4_conv1", "block4_conv2", "block4_conv3", "block5_conv2", "block5_conv3",
              "fc1", "fc2", "predictions"]
    values = {n: [np.asarray(w) for w in source.get_layer(n).get_weights()] for n in shared}
    del source
    model = build("vgg16_dct", input_size=32)
    x = sample_inputs(model, batch=1)
    before = np.asarray(model(x, training=False))
    report = load_weights(model, path)
    # fc1 sees the same pooled block5 map in both networks (7x7x512 at 224 px), so it loads
    # too; block5_conv1 sees 640 channels (512 + CbCr 128).
    assert sorted(report.loaded) == sorted(shared)
    assert list(report.skipped) == ["block5_conv1"] and "shape" in report.skipped["block5_conv1"]
    for name, arrays in values.items():
        for got, want in zip(model.get_layer(name).get_weights(), arrays):
            np.testing.assert_array_equal(got, want)
    assert not np.allclose(before, np.asarray(model(x, training=False)))
    keras.backend.clear_session()
