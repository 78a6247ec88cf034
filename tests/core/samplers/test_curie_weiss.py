"""Curie-Weiss sampler against the exact finite-N distribution."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import chi2

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.progress import drive
from napari_vaemf.core.samplers import (
    curie_weiss_log_prob,
    curie_weiss_mean_field,
    curie_weiss_mean_magnetisation,
    curie_weiss_pm,
    sample_curie_weiss,
)


def test_pm_and_log_prob_match_enumeration():
    n, bj, bh = 10, 1.3, 0.2
    s = np.array(list(itertools.product([-1, 1], repeat=n)), dtype=np.int8)
    m = s.sum(axis=1).astype(float)
    w = np.exp(bj * m**2 / (2 * n) + bh * m)
    p = w / w.sum()
    np.testing.assert_allclose(np.exp(curie_weiss_log_prob(s, bj, bh)), p, rtol=1e-10)
    values, pm = curie_weiss_pm(n, bj, bh)
    for v, q in zip(values, pm):
        assert q == pytest.approx(p[m == v].sum(), rel=1e-10)
    assert curie_weiss_mean_magnetisation(n, bj, bh) == pytest.approx((p * m).sum() / n)


@pytest.mark.parametrize("beta_j", [0.5, 1.0, 1.5])
def test_sampled_pm_matches_exact_n64(beta_j):
    n, t = 64, 20000
    res = drive(sample_curie_weiss(n, beta_j, samples=t, seed=11), bar=False)
    assert res.configurations.shape == (t, n) and res.configurations.dtype == np.int8
    values, pm = curie_weiss_pm(n, beta_j)
    counts = np.array([(res.configurations.sum(axis=1) == v).sum() for v in values])
    assert counts.sum() == t
    # chi-square on bins with expected count >= 5 (tail pooled)
    exp = pm * t
    keep = exp >= 5
    obs = np.append(counts[keep], counts[~keep].sum())
    e = np.append(exp[keep], exp[~keep].sum())
    stat = ((obs - e) ** 2 / np.maximum(e, 1e-12)).sum()
    assert stat < chi2.ppf(0.9999, keep.sum())
    # total variation, tolerance scaled to the sample count
    tv = 0.5 * np.abs(counts / t - pm).sum()
    assert tv < 2.0 * np.sqrt(keep.sum() / t)
    # up spins are placed uniformly: every site has <s_i> ~ <M>/N = 0
    assert np.abs(res.configurations.mean(axis=0)).max() < 5 * np.sqrt(1.0 / t) * 3


def test_uniform_placement_given_m():
    """Given M, every arrangement is equally likely: at N=4, M=0 has 6 equiprobable states."""
    res = drive(sample_curie_weiss(4, 0.0, samples=12000, seed=3), bar=False)
    x = res.configurations[res.configurations.sum(axis=1) == 0]
    _, counts = np.unique(x, axis=0, return_counts=True)
    assert counts.size == 6
    stat = ((counts - counts.mean()) ** 2 / counts.mean()).sum()
    assert stat < chi2.ppf(0.9999, 5)


@pytest.mark.parametrize("n", [3000])
def test_large_n_placement_is_uniform_too(n):
    """Above SELECTION_MAX_N the ups are placed by sorting random keys: still M-exact and
    uniform over sites."""
    res = drive(sample_curie_weiss(n, 0.9, beta_h=0.05, samples=400, seed=1), bar=False)
    values, pm = curie_weiss_pm(n, 0.9, 0.05)
    m = res.configurations.sum(axis=1, dtype=np.int64)
    mean, sd = (values * pm).sum(), np.sqrt((values**2 * pm).sum() - (values * pm).sum() ** 2)
    assert abs(m.mean() - mean) < 4 * sd / np.sqrt(400)
    site_means = res.configurations.mean(axis=0)  # each site: mean M/N, spread ~ 1/sqrt(T)
    assert abs(site_means.mean() - mean / n) < 0.01
    assert site_means.std() < 1.3 / np.sqrt(400)


def test_deterministic_and_seeded():
    a = drive(sample_curie_weiss(32, 1.2, samples=500, seed=4), bar=False)
    b = drive(sample_curie_weiss(32, 1.2, samples=500, seed=4), bar=False)
    c = drive(sample_curie_weiss(32, 1.2, samples=500, seed=5), bar=False)
    np.testing.assert_array_equal(a.configurations, b.configurations)
    assert not np.array_equal(a.configurations, c.configurations)
    assert a.params["seed"] == 4 and a.model == "curie-weiss"


def test_mean_field_solution():
    assert curie_weiss_mean_field(0.8) == 0.0
    for bj, bh in [(1.5, 0.0), (0.7, 0.3), (2.0, -0.1)]:
        m = curie_weiss_mean_field(bj, bh)
        assert m == pytest.approx(np.tanh(bj * m + bh), abs=1e-12)
        assert np.sign(m) == (np.sign(bh) if bh else 1)
    # large N finite-size <|m|> approaches the mean-field value
    assert curie_weiss_mean_magnetisation(20000, 1.5, absolute=True) == pytest.approx(
        curie_weiss_mean_field(1.5), abs=5e-3
    )


def test_stoppable_and_bad_parameters():
    job = sample_curie_weiss(16, 1.0, samples=100000, seed=0)
    assert next(job).step == 0
    next(job)
    job.close()  # GeneratorExit at a yield
    for bad in [dict(n=0, beta_j=1.0), dict(n=4, beta_j=float("nan")),
                dict(n=4, beta_j=1.0, samples=-1), dict(n=4, beta_j=1.0, seed=-2)]:
        with pytest.raises(ParameterError):
            next(sample_curie_weiss(**bad))
