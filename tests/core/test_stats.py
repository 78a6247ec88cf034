"""Population statistics against hand-computed values and independent-Bernoulli expectations."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf.core import stats
from napari_vaemf.core.errors import InputError, ParameterError

# 4 bins x 3 units, worked by hand below.
X = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 0], [1, 1, 1]], dtype=np.uint8)


def test_rates_and_covariances_by_hand():
    np.testing.assert_allclose(stats.firing_rates(X), [0.75, 0.5, 0.5])
    c = stats.covariances(X)
    # E[x0 x1] = 2/4, m0 m1 = 0.375 -> 0.125 ; E[x1 x2] = 1/4 - 0.25 = 0 ; var x0 = 0.1875
    assert c[0, 1] == pytest.approx(0.125)
    assert c[1, 2] == pytest.approx(0.0)
    assert c[0, 0] == pytest.approx(0.1875)
    assert c[0, 2] == pytest.approx(0.5 - 0.375)
    r = stats.correlations(X)
    assert r[0, 1] == pytest.approx(0.125 / np.sqrt(0.1875 * 0.25))
    np.testing.assert_allclose(np.diag(r), 1.0)


def test_activity_distribution_by_hand_and_spins():
    np.testing.assert_allclose(stats.activity_distribution(X), [0.25, 0.0, 0.5, 0.25])
    # the same raster as ±1 spins gives the same P(K)
    np.testing.assert_allclose(stats.activity_distribution(2 * X.astype(int) - 1), [0.25, 0, 0.5, 0.25])


def test_triplet_cumulant_by_hand():
    d = X - X.mean(axis=0)
    want = np.mean(d[:, 0] * d[:, 1] * d[:, 2])
    got = stats.triplet_cumulants(X, np.array([[0, 1, 2]]))
    assert got[0] == pytest.approx(want)
    # (x0-.75)(x1-.5)(x2-.5) per row: .25*-.5*.5, .25*.5*-.5, -.75*-.5*-.5, .25*.5*.5
    assert got[0] == pytest.approx((-0.0625 - 0.0625 - 0.1875 + 0.0625) / 4)


def test_triplet_indices_all_and_subset():
    t = stats.triplet_indices(5, max_triplets=None)
    assert len(t) == 10 and np.all(t[:, 0] < t[:, 1]) and np.all(t[:, 1] < t[:, 2])
    s = stats.triplet_indices(30, max_triplets=50, seed=3)
    assert len(s) == 50 and len({tuple(r) for r in s}) == 50
    np.testing.assert_array_equal(s, stats.triplet_indices(30, max_triplets=50, seed=3))
    with pytest.raises(ParameterError):
        stats.triplet_indices(2)


def test_independent_bernoulli_expectations():
    rng = np.random.default_rng(0)
    p = np.linspace(0.05, 0.4, 8)
    x = (rng.random((200_000, 8)) < p).astype(np.uint8)
    st = stats.population_stats(x)
    np.testing.assert_allclose(st.rates, p, atol=4e-3)
    off = st.cov[~np.eye(8, dtype=bool)]
    assert np.abs(off).max() < 4e-3
    np.testing.assert_allclose(np.diag(st.cov), p * (1 - p), atol=3e-3)
    # P(K) of independent units is the Poisson-binomial distribution
    pk = np.array([1.0])
    for pi in p:
        pk = np.convolve(pk, [1 - pi, pi])
    np.testing.assert_allclose(st.pk, pk, atol=4e-3)
    assert np.abs(st.c3).max() < 2e-3


def test_compare_identical_and_kl_smoothing():
    rng = np.random.default_rng(1)
    x = (rng.random((5000, 6)) < 0.3).astype(np.uint8)
    st = stats.population_stats(x)
    c = stats.compare(st, st)
    assert c["rates_rel_rms"] == 0.0 and c["kl_pk"] == pytest.approx(0.0)
    assert c["cov_corr"] == pytest.approx(1.0) and c["triplet_corr"] == pytest.approx(1.0)
    # KL with a model that never visits K=2: that bin gets half a count
    p_data = np.array([0.5, 0.25, 0.25])
    counts = np.array([2.0, 2.0, 0.0])
    q = np.array([2, 2, 0.5]) / 4.5
    assert stats.kl_activity(p_data, counts) == pytest.approx(np.sum(p_data * np.log(p_data / q)))


def test_rates_rel_rms_and_cov_corr_by_hand():
    assert stats.rates_rel_rms([1.0, 2.0], [1.0, 1.0]) == pytest.approx(1 / np.sqrt(2))
    a = np.array([[1, 1, 2], [1, 1, 3], [2, 3, 1]], float)
    b = np.array([[9, 2, 4], [2, 9, 6], [4, 6, 9]], float)
    assert stats.cov_correlation(a, b) == pytest.approx(1.0)  # (1,2,3) vs (2,4,6)


def test_split_half_by_repeats_and_noise_floor():
    x = np.arange(6 * 2 * 3).reshape(12, 3) % 2  # 6 repeats of 2 bins
    even, odd = stats.split_half(x, repeats=6)
    np.testing.assert_array_equal(even, np.concatenate([x[0:2], x[4:6], x[8:10]]))
    np.testing.assert_array_equal(odd, np.concatenate([x[2:4], x[6:8], x[10:12]]))
    with pytest.raises(ParameterError):
        stats.split_half(x, repeats=5)
    rng = np.random.default_rng(2)
    y = (rng.random((40_000, 10)) < 0.2).astype(np.uint8)
    floor = stats.noise_floor(y)
    assert 0 < floor["rates_rel_rms"] < 0.03 and floor["kl_pk"] < 1e-3


def test_bad_input():
    with pytest.raises(InputError):
        stats.firing_rates(np.zeros(5))


def test_bits_right_permutation_sign_and_errors():
    rng = np.random.default_rng(0)
    xi = rng.choice([-1, 1], size=(40, 3))
    est = -xi[:, [2, 0, 1]].copy()
    frac, per = stats.bits_right(est, xi)
    assert frac == 1.0 and np.all(per == 1.0)
    est[:4, 0] *= -1  # 4 wrong bits in true pattern 2
    frac, per = stats.bits_right(est, xi)
    assert per[2] == pytest.approx(36 / 40) and frac == pytest.approx((2 + 0.9) / 3)
    frac, per = stats.bits_right(xi[:, :2], xi)  # a missing pattern counts as chance
    assert per[2] == 0.5


def test_spins_use_the_binary_convention():
    s = 2 * X.astype(int) - 1
    np.testing.assert_allclose(stats.firing_rates(s), stats.firing_rates(X))
    np.testing.assert_allclose(stats.covariances(s), stats.covariances(X))


def _enumerate_mixture(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All 2^N configurations and their probabilities under the mixture of p's rows."""
    n = p.shape[1]
    x = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)  # (2^N, N)
    lik = np.prod(np.where(x[None] == 1, p[:, None, :], 1 - p[:, None, :]), axis=-1)  # (S, 2^N)
    return x, lik.mean(0)


def test_mixture_stats_match_exhaustive_enumeration():
    """Exact-given-z statistics of a 5-draw mixture on N = 7 units vs enumerating 2^7 states."""
    rng = np.random.default_rng(3)
    p = rng.uniform(0.02, 0.98, size=(5, 7))
    x, w = _enumerate_mixture(p)
    m = w @ x
    cov = (x * w[:, None]).T @ x - np.outer(m, m)
    tri = stats.triplet_indices(7, None)
    d = x - m
    c3 = np.einsum("s,sm,sm,sm->m", w, d[:, tri[:, 0]], d[:, tri[:, 1]], d[:, tri[:, 2]])
    pk = np.bincount(x.sum(1).astype(int), weights=w, minlength=8)
    st = stats.mixture_stats([p[:2], p[2:]], tri)  # chunks add up
    np.testing.assert_allclose(st.rates, m, atol=1e-12)
    np.testing.assert_allclose(st.cov, cov, atol=1e-12)
    np.testing.assert_allclose(st.c3, c3, atol=1e-12)
    np.testing.assert_allclose(st.pk, pk, atol=1e-12)
    assert st.n_samples == 5 and np.isclose(st.pk_counts.sum(), 5)
    np.testing.assert_allclose(np.diag(st.corr), 1.0)


def test_mixture_stats_agree_with_sampled_configurations():
    """The same mixture, sampled: sampled statistics converge to the exact-given-z ones."""
    rng = np.random.default_rng(4)
    p = rng.uniform(0.05, 0.6, size=(400, 12))
    idx = rng.integers(0, 400, 200000)
    x = (rng.random((200000, 12)) < p[idx]).astype(np.int8)
    exact, sampled = stats.mixture_stats(p), stats.population_stats(x)
    assert np.abs(exact.rates - sampled.rates).max() < 0.005
    assert np.abs(exact.cov - sampled.cov).max() < 0.003
    assert stats.kl_activity(sampled.pk, exact.pk_counts) < 2e-4


def test_mixture_stats_bad_input():
    with pytest.raises(ValueError, match="probabilities"):
        stats.mixture_stats(np.full((3, 4), 1.5))
    with pytest.raises(ValueError, match="2 latent draws"):
        stats.mixture_stats(np.full((1, 4), 0.5))


def test_spectral_dimension_counts_collective_directions():
    rng = np.random.default_rng(4)
    t, n = 5000, 60
    assert stats.spectral_dimension(rng.integers(0, 2, (t, n))) == 0  # independent units
    for p in (1, 3):  # p hidden ±1 patterns, each switched on by its own latent
        xi = rng.choice([-1.0, 1.0], (n, p))
        field = rng.standard_normal((t, p)) @ xi.T
        x = np.where(rng.random((t, n)) < 1 / (1 + np.exp(-field)), 1, -1)
        assert stats.spectral_dimension(x) == p
    x = rng.integers(0, 2, (t, n))
    x[:, 0] = 1  # a constant unit is left out, not a direction
    assert stats.spectral_dimension(x) == 0


def test_chunked_population_stats_equal_the_whole_raster():
    from napari_vaemf.core.stats import population_stats, population_stats_chunks

    rng = np.random.default_rng(3)
    z = rng.standard_normal((3000, 1))
    x = (rng.random((3000, 9)) < 1 / (1 + np.exp(-(z - 1.0)))).astype(np.int8)
    tri = np.array([[0, 1, 2], [1, 4, 8], [2, 3, 7]])
    whole = population_stats(x.astype(np.float64), tri)
    parts = population_stats_chunks((x[a:a + 700] for a in range(0, 3000, 700)), tri)
    for name in ("rates", "cov", "corr", "pk", "pk_counts", "c3"):
        np.testing.assert_allclose(getattr(parts, name), getattr(whole, name), atol=1e-12, err_msg=name)
    assert parts.n_samples == 3000 and abs(parts.c3).max() > 1e-4  # the cumulants are not all 0
    counts = x * rng.integers(1, 4, x.shape)  # counts above 1 take the float64 path
    np.testing.assert_allclose(population_stats_chunks([counts[:1000], counts[1000:]]).cov,
                               population_stats(counts.astype(np.float64)).cov, atol=1e-12)
    with pytest.raises(ParameterError, match="spins"):
        population_stats_chunks([2 * x - 1])
    with pytest.raises(InputError, match="at least 2"):
        population_stats_chunks([x[:1]])
