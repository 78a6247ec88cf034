"""The Bingham normaliser against scipy's adaptive quadrature on the sphere; moments, sampler."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import integrate

from napari_vaemf.core.vae import bingham


def _scipy_log_z(a: np.ndarray) -> float:
    shift = np.linalg.eigvalsh(a)[-1]

    def f(phi, th):
        n = np.array([np.sin(th) * np.cos(phi), np.sin(th) * np.sin(phi), np.cos(th)])
        return np.exp(n @ a @ n - shift) * np.sin(th)

    val, _ = integrate.dblquad(f, 0, np.pi, 0, 2 * np.pi, epsabs=0, epsrel=1e-10)
    return float(np.log(val) + shift)


def _sym(rng, scale):
    m = rng.standard_normal((3, 3)) * scale
    return (m + m.T) / 2


@pytest.mark.parametrize("scale", [0.0, 0.5, 3.0, 15.0])
def test_log_normaliser_matches_numerical_integration(scale):
    a = _sym(np.random.default_rng(int(scale * 10)), scale)
    got = bingham.log_normaliser(torch.tensor(a)).item()
    assert got == pytest.approx(_scipy_log_z(a), abs=1e-8)


def test_log_normaliser_degenerate_and_uniaxial():
    # A = 0: uniform, Z = 4π; A = diag(0,0,k): Z = 4π ∫_0^1 e^{k t²} dt
    assert bingham.log_normaliser(torch.zeros(3, 3, dtype=torch.float64)).item() == pytest.approx(
        np.log(4 * np.pi), abs=1e-12)
    k = 7.0
    ref = np.log(4 * np.pi * integrate.quad(lambda t: np.exp(k * t * t), 0, 1, epsrel=1e-13)[0])
    a = torch.diag(torch.tensor([0.0, 0.0, k], dtype=torch.float64))
    assert bingham.log_normaliser(a).item() == pytest.approx(ref, abs=1e-10)


def test_gradient_is_second_moment_and_finite_at_degeneracy():
    a = torch.zeros(3, 3, dtype=torch.float64, requires_grad=True)
    bingham.log_normaliser(a).backward()
    assert torch.allclose(a.grad, torch.eye(3, dtype=torch.float64) / 3, atol=1e-12)
    comps = (torch.randn(6, 5, dtype=torch.float64) * 3).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda c: bingham.log_normaliser(bingham.to_matrix(c)), (comps,))


def test_features_give_quadratic_form():
    n = torch.nn.functional.normalize(torch.randn(10, 3, dtype=torch.float64), dim=-1)
    c = torch.randn(10, 5, dtype=torch.float64)
    a = bingham.to_matrix(c)
    quad = torch.einsum("bi,bij,bj->b", n, a, n)
    assert torch.allclose((bingham.features(n) * c).sum(-1), quad)
    assert torch.allclose(a.diagonal(dim1=-2, dim2=-1).sum(-1), torch.zeros(10, dtype=torch.float64))


def test_sampler_reproduces_second_moment():
    rng = np.random.default_rng(1)
    a = _sym(rng, 4.0)
    draws = bingham.sample_bingham(np.broadcast_to(a, (40000, 3, 3)), rng)
    assert np.allclose(np.linalg.norm(draws, axis=-1), 1.0)
    emp = np.einsum("ti,tj->ij", draws, draws) / len(draws)
    exact = bingham.second_moment(torch.tensor(a)).numpy()
    assert np.abs(emp - exact).max() < 0.01  # ~4 standard errors at T = 40,000
