"""The exact RBM fit: maximum likelihood and exact samples, checked by enumeration."""
from __future__ import annotations

from itertools import product

import numpy as np
import pytest
from scipy.special import logsumexp

from napari_vaemf.core.baselines import fit_rbm
from napari_vaemf.core.baselines._rbm import RBMModel


def _states(n: int) -> np.ndarray:
    return np.array(list(product([0.0, 1.0], repeat=n)))


def _true_rbm(n: int = 8, nh: int = 2) -> RBMModel:
    rng = np.random.default_rng(3)
    return RBMModel(b=rng.normal(-0.5, 0.5, n), c=rng.normal(0, 0.5, nh), W=rng.normal(0, 1.5, (nh, n)))


def test_exact_fit_is_the_maximum_likelihood():
    """Data from a known RBM: the fit's enumerated distribution matches the data's means and
    unit-hidden correlations (the likelihood's gradient is zero) and its training
    log-likelihood is at least the true model's."""
    truth = _true_rbm()
    x = truth.sample(4000, seed=1)
    fit = fit_rbm(x, n_hidden=2, seed=0)
    assert fit.method == "exact" and fit.W.shape == (2, 8)
    v = _states(8)
    p = np.exp(fit.log_prob(v))
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(p @ v, x.mean(0), atol=2e-4)  # rates matched at the optimum
    assert fit.loglik(x) >= truth.loglik(x) - 1e-6


def test_exact_samples_follow_the_enumerated_distribution():
    m = _true_rbm()
    v = _states(8)
    p = np.exp(m.log_prob(v))
    s = m.sample(40000, seed=2).astype(float)
    se = np.sqrt(p @ v * (1 - p @ v) / len(s))
    assert np.all(np.abs(s.mean(0) - p @ v) < 5 * se + 1e-3)
    pair = (v.T * p) @ v  # exact second moments
    np.testing.assert_allclose(s.T @ s / len(s), pair, atol=0.015)


def test_spins_are_fitted_and_sampled_as_spins():
    m = _true_rbm()
    x = 2 * m.sample(3000, seed=4).astype(int) - 1
    fit = fit_rbm(x, n_hidden=2, seed=0)
    assert set(np.unique(fit.sample(100, seed=0))) <= {-1, 1}
    assert fit.loglik(x) == pytest.approx(fit.loglik((x + 1) // 2))
    assert np.isfinite(logsumexp(fit.log_prob(2 * _states(8) - 1)))


def test_method_errors_name_the_option():
    x = (np.random.default_rng(0).random((50, 4)) < 0.3).astype(np.uint8)
    with pytest.raises(ValueError, match="method"):
        fit_rbm(x, n_hidden=2, method="cd")
    with pytest.raises(ValueError, match="2\\^H"):
        fit_rbm(x, n_hidden=17, method="exact")
