"""Bitstreams of quantised features (jpeg_deep.networks.streams): exact round trips, escaped
outliers, empty channels, the real size against the entropy model's estimate, and refused
streams (truncated, corrupt, foreign)."""
import numpy as np
import pytest

from jpeg_deep.networks import streams as S


def _tables(channels=4, scale=2.0):
    """Tables of discretised Laplace distributions of growing scale (one per channel)."""
    los, pmfs = [], []
    for c in range(channels):
        b = scale * (c + 1)
        grid = np.arange(-40 * (c + 1), 40 * (c + 1) + 1)
        p = np.exp(-np.abs(grid) / b)
        p /= p.sum()
        los.append(int(grid[0]))
        pmfs.append(np.append(p * (1 - 1e-4), 1e-4))
    return S.CodeTables(tuple(los), tuple(pmfs))


def _laplace(shape, tables, seed=0):
    rng = np.random.default_rng(seed)
    out = np.empty(shape, np.int64)
    for c in range(shape[-1]):
        out[..., c] = np.round(rng.laplace(0, 2.0 * (c + 1), shape[:-1]))
    return out


def test_round_trip_is_exact_with_escaped_outliers_and_empty_channels():
    tables = _tables()
    symbols = _laplace((6, 7, 4), tables)
    symbols[0, 0, 0] = 30000     # far outside channel 0's table: escaped, not clipped
    symbols[1, 2, 3] = -32768
    symbols[..., 2] = 0          # a channel with one value only
    data = S.encode(symbols, tables, image_size=(75, 106))
    header = S.read_header(data)
    assert header.shape == (6, 7, 4) and header.image_size == (75, 106)
    assert header.identity == tables.identity
    out = S.decode(data, tables, shape=(6, 7, 4))
    assert out.dtype == np.int32 and np.array_equal(out, symbols)
    empty = np.zeros((0, 5, 4), np.int64)
    assert S.decode(S.encode(empty, tables), tables).shape == (0, 5, 4)


def test_values_beyond_16_bits_are_refused_not_clipped():
    tables = _tables()
    symbols = np.zeros((2, 2, 4), np.int64)
    symbols[1, 1, 1] = 40000
    with pytest.raises(ValueError, match="40000 exceed the codable range"):
        S.encode(symbols, tables)


def test_real_size_is_the_estimate_within_2_percent_plus_the_header():
    tables = _tables()
    symbols = _laplace((16, 16, 4), tables, seed=3)
    estimate = 0.0
    for c in range(4):
        index = symbols[..., c].ravel() - tables.lo[c]
        estimate -= np.log2(tables.pmf[c][index]).sum()
    data = S.encode(symbols, tables)
    payload_bits = 8 * (len(data) - S.HEADER_BYTES)
    assert estimate <= payload_bits <= 1.02 * estimate + 64  # + the sealed last words


def test_truncated_corrupt_and_foreign_streams_are_refused():
    tables, other = _tables(), _tables(scale=3.0)
    data = S.encode(_laplace((5, 5, 4), tables), tables)
    with pytest.raises(S.StreamError, match="CRC-32"):
        S.decode(data[:-4], tables)
    with pytest.raises(S.StreamError, match="CRC-32"):
        S.decode(data[:-1], tables)
    with pytest.raises(S.StreamError, match="shorter than the 22-byte header"):
        S.decode(data[:10], tables)
    damaged = bytearray(data)
    damaged[-3] ^= 0x40
    with pytest.raises(S.StreamError, match="CRC-32"):
        S.decode(bytes(damaged), tables)
    with pytest.raises(S.StreamError, match="another model"):
        S.decode(data, other)
    with pytest.raises(S.StreamError, match="no JDS magic"):
        S.decode(b"\xff\xd8" + data[2:], tables)
    with pytest.raises(S.StreamError, match="this model makes"):
        S.decode(data, tables, shape=(4, 5, 4))


def test_tables_of_a_trained_entropy_model_code_its_symbols():
    """Tables exported from a FactorizedPrior fitted to a Laplace source: the coded size is the
    model's own estimate (-sum log2 likelihood) within 2 %, and the tables survive .npz."""
    import keras

    from jpeg_deep.networks.entropy import FactorizedPrior

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    data = rng.laplace(0, 3.0, (512, 4, 4, 2)).astype("float32")
    prior = FactorizedPrior()
    x = keras.Input((4, 4, 2))
    _, bits = prior(x)
    model = keras.Model(x, bits)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=lambda _, b: b)
    model.fit(data, np.zeros(len(data)), batch_size=64, epochs=15, verbose=0)
    tables = S.CodeTables.from_prior(prior, 2)
    tables = S.CodeTables.from_arrays(tables.to_arrays())
    symbols = np.round(rng.laplace(0, 3.0, (32, 32, 2))).astype(np.int64)
    estimate = float(-np.log2(keras.ops.convert_to_numpy(
        prior.likelihood(symbols[None].astype("float32")))).sum())
    stream = S.encode(symbols, tables)
    assert np.array_equal(S.decode(stream, tables), symbols)
    payload_bits = 8 * (len(stream) - S.HEADER_BYTES)
    assert abs(payload_bits - estimate) <= 0.02 * estimate + 64
