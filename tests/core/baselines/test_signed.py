"""hopfield-signed: pseudo-likelihood patterns and an AIS log Z, checked by enumeration."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

from napari_vaemf.core.baselines._ais import ais_log_partition
from napari_vaemf.core.baselines._signed import fit_signed_hopfield


def _enumerate(b, w, r, spin):
    n = len(b)
    vals = [-1.0, 1.0] if spin else [0.0, 1.0]
    every = np.array(list(itertools.product(vals, repeat=n)))
    e = every @ b + 0.5 * ((every @ w) ** 2).sum(1) - 0.5 * ((every @ r) ** 2).sum(1)
    return every, e, float(logsumexp(e))


@pytest.mark.parametrize("spin", [False, True])
def test_ais_with_repulsive_patterns_matches_enumeration(spin):
    rng = np.random.default_rng(1)
    n = 12
    b = rng.normal(-0.5 if not spin else 0.0, 0.3, n)
    w, r = 0.4 * rng.standard_normal((n, 2)), 0.3 * rng.standard_normal((n, 1))
    _, _, log_z = _enumerate(b, w, r, spin)
    est, ess = ais_log_partition(b, np.hstack([w, r]), spin, chains=500, temps=300, seed=0,
                                 signs=np.array([1.0, 1.0, -1.0]))
    assert ess > 100 and est == pytest.approx(log_z, abs=0.01)


def test_signed_fit_recovers_the_couplings_and_likelihood_of_a_signed_model():
    rng = np.random.default_rng(2)
    n = 10
    b = -0.4 * np.ones(n)
    w, r = 0.5 * rng.standard_normal((n, 1)), 0.5 * rng.standard_normal((n, 1))
    every, e, log_z = _enumerate(b, w, r, False)
    p = np.exp(e - log_z)
    x = every[rng.choice(len(every), size=30000, p=p)].astype(np.int8)
    model = fit_signed_hopfield(x[:20000], attractive=1, repulsive=1, ais_chains=500,
                                ais_temps=300)
    j_true = w @ w.T - r @ r.T
    off = ~np.eye(n, dtype=bool)
    assert np.corrcoef(model.J[off], j_true[off])[0, 1] > 0.95
    assert model.log_z_spread < 0.02 and not model.kept_start  # the repulsion was needed
    # its log Z (AIS) is the enumerated one for its own parameters
    _, _, own = _enumerate(model.h, model.xi / np.sqrt(n), model.xr / np.sqrt(n), False)
    assert model.log_partition() == pytest.approx(own, abs=0.02)
    truth = float((e[np.searchsorted(every @ (2 ** np.arange(n)[::-1]),
                                     x[20000:] @ (2 ** np.arange(n)[::-1]))] - log_z).mean())
    assert model.loglik(x[20000:]) == pytest.approx(truth, abs=0.01)
