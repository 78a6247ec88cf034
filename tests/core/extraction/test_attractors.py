"""Attractors of a read-off energy and its quadratic share, checked by enumeration."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from napari_vaemf.core.baselines._strict import StrictHopfield, _log_g, hs_grid, hs_log_partition
from napari_vaemf.core.extraction.attractors import (
    attractor_summary,
    descend,
    landscape,
    match_attractors,
    posterior_mean,
)
from napari_vaemf.core.extraction.energy import Energy
from napari_vaemf.core.extraction.energy_report import quadratic_share


def strict_energy(b: np.ndarray, w: np.ndarray, nodes: int = 40) -> Energy:
    """The strict Hopfield model p(x) ∝ exp(b·x + ½|Wᵀx|²), x ∈ {0,1}^N, as an Energy: its
    HS lattice, each node's weight tilted by Π_i (1 + e^{φ_i}) / Z (a product-Bernoulli mixture)."""
    z, log_w = hs_grid(b, w, False, nodes)
    phi = b[None, :] + z @ w.T
    log_norm = _log_g(phi, False).sum(1)
    log_z = hs_log_partition(b, w, False, nodes)
    return Energy(patterns=w, fields=b, nodes=z, log_weights=log_w + log_norm - log_z,
                  projections=z, log_norm=log_norm, encoding="binary")


def naive_descent(energy: Energy, x01: np.ndarray) -> np.ndarray:
    """Steepest single-flip descent with log_prob on every flip (reference)."""
    s = x01.astype(np.int8).copy()
    while True:
        flips = np.repeat(s[None, :], len(s), 0)
        flips[np.arange(len(s)), np.arange(len(s))] ^= 1
        gain = energy.log_prob(flips) - energy.log_prob(s[None, :])[0]
        if gain.max() <= 1e-10:
            return s
        s[int(gain.argmax())] ^= 1


@pytest.fixture(scope="module")
def two_pattern_energy():
    n = 10
    xi = np.zeros((n, 2))
    xi[:5, 0] = xi[5:, 1] = 1.0
    w = 0.9 * xi  # two attractive groups of co-active units, units 0-4 and 5-9
    b = -0.5 - 0.45 * xi.sum(1)  # sparse: the silent state is a minimum too
    return strict_energy(b, w)


def test_descent_matches_naive_steepest_descent_on_every_configuration(two_pattern_energy):
    e = two_pattern_energy
    every = np.array(list(itertools.product([0, 1], repeat=e.patterns.shape[0])), np.int8)
    attractors, basin = descend(e, every)
    want = np.array([naive_descent(e, s) for s in every])
    np.testing.assert_array_equal(attractors[basin], want)
    # every attractor is a local minimum of E = -log p: no single flip lowers it
    for a in attractors:
        flips = np.repeat(a[None, :].astype(np.int8), len(a), 0)
        flips[np.arange(len(a)), np.arange(len(a))] ^= 1
        assert (e.log_prob(flips) <= e.log_prob(a[None, :].astype(np.int8))[0] + 1e-10).all()


def test_summary_reports_silent_state_apart_and_fractions_add_up(two_pattern_energy):
    e = two_pattern_energy
    x = e.sample(5000, seed=1)
    found, silent, basin = attractor_summary(e, x)
    assert silent["is_attractor"] and 0 < silent["fraction"] < 1
    assert all(sum(a["pattern"]) > 0 for a in found)  # the silent state is not in the list
    fr = [a["fraction"] for a in found]
    assert fr == sorted(fr, reverse=True)
    assert sum(fr) + silent["fraction"] == pytest.approx(1.0)
    assert sum(a["fraction_nonsilent"] for a in found) == pytest.approx(1.0)
    assert basin.shape == (5000,) and (basin == -1).mean() == pytest.approx(silent["fraction"])
    # each stored group switched on alone is a minimum (from it, one more unit costs a field
    # of -0.95 and gains 0.9²/2 only)
    stored = {tuple(int(v) for v in p) for p in e.patterns.T > 0}
    assert stored <= {tuple(a["pattern"]) for a in found}


def test_match_attractors_counts_units_and_coverage():
    a = [{"pattern": [1, 1, 0, 0], "fraction_nonsilent": 0.6},
         {"pattern": [0, 0, 1, 1], "fraction_nonsilent": 0.4}]
    b = [{"pattern": [1, 1, 1, 0], "fraction_nonsilent": 0.7},
         {"pattern": [0, 0, 1, 1], "fraction_nonsilent": 0.3}]
    m = match_attractors(a, b)
    assert m["first_in_second"]["count"] == 1 and m["first_in_second"]["agreement"] == 0.75
    assert m["second_in_first"]["agreement"] == 0.75 and m["worst"] == 0.75
    assert match_attractors(a, b, cover=1.0)["first_in_second"]["matched"] == [0.75, 1.0]
    assert match_attractors(a, [])["worst"] == 0.0


def test_landscape_of_two_latents_has_mass_where_the_model_puts_it(two_pattern_energy):
    e = two_pattern_energy
    land = landscape(e, samples=20000, bins=40, seed=0)
    img = land["image"]
    assert img.shape == (40, 40) and np.isfinite(img).any() and np.isnan(img).any()
    # the densest cell is where the posterior mean of the commonest configuration lies
    rows, counts = np.unique(e.sample(20000, seed=0), axis=0, return_counts=True)
    mode = posterior_mean(e, rows[counts.argmax()][None, :])[0]
    r, c = np.unravel_index(np.nanargmin(img), img.shape)
    x0, x1, y0, y1 = land["extent"]
    cell = np.array([(x1 - x0) / 40, (y1 - y0) / 40])
    centre = np.array([x0 + (c + 0.5) * cell[0], y0 + (r + 0.5) * cell[1]])
    assert np.all(np.abs(centre - mode) <= 2 * cell)


def test_quadratic_share_is_one_when_the_data_are_a_strict_hopfield_model():
    rng = np.random.default_rng(5)
    n = 12
    w = 0.5 * rng.standard_normal((n, 1))
    b = -0.3 * np.ones(n)
    e = strict_energy(b, w)
    x = e.sample(12000, seed=2)
    out = quadratic_share(e, x[:8000], x[8000:], 1)
    truth = StrictHopfield(b, w, "binary", hs_log_partition(b, w, False, 40), nodes=40)
    assert out["energy_loglik"] == pytest.approx(truth.loglik(x[8000:]), abs=1e-9)
    assert out["energy_loglik"] - out["independent_loglik"] > 0.05
    assert out["quadratic_share"] == pytest.approx(1.0, abs=0.05)
