"""Hopfield sampler against exhaustive enumeration and the mean-field retrieval solution."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.progress import drive
from napari_vaemf.core.samplers import (
    hopfield_exact_distribution,
    hopfield_mean_field,
    hopfield_patterns,
    integrated_autocorrelation_time,
    sample_hopfield,
)


def _brute_force(xi, beta, h):
    """Boltzmann weights of every state, written out from the energy definition."""
    n = xi.shape[0]
    states = np.array(list(itertools.product((-1, 1), repeat=n)))
    e = np.array([-sum((xi[:, mu] @ s) ** 2 for mu in range(xi.shape[1])) / (2 * n) - h @ s
                  for s in states])
    w = np.exp(-beta * (e - e.min()))
    return states, w / w.sum()


def _state_index(x):
    n = x.shape[1]
    return (x > 0).astype(np.int64) @ (2 ** np.arange(n - 1, -1, -1))


def _tv(x, p):
    q = np.bincount(_state_index(x), minlength=p.size) / len(x)
    return 0.5 * np.abs(q - p).sum()


def test_exact_distribution_matches_brute_force():
    xi = hopfield_patterns(8, 2, bias=0.3, seed=4)
    h = np.linspace(-0.2, 0.3, 8)
    states, p = hopfield_exact_distribution(xi, 1.3, h)
    s2, p2 = _brute_force(xi.astype(float), 1.3, h)
    np.testing.assert_array_equal(states, s2)
    np.testing.assert_allclose(p, p2, rtol=1e-10)


@pytest.mark.slow
def test_tv_to_enumeration_small_and_shrinking():
    """N=12, two planted patterns, retrieval phase (beta=1.6): TV falls like 1/sqrt(T)."""
    xi = hopfield_patterns(12, 2, seed=7)
    _, p = hopfield_exact_distribution(xi, 1.6)
    # iid expectation of the TV distance: 0.5 * sum sqrt(2 p (1-p) / (pi T))
    iid = lambda t: 0.5 * np.sqrt(2 * p * (1 - p) / (np.pi * t)).sum()  # noqa: E731
    tvs = []
    for t in (4000, 64000):
        res = drive(sample_hopfield(12, patterns=xi, beta=1.6, samples=t, seed=1), bar=False)
        tvs.append(_tv(res.configurations, p))
        assert tvs[-1] < 2.5 * iid(t), (t, tvs[-1], iid(t))
    assert tvs[1] < 0.5 * tvs[0]
    assert tvs[1] < 0.08


def test_biased_patterns_and_field_match_enumeration():
    xi = hopfield_patterns(10, 3, bias=0.4, seed=2)
    h = np.full(10, -0.15)
    _, p = hopfield_exact_distribution(xi, 1.2, h)
    res = drive(sample_hopfield(10, patterns=xi, beta=1.2, h=h, samples=40000, seed=3), bar=False)
    t = 40000
    assert _tv(res.configurations, p) < 2.5 * 0.5 * np.sqrt(2 * p * (1 - p) / (np.pi * t)).sum()
    np.testing.assert_array_equal(res.truth["patterns"], xi)


def _laplace_state_weights(xi, beta):
    """Weight of each retrieval state from the saddle point of the Hubbard-Stratonovich
    integral, Z_mu ~ exp(Phi(m*)) / sqrt(det(-Phi''(m*))), with
    Phi(m) = -N beta |m|^2 / 2 + sum_i log 2 cosh(beta xi_i . m)."""
    xi = xi.astype(float)
    n, p = xi.shape
    log_z = []
    for mu in range(p):
        m = hopfield_mean_field(xi, beta, m0=np.eye(p)[mu])
        a = beta * xi @ m
        phi = -beta * n * m @ m / 2 + np.logaddexp(a, -a).sum()
        hess = -beta * n * np.eye(p) + beta**2 * (xi.T * (1 - np.tanh(a) ** 2)) @ xi
        log_z.append(phi - 0.5 * np.linalg.slogdet(-hess)[1])
    w = np.exp(np.array(log_z) - max(log_z))
    return w / w.sum()


@pytest.mark.slow
def test_large_n_visits_all_2p_retrieval_states_with_mean_field_overlap():
    n, p_, beta = 400, 3, 1.4
    res = drive(sample_hopfield(n, p_, beta=beta, samples=64 * 300, seed=5), bar=False)
    xi = res.truth["patterns"]
    ov = res.truth["overlaps"]  # (T, P)
    mu = np.abs(ov).argmax(axis=1)
    sign = np.sign(ov[np.arange(len(ov)), mu])
    m_star = np.array([hopfield_mean_field(xi, beta, m0=np.eye(p_)[k])[k] for k in range(p_)])
    assert m_star.min() > 0.75  # retrieval phase; tanh(1.4 m) = m gives 0.814
    assert np.abs(ov).max(axis=1).mean() == pytest.approx(m_star.mean(), abs=0.02)
    # h = 0: s -> -s symmetry makes +xi and -xi equally likely; every one of 2P states is visited
    for k in range(p_):
        plus, minus = ((mu == k) & (sign > 0)).sum(), ((mu == k) & (sign < 0)).sum()
        assert min(plus, minus) > 0.05 * len(ov)
        assert abs(plus - minus) / (plus + minus) < 0.25
    # the weights of the P patterns follow the saddle-point (Laplace) free energies
    frac = np.bincount(mu, minlength=p_) / len(mu)
    np.testing.assert_allclose(frac, _laplace_state_weights(xi, beta), atol=0.05)
    diag = res.params["diagnostics"]
    assert diag["tau_int_m1_sweeps"] >= 1.0 and len(diag["swap_acceptance"]) >= 2


def test_autocorrelation_time_of_ar1():
    rng = np.random.default_rng(0)
    a, x = 0.8, np.zeros((20000, 8))
    for i in range(1, len(x)):
        x[i] = a * x[i - 1] + rng.standard_normal(8)
    assert integrated_autocorrelation_time(x) == pytest.approx((1 + a) / (1 - a), rel=0.15)


def test_deterministic_stoppable_and_errors():
    a = drive(sample_hopfield(30, 2, samples=200, seed=9), bar=False)
    b = drive(sample_hopfield(30, 2, samples=200, seed=9), bar=False)
    np.testing.assert_array_equal(a.configurations, b.configurations)
    assert a.configurations.shape == (200, 30) and a.truth["patterns"].shape == (30, 2)
    job = sample_hopfield(30, 2, samples=10**6, seed=0)
    next(job)
    job.close()
    for bad in [dict(n=10, bias=1.0), dict(n=10, beta=-1.0), dict(n=0),
                dict(n=5, patterns=np.zeros((5, 2))), dict(n=6, patterns=np.ones((5, 2))),
                dict(n=10, beta_min=0.0, n_temperatures=4), dict(n=10, chains=0)]:
        with pytest.raises(ParameterError):
            next(sample_hopfield(**bad))
    with pytest.raises(ParameterError):
        hopfield_exact_distribution(np.ones((25, 1)), 1.0)


def test_default_thinning_makes_records_of_a_chain_nearly_independent():
    """Retrieval phase: a chain switches retrieval states slowly. By default the records of one
    chain are twice the overlaps' autocorrelation time apart (measured on the burn-in), so
    consecutive records are nearly uncorrelated; recorded every sweep they are not."""
    def lag1(res):  # correlation of a chain's overlap with pattern 1 between its consecutive records
        ov, c = res.truth["overlaps"][:, 0], res.params["chains"]
        per_chain = ov.reshape(-1, c)  # row = record * chains + chain
        a, b = per_chain[:-1].ravel(), per_chain[1:].ravel()
        return float(np.corrcoef(a, b)[0, 1])

    auto = drive(sample_hopfield(60, 2, beta=1.4, samples=2048, seed=4, chains=256), bar=False)
    every = drive(sample_hopfield(60, 2, beta=1.4, samples=2048, seed=4, chains=256, thin=1), bar=False)
    d = auto.params["diagnostics"]
    assert d["thin_rule"] == "auto" and d["thin"] > 5 and auto.params["thin"] == d["thin"]
    assert every.params["diagnostics"]["thin_rule"] == "given" and every.params["thin"] == 1
    assert lag1(every) > 0.7 and lag1(auto) < 0.35, (lag1(every), lag1(auto))
    short = drive(sample_hopfield(20, 2, samples=50, seed=1, burn_in=4), bar=False)
    assert short.params["thin"] == 1 and "too short" in short.params["diagnostics"]["thin_rule"]
