"""Baselines against exact enumeration at small N."""
from __future__ import annotations

from itertools import product

import numpy as np
import pytest
from scipy.special import logsumexp

from napari_vaemf.core import baselines as bl
from napari_vaemf.core import stats


def _states(n: int, spin: bool) -> np.ndarray:
    s = np.array(list(product([0, 1], repeat=n)), dtype=float)
    return 2 * s - 1 if spin else s


def _exact_hopfield(h, xi, spin):
    x = _states(len(h), spin)
    q = x @ xi
    logw = x @ h + (q * q).sum(1) / (2 * len(h))
    return x, logw - logsumexp(logw)


def _draw(x, logp, t, seed):
    rng = np.random.default_rng(seed)
    return x[rng.choice(len(x), size=t, p=np.exp(logp))]


def test_independent_model_log_prob_and_samples():
    rng = np.random.default_rng(0)
    x = (rng.random((4000, 5)) < [0.1, 0.2, 0.3, 0.4, 0.5]).astype(np.uint8)
    m = bl.IndependentModel.fit(x)
    p = x.mean(0)
    want = x @ np.log(p) + (1 - x) @ np.log(1 - p)
    np.testing.assert_allclose(m.log_prob(x), want)
    assert m.n_parameters == 5
    np.testing.assert_allclose(stats.firing_rates(m.sample(20000, seed=1)), p, atol=0.01)
    spins = bl.IndependentModel.fit(2 * x.astype(int) - 1).sample(10, seed=0)
    assert set(np.unique(spins)) <= {-1, 1}


@pytest.mark.parametrize("spin", [False, True])
def test_hopfield_model_matches_enumeration(spin):
    rng = np.random.default_rng(1)
    n, p = 8, 2
    h = rng.normal(0, 0.3, n) - (0 if spin else 1.0)
    xi = rng.normal(0, 1.2, (n, p))
    x, logp = _exact_hopfield(h, xi, spin)
    m = bl.HopfieldModel(h=h, xi=xi, encoding="spin" if spin else "binary")
    np.testing.assert_allclose(m.log_prob(x), logp, atol=0.03)
    s = m.sample(40000, seed=2)
    prob = np.exp(logp)
    np.testing.assert_allclose(s.mean(0), prob @ x, atol=0.02)
    xb = (x + 1) / 2 if spin else x  # stats work in the {0, 1} convention
    c_exact = (xb * prob[:, None]).T @ xb - np.outer(prob @ xb, prob @ xb)
    np.testing.assert_allclose(stats.covariances(s), c_exact, atol=0.02)
    assert m.n_parameters == n + n * p


def test_pairwise_gibbs_matches_enumeration():
    rng = np.random.default_rng(3)
    n = 6
    J = rng.normal(0, 0.7, (n, n))
    J = np.triu(J, 1) + np.triu(J, 1).T
    h = rng.normal(-0.3, 0.5, n)
    x = _states(n, False)
    logw = x @ h + 0.5 * np.einsum("si,ij,sj->s", x, J, x)
    prob = np.exp(logw - logsumexp(logw))
    s = bl.PairwiseModel(h=h, J=J, chains=400, burn_in=100, thin=2).sample(30000, seed=4)
    np.testing.assert_allclose(s.mean(0), prob @ x, atol=0.02)
    pair = (x * prob[:, None]).T @ x
    np.testing.assert_allclose(s.T.astype(float) @ s / len(s), pair, atol=0.02)
    assert bl.PairwiseModel(h=h, J=J).loglik(s) is None


def test_cms_full_rank_is_mean_field_inverse_and_recovers_pattern():
    rng = np.random.default_rng(5)
    n = 12
    xi_true = rng.choice([-1.0, 1.0], size=(n, 1))
    x, logp = _exact_hopfield(np.zeros(n), np.sqrt(1.6) * xi_true, spin=True)
    s = _draw(x, logp, 20000, seed=6)
    m = bl.fit_cms(s, n_attractive=1)
    assert m.encoding == "spin" and m.patterns.shape == (n, 1)
    assert stats.bits_right(m.patterns, xi_true)[0] == 1.0
    # all N directions: J must be the mean-field inverse D^-1 - C^-1 off the diagonal
    full = bl.fit_cms(s, n_patterns=n)
    b = (s + 1) / 2
    c = np.cov(b.T, bias=True)
    jmf = np.diag(1 / np.diag(c)) - np.linalg.inv(c)
    off = ~np.eye(n, dtype=bool)
    np.testing.assert_allclose(full.J[off], jmf[off], atol=1e-6)
    samples = m.sample(5000, seed=1)
    assert samples.shape == (5000, n) and set(np.unique(samples)) <= {-1, 1}


def test_rbm_exact_log_partition_and_sampling():
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(7)
    x = (rng.random((500, 6)) < 0.3).astype(np.uint8)
    m = bl.fit_rbm(x, n_hidden=3, n_iter=5, seed=0, method="pcd")  # scikit-learn's RBM
    v = _states(6, False)
    # free energy summed over all visible states must normalise
    assert np.exp(logsumexp(m.log_prob(v))) == pytest.approx(1.0, abs=1e-9)
    assert m.n_parameters == 6 * 3 + 6 + 3
    assert m.sample(50, seed=0).shape == (50, 6)


def test_peers_recover_well_separated_patterns():
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(8)
    n = 14
    xi = rng.choice([-1.0, 1.0], size=(n, 2))
    xi[:, 1] = xi[:, 0] * np.where(np.arange(n) < n // 2, 1, -1)  # orthogonal pair
    x, logp = _exact_hopfield(np.zeros(n), np.sqrt(2.0) * xi, spin=True)
    s = _draw(x, logp, 8000, seed=9)
    for est in (bl.kmeans_patterns(s, 2), bl.pca_ica_patterns(s, 2)):
        assert est.shape == (n, 2)
        assert stats.bits_right(est, xi)[0] == 1.0


@pytest.mark.parametrize("spin", [False, True])
def test_hopfield_model_with_repulsive_patterns_matches_enumeration(spin):
    """Attractive + repulsive patterns: sequential Gibbs samples and the nested log Z estimate
    against the exact distribution of 2^8 states."""
    rng = np.random.default_rng(5)
    n = 8
    h = rng.normal(0, 0.3, n) - (0 if spin else 0.5)
    xi, xr = rng.normal(0, 1.2, (n, 1)), rng.normal(0, 1.5, (n, 2))
    x = _states(n, spin)
    logw = x @ h + ((x @ xi) ** 2).sum(1) / (2 * n) - ((x @ xr) ** 2).sum(1) / (2 * n)
    logp = logw - logsumexp(logw)
    m = bl.HopfieldModel(h=h, xi=xi, xr=xr, encoding="spin" if spin else "binary")
    np.testing.assert_allclose(m.J, (xi @ xi.T - xr @ xr.T) / n)
    assert abs(m.log_partition(n_is=100000) - logsumexp(logw)) < 0.02
    np.testing.assert_allclose(m.log_prob(x), logp, atol=0.02)
    s = m.sample(40000, seed=2)
    prob = np.exp(logp)
    np.testing.assert_allclose(s.mean(0), prob @ x, atol=0.02)
    xb = (x + 1) / 2 if spin else x
    c_exact = (xb * prob[:, None]).T @ xb - np.outer(prob @ xb, prob @ xb)
    np.testing.assert_allclose(stats.covariances(s), c_exact, atol=0.02)
    assert m.n_parameters == n + 3 * n
    only_rep = bl.HopfieldModel(h=h, xi=np.zeros((n, 0)), xr=xr, encoding="spin" if spin else "binary")
    logw0 = x @ h - ((x @ xr) ** 2).sum(1) / (2 * n)
    assert abs(only_rep.log_partition(n_is=100000) - logsumexp(logw0)) < 0.02
