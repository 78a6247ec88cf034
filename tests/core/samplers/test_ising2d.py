"""2-D Ising Wolff sampler at beta_c: exact enumeration (L=4) and long Metropolis runs (L=8)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.progress import drive
from napari_vaemf.core.samplers import BETA_C, sample_ising2d


def _energy(s):
    """-sum over nearest-neighbour bonds (periodic), for lattices (..., L, L)."""
    s = s.astype(np.int64)
    return -(s * np.roll(s, 1, axis=-1) + s * np.roll(s, 1, axis=-2)).sum(axis=(-1, -2))


def _stats(res, length):
    x = res.configurations.reshape(-1, length, length)
    e = _energy(x) / length**2
    m = np.abs(x.mean(axis=(1, 2)))
    return e, m


def test_beta_c_is_onsager():
    assert math.sinh(2 * BETA_C) == pytest.approx(1.0, abs=1e-12)


def test_l4_matches_exact_enumeration():
    states = np.array(list(itertools.product((-1, 1), repeat=16)), dtype=np.int8).reshape(-1, 4, 4)
    e_all = _energy(states) / 16
    w = np.exp(-BETA_C * 16 * (e_all - e_all.min()))
    w /= w.sum()
    e_exact = (w * e_all).sum()
    m_exact = (w * np.abs(states.mean(axis=(1, 2)))).sum()
    res = drive(sample_ising2d(4, samples=32000, seed=2), bar=False)
    e, m = _stats(res, 4)
    np.testing.assert_allclose(res.truth["energy"], e, rtol=1e-6)
    # standard errors with a generous autocorrelation allowance (tau <= 4 records)
    assert abs(e.mean() - e_exact) < 4 * e.std() * np.sqrt(4 / len(e))
    assert abs(m.mean() - m_exact) < 4 * m.std() * np.sqrt(4 / len(m))


def _checkerboard_metropolis(length, beta, chains, sweeps, seed):
    rng = np.random.default_rng(seed)
    s = np.where(rng.random((chains, length, length)) < 0.5, -1, 1).astype(np.int64)
    ii, jj = np.indices((length, length))
    masks = [(ii + jj) % 2 == k for k in (0, 1)]
    es, ms = [], []
    for sweep in range(sweeps):
        for mask in masks:  # single-spin Metropolis on one sublattice at a time
            nb = (np.roll(s, 1, 1) + np.roll(s, -1, 1) + np.roll(s, 1, 2) + np.roll(s, -1, 2))
            d_e = 2 * s * nb
            flip = (rng.random(s.shape) < np.exp(-beta * np.maximum(d_e, 0))) & mask
            s = np.where(flip, -s, s)
        if sweep >= sweeps // 5:
            es.append(_energy(s) / length**2)
            ms.append(np.abs(s.mean(axis=(1, 2))))
    return np.array(es), np.array(ms)  # (sweeps, chains)


@pytest.mark.slow
def test_l8_matches_long_metropolis():
    e_m, m_m = _checkerboard_metropolis(8, BETA_C, chains=256, sweeps=2500, seed=0)
    res = drive(sample_ising2d(8, samples=32 * 400, seed=3), bar=False)
    e, m = _stats(res, 8)
    # Metropolis: chains are independent, so the spread of chain means gives the error
    se_e = np.hypot(e_m.mean(axis=0).std() / 16, e.std() * np.sqrt(4 / len(e)))
    se_m = np.hypot(m_m.mean(axis=0).std() / 16, m.std() * np.sqrt(4 / len(m)))
    assert abs(e.mean() - e_m.mean()) < 4 * se_e
    assert abs(m.mean() - m_m.mean()) < 4 * se_m
    assert se_m < 0.01  # the comparison is sharp


def test_deterministic_shape_stoppable_and_errors():
    a = drive(sample_ising2d(6, samples=50, seed=1), bar=False)
    b = drive(sample_ising2d(6, samples=50, seed=1), bar=False)
    np.testing.assert_array_equal(a.configurations, b.configurations)
    assert a.configurations.shape == (50, 36) and a.configurations.dtype == np.int8
    assert a.params["length"] == 6 and a.params["seed"] == 1 and a.model == "ising2d"
    job = sample_ising2d(8, samples=10**6)
    next(job)
    job.close()
    for bad in [dict(length=1), dict(length=4, beta=-0.1), dict(length=4, samples=0)]:
        with pytest.raises(ParameterError):
            next(sample_ising2d(**bad))
