"""The quadrature model against brute force: all 2^N states, dense numerical integrals,
exact mixture statistics vs enumeration and vs its own samples."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from napari_vaemf.core import stats
from napari_vaemf.core.exact import ExactConfig, QuadratureModel, lattice_grid, distinct_patterns
from napari_vaemf.core.exact._rows import Rows


def _model(n_units, encoding, k, features=0, nodes=9, scale=2.0, seed=0):
    torch.manual_seed(seed)
    m = QuadratureModel(n_units, encoding, ExactConfig(latents=k, features=features, nodes=nodes,
                                                       decoder_widths=(16,)))
    with torch.no_grad():  # a model with real structure: strong patterns, a bent map
        m.decoder.readout.weight.mul_(scale)
        for p in m.decoder.g.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return m.eval()


def _all_states(n, encoding):
    x = np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.int8)
    return 2 * x - 1 if encoding == "spin" else x


@pytest.mark.parametrize("encoding", ["binary", "spin"])
@pytest.mark.parametrize("k,features", [(1, 0), (2, 6), (3, 0)])
def test_probabilities_of_all_states_sum_to_one_and_match_brute_force(encoding, k, features):
    n = 10
    m = _model(n, encoding, k, features, nodes={1: 17, 2: 9, 3: 5}[k])
    x = _all_states(n, encoding)
    ll = m.log_likelihood(m.prepare(x))
    assert np.exp(ll).sum() == pytest.approx(1.0, abs=1e-6)
    # independent brute force: log Σ_g w_g Π_i p(x_i | z_g), spins with p(s|φ) = e^{sφ} / 2cosh φ
    phi = m.fields(m.grid.nodes).detach().double().numpy()  # (G, N)
    if encoding == "spin":
        lp = x[:, None, :] * phi[None] - np.log(2 * np.cosh(phi))[None]
    else:
        lp = x[:, None, :] * phi[None] - np.logaddexp(0, phi)[None]
    brute = np.logaddexp.reduce(lp.sum(-1) + m.grid.log_weights[None], axis=1)
    np.testing.assert_allclose(ll, brute, atol=1e-9)


def test_grid_refinement_converges_on_a_smooth_model():
    m = _model(12, "binary", 2, features=5, nodes=17, scale=1.0)
    xp = m.prepare(_all_states(12, "binary")[::7])
    g = lattice_grid(2, 17)
    a, b, c = (m.log_likelihood(xp, g.with_nodes(n)) for n in (17, 33, 65))
    assert np.abs(b - a).max() < 1e-3  # coarse grid already close
    # doubling the nodes per axis: no change left beyond the float32 rounding of the decoder
    # output (~1e-7 per unit) and the prior mass at the edge of the ball (~1e-6)
    assert np.abs(c - b).max() < 1e-5


def test_refined_log_likelihood_settles_each_row():
    m = _model(12, "binary", 2, features=5, nodes=5, scale=3.0)
    xp = m.prepare(_all_states(12, "binary")[::20])
    coarse = m.log_likelihood(xp, lattice_grid(2, 5))
    ll, settled = m.refined_log_likelihood(xp, tol=1e-5, grid=lattice_grid(2, 5))
    assert settled.all()
    fine = m.log_likelihood(xp, lattice_grid(2, 129))
    np.testing.assert_allclose(ll, fine, atol=2e-5)
    assert np.abs(coarse - fine).max() > 1e-3  # the coarse grid alone was not enough


def _dense_posterior(m, x01, encoding):
    """p(z|x) on a dense 1-D grid by plain numerical integration (trapezoid, 40001 points)."""
    z = np.linspace(-9, 9, 40001)
    phi = m.fields(z[:, None]).detach().double().numpy()
    logit = 2 * phi if encoding == "spin" else phi
    lp = x01 @ logit.T - np.logaddexp(0, logit).sum(1)[None] - z**2 / 2  # (B, Z), prior up to a constant
    post = np.exp(lp - lp.max(1, keepdims=True))
    post /= post.sum(1, keepdims=True)
    prior = np.exp(-z**2 / 2)
    prior /= prior.sum()
    return z, post, prior


@pytest.mark.parametrize("encoding", ["binary", "spin"])
def test_posterior_means_and_rate_match_dense_integrals(encoding):
    m = _model(20, encoding, 1, nodes=65, scale=1.5)
    rng = np.random.default_rng(1)
    x01 = (rng.random((40, 20)) < 0.4).astype(np.float64)
    x = 2 * x01 - 1 if encoding == "spin" else x01
    mean, sd = m.posterior_moments(m.prepare(x))
    z, post, prior = _dense_posterior(m, x01, encoding)
    np.testing.assert_allclose(mean[:, 0], post @ z, atol=1e-6)
    np.testing.assert_allclose(sd[:, 0], np.sqrt(post @ z**2 - (post @ z) ** 2), atol=1e-6)
    kl = np.sum(post * (np.log(post + 1e-300) - np.log(prior)), 1)  # continuous KL on the dense grid
    assert m.rate(m.prepare(x)) == pytest.approx(kl.mean(), abs=1e-5)
    full = m.posterior(m.prepare(x))
    np.testing.assert_allclose(full.sum(1), 1.0, atol=1e-12)
    np.testing.assert_allclose(full @ m.grid.nodes[:, 0], mean[:, 0], atol=1e-12)


def test_grid_statistics_equal_enumeration():
    n = 9
    m = _model(n, "spin", 2, features=4)
    x01 = _all_states(n, "binary").astype(np.float64)
    p = np.exp(m.log_likelihood(m.prepare(2 * x01 - 1)))
    tri = stats.triplet_indices(n)
    got = m.stats(tri)
    rates = p @ x01
    cov = (x01 * p[:, None]).T @ x01 - np.outer(rates, rates)
    np.testing.assert_allclose(got.rates, rates, atol=1e-12)
    np.testing.assert_allclose(got.cov, cov, atol=1e-12)
    np.testing.assert_allclose(got.pk, np.bincount(x01.sum(1).astype(int), weights=p, minlength=n + 1), atol=1e-12)
    d = x01 - rates
    c3 = np.einsum("t,tm,tm,tm->m", p, d[:, tri[:, 0]], d[:, tri[:, 1]], d[:, tri[:, 2]])
    np.testing.assert_allclose(got.c3, c3, atol=1e-12)


def test_samples_follow_the_exact_statistics():
    n = 12
    m = _model(n, "binary", 2, features=5)
    s = m.sample(100_000, seed=3)
    assert s.dtype == np.int8 and set(np.unique(s)) <= {0, 1}
    exact = m.stats()
    emp = stats.population_stats(s, exact.triplets)
    se = np.sqrt(exact.rates * (1 - exact.rates) / len(s))
    assert np.abs(emp.rates - exact.rates).max() < 5 * se.max()
    assert np.abs(emp.cov - exact.cov).max() < 5e-3
    assert stats.cov_correlation(emp.cov, exact.cov) > 0.99
    assert np.abs(emp.pk - exact.pk).max() < 5e-3
    spins = _model(n, "spin", 1).sample(10, seed=0)
    assert set(np.unique(spins)) <= {-1, 1}


@pytest.mark.parametrize("density", [0.05, 0.5, 0.95])
def test_sparse_and_dense_products_agree(density):
    rng = np.random.default_rng(0)
    x = torch.as_tensor((rng.random((300, 40)) < density).astype(np.float32))
    logits = torch.randn(70, 40, dtype=torch.float64)
    r = torch.rand(300, 70, dtype=torch.float64)
    rows = Rows(x)
    np.testing.assert_allclose(rows.times(logits), x.double() @ logits.T, atol=1e-10)
    np.testing.assert_allclose(rows.t_times(r), r.T @ x.double(), atol=1e-10)


def test_distinct_patterns_round_trip():
    rng = np.random.default_rng(0)
    x = (rng.random((5000, 13)) < 0.1).astype(np.int8)
    pat, counts, inv = distinct_patterns(x)
    assert counts.sum() == len(x) and len(pat) == len({r.tobytes() for r in x})
    np.testing.assert_array_equal(pat[inv], x)
