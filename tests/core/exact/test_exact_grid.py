"""The quadrature grids: positive weights that integrate the N(0, I) prior exactly wherever the
lattice is put, nested refinement, shifts."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.exact import lattice_grid


@pytest.mark.parametrize("k", [1, 2, 3])
def test_weights_are_positive_and_integrate_the_prior(k):
    g = lattice_grid(k, {1: 65, 2: 33, 3: 17}[k])
    assert g.nodes.shape == (g.size, k)
    assert (g.weights > 0).all()
    assert g.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert g.prior_mass == pytest.approx(1.0, abs=3e-5)
    np.testing.assert_allclose(g.weights @ g.nodes, 0.0, atol=1e-12)
    # the ball of radius 5 drops the prior's far tail: 1e-4 of E[z²] at K = 3
    np.testing.assert_allclose((g.nodes * g.weights[:, None]).T @ g.nodes, np.eye(k), atol=2e-4)


def test_moved_lattice_keeps_the_prior_exact():
    """A lattice centred and stretched elsewhere still integrates against N(0, I): E[exp(a·z)]
    = exp(|a|²/2) and E[z zᵀ] = I on a grid centred at (0.3, -0.2) with skewed axes (up to the
    prior mass outside the moved ball, :attr:`Grid.prior_mass`)."""
    g = lattice_grid(2, 33).moved(np.array([0.3, -0.2]), np.array([[1.3, 0.2], [0.2, 0.9]]))
    assert not np.allclose(g.centre, 0)
    assert g.prior_mass == pytest.approx(1.0, abs=2e-4)
    a = np.array([0.7, -0.4])
    assert g.weights @ np.exp(g.nodes @ a) == pytest.approx(np.exp(a @ a / 2), rel=2e-4)
    np.testing.assert_allclose((g.nodes * g.weights[:, None]).T @ g.nodes, np.eye(2), atol=2e-3)


def test_moved_clips_the_scales():
    g = lattice_grid(1, 17).moved(np.zeros(1), np.array([[1e-6]]))
    assert abs(g.axes[0, 0]) == pytest.approx(0.8)


def test_refined_keeps_every_node_and_halves_the_spacing():
    g = lattice_grid(2, 9)
    f = g.refined()
    assert f.n == 17
    keys = {tuple(np.round(z, 9)) for z in f.nodes}
    assert all(tuple(np.round(z, 9)) in keys for z in g.nodes)


def test_shifted_lattice_moves_every_node_by_the_same_fraction_of_a_cell():
    g = lattice_grid(2, 9)
    s = g.shifted(np.array([0.75, 0.5]))
    np.testing.assert_allclose(s.nodes - g.nodes, np.tile([0.25 * 10 / 8, 0.0], (g.size, 1)), atol=1e-12)
    assert (s.weights > 0).all() and s.weights.sum() == pytest.approx(1.0)


def test_shift_average_is_unbiased_for_a_sharp_integrand():
    """Averaged over the shift, the unnormalised lattice rule integrates a peak much narrower
    than a cell (what makes the shifted training objective a bound, not a fit to the nodes)."""
    g = lattice_grid(1, 21)  # cell 0.5
    sigma, mu = 0.05, 0.33
    exact = np.exp(-mu**2 / (2 * (1 + sigma**2))) / np.sqrt(2 * np.pi * (1 + sigma**2))  # ∫ N(z) N(z; mu, σ²)
    vals = []
    for s in (np.arange(400) + 0.5) / 400:
        sg = g.shifted(np.array([s]))
        w = np.exp(sg.log_weights) * sg.prior_mass  # unnormalised: h N(z_g)
        vals.append(w @ (np.exp(-(sg.nodes[:, 0] - mu) ** 2 / (2 * sigma**2)) / np.sqrt(2 * np.pi * sigma**2)))
    assert np.mean(vals) == pytest.approx(exact, rel=1e-3)
    assert np.std(vals) > 0.1 * exact  # each single lattice is far off


def test_bad_parameters():
    with pytest.raises(ParameterError):
        lattice_grid(4, 5)
    with pytest.raises(ParameterError):
        lattice_grid(1, 1)
    with pytest.raises(ParameterError):
        lattice_grid(1, 5).shifted(np.array([1.0]))
