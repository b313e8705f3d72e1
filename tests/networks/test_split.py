"""Cutting networks in two (jpeg_deep.networks.split): the halves compute the network exactly
at the paper's ResNet-50 split points and at those of a DCT network, points that other paths
go around are refused, and the bottleneck restores the shape it reduced."""
import numpy as np
import pytest

import keras
from jpeg_deep.networks import build
from jpeg_deep.networks.split import RESNET50_POINTS, ZeroInsertion, bottleneck, cut, split_points


def _inputs(model, seed=0):
    rng = np.random.default_rng(seed)
    x = [rng.normal(size=(2,) + tuple(i.shape[1:])).astype("float32") for i in model.inputs]
    return x[0] if len(x) == 1 else x


@pytest.mark.parametrize("name, points", [
    ("resnet50", list(RESNET50_POINTS.values())),
    ("late_concat_rfa", None),   # a DCT ResNet: Y and CbCr streams that join
])
def test_halves_compute_the_network(name, points):
    model = build(name, classes=5, input_size=64, width=0.125)
    available = split_points(model)
    points = points or available[-3:]
    assert set(points) <= set(available)
    x = _inputs(model)
    reference = np.asarray(model.predict(x, verbose=0))
    for at in points:
        front, back = cut(model, at)
        assert front.output.shape[1:] == model.get_layer(at).output.shape[1:]
        out = np.asarray(back.predict(front.predict(x, verbose=0), verbose=0))
        np.testing.assert_allclose(out, reference, rtol=1e-5, atol=1e-6)
        # the back half shares the network's weights: a change in one is seen by the other
        layer = model.layers[-1]
        assert any(w is v for w in back.weights for v in layer.weights)


def test_points_other_paths_go_around_are_refused():
    model = build("vgg16_dct", classes=5, input_size=64, width=0.125)
    points = split_points(model)
    assert "block5_pool" in points and "block4_pool" not in points  # CbCr joins after block4
    with pytest.raises(ValueError, match="block4_pool.*not a split point.*block5_pool"):
        cut(model, "block4_pool")
    with pytest.raises(ValueError, match="no layer 'nope'"):
        cut(model, "nope")


@pytest.mark.parametrize("kind", ["separable", "plain"])
@pytest.mark.parametrize("shape, stride", [((7, 9, 32), 2), ((8, 8, 16), 2), ((5, 5, 8), 1)])
def test_bottleneck_reduces_then_restores_the_shape(kind, shape, stride):
    encoder, decoder = bottleneck(shape, channels=4, stride=stride, kind=kind)
    x = np.random.default_rng(1).normal(size=(3, *shape)).astype("float32")
    code = np.asarray(encoder.predict(x, verbose=0))
    assert code.shape == (3, -(-shape[0] // stride), -(-shape[1] // stride), 4)
    assert np.asarray(decoder.predict(code, verbose=0)).shape == (3, *shape)


def test_zero_insertion_is_a_transposed_convolution_stride():
    x = np.arange(1, 7, dtype="float32").reshape(1, 2, 3, 1)
    out = np.asarray(ZeroInsertion(2, (4, 5))(x))[0, :, :, 0]
    np.testing.assert_array_equal(out, [[1, 0, 2, 0, 3], [0, 0, 0, 0, 0],
                                        [4, 0, 5, 0, 6], [0, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match="kind"):
        bottleneck((4, 4, 2), 2, kind="fancy")


def test_the_bottleneck_learns_to_reconstruct():
    """A short training of encoder + decoder on one feature map lowers the reconstruction
    error: the pair is trainable end to end (what the split procedure builds on)."""
    keras.utils.set_random_seed(0)
    encoder, decoder = bottleneck((8, 8, 6), channels=6, stride=1)
    x = keras.Input((8, 8, 6))
    model = keras.Model(x, decoder(encoder(x)))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    data = np.random.default_rng(2).normal(size=(64, 8, 8, 6)).astype("float32")
    before = model.evaluate(data, data, verbose=0)
    model.fit(data, data, epochs=30, batch_size=16, verbose=0)
    assert model.evaluate(data, data, verbose=0) < 0.5 * before


@pytest.mark.parametrize("name", ["vgg16_dct", "late_concat_rfa_thinner"])
def test_a_bottleneck_at_every_split_point_restores_the_shape(name):
    """Every split point of a VGG-DCT and a DCT ResNet whose output is a feature map takes a
    stride-2 bottleneck; the network with it inserted keeps its output shape."""
    model = build(name, classes=5, input_size=64, width=0.125)
    x = _inputs(model)
    maps = [at for at in split_points(model) if len(model.get_layer(at).output.shape) == 4]
    assert len(maps) >= 5
    for at in maps:
        front, back = cut(model, at)
        shape = tuple(front.output.shape[1:])
        encoder, decoder = bottleneck(shape, channels=3, stride=2)
        features = front.predict(x, verbose=0)
        code = encoder.predict(features, verbose=0)
        assert code.shape[1:] == (-(-shape[0] // 2), -(-shape[1] // 2), 3), at
        restored = decoder.predict(code, verbose=0)
        assert restored.shape == features.shape, at
        assert back.predict(restored, verbose=0).shape == (2, 5)
