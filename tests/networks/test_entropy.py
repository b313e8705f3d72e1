"""The factorized entropy prior (jpeg_deep.networks.entropy) against what it must be: a
probability distribution over the integers per channel, a rate that learns the entropy of a
known source, rounding at inference and noise in training, a bounded rate for outliers."""
import numpy as np
import pytest

import keras
from jpeg_deep.networks.entropy import FactorizedPrior

SCALES = np.array([0.5, 2.0, 6.0, 20.0])  # Laplacian scales of the four test channels


def _laplace_entropy(b):
    """Entropy in bits of round(Laplace(0, b)): P(k) = F(k + 1/2) - F(k - 1/2)."""
    k = np.arange(-4000, 4001, dtype=np.float64)

    def cdf(x):
        return np.where(x < 0, 0.5 * np.exp(np.minimum(x, 0) / b),
                        1 - 0.5 * np.exp(-np.maximum(x, 0) / b))

    p = cdf(k + 0.5) - cdf(k - 0.5)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def _integer_grid(channels, half=400):
    q = np.arange(-half, half + 1, dtype="float32")
    return np.repeat(q[:, None], channels, axis=1)[None, :, None, :]  # (1, n, 1, C)


def test_likelihoods_sum_to_one_per_channel():
    prior = FactorizedPrior()
    prior(np.zeros((1, 2, 2, 5), "float32"))
    p = np.asarray(prior.likelihood(_integer_grid(5)))
    np.testing.assert_allclose(p.sum(axis=(0, 1, 2)), 1.0, atol=1e-4)
    assert (p > 0).all()


def test_rate_learns_the_entropy_of_a_known_source():
    """Trained on rounded Laplacian samples (one scale per channel), the rate per symbol on
    fresh samples is the source's entropy within 2 %, and the distribution still sums to 1."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)

    def sample(n):
        return np.round(rng.laplace(0, SCALES, (n, 8, 8, len(SCALES)))).astype("float32")

    x = keras.Input((8, 8, len(SCALES)))
    prior = FactorizedPrior()
    _, bits = prior(x)
    model = keras.Model(x, bits)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=lambda _, b: b)
    train = sample(4096)
    model.fit(train, np.zeros(len(train)), batch_size=64, epochs=6, verbose=0)
    test = sample(1024)
    rate = -np.log2(np.asarray(prior.likelihood(test))).mean(axis=(0, 1, 2))
    for scale, r in zip(SCALES, rate):
        h = _laplace_entropy(scale)
        assert abs(r - h) < 0.02 * h, (scale, r, h)
    p = np.asarray(prior.likelihood(_integer_grid(len(SCALES), 2000)))
    np.testing.assert_allclose(p.sum(axis=(0, 1, 2)), 1.0, atol=1e-3)
    # the layer's own rate at inference is the sum of the same -log2 p over each sample
    _, bits = prior(test[:3])
    np.testing.assert_allclose(np.asarray(bits),
                               -np.log2(np.asarray(prior.likelihood(test[:3]))).sum(axis=(1, 2, 3)),
                               rtol=1e-5)


def test_rounding_at_inference_noise_in_training_and_the_step():
    prior = FactorizedPrior(step=0.5)
    y = np.random.default_rng(1).normal(0, 4, (3, 5, 5, 2)).astype("float32")
    y_hat, bits = prior(y)
    np.testing.assert_array_equal(np.asarray(y_hat), np.round(y / 0.5) * 0.5)
    assert np.asarray(bits).shape == (3,) and (np.asarray(bits) > 0).all()
    noisy, _ = prior(y, training=True)
    delta = np.asarray(noisy) - y
    assert np.abs(delta).max() <= 0.25 + 1e-6 and np.abs(delta).mean() > 0.05
    assert not np.allclose(np.asarray(noisy) / 0.5, np.round(np.asarray(noisy) / 0.5))


def test_outliers_cost_a_bounded_rate_and_bad_settings_are_refused():
    prior = FactorizedPrior(likelihood_bound=1e-9)
    y = np.zeros((1, 1, 1, 2), "float32")
    y[..., 0] = 1e6
    _, bits = prior(y)
    assert np.isfinite(np.asarray(bits)).all()
    assert float(np.asarray(bits)[0]) <= 2 * -np.log2(1e-9) + 1e-3
    with pytest.raises(ValueError, match="step"):
        FactorizedPrior(step=0)


def test_saved_and_loaded_with_its_model(tmp_path):
    x = keras.Input((4, 4, 3))
    prior = FactorizedPrior(filters=(2, 2), step=2.0)
    y_hat, bits = prior(x)
    model = keras.Model(x, [y_hat, bits])
    path = tmp_path / "prior.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    data = np.random.default_rng(2).normal(0, 5, (2, 4, 4, 3)).astype("float32")
    for a, b in zip(model.predict(data, verbose=0), again.predict(data, verbose=0)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
