"""The Bingham distribution on the unit sphere S^2: p(n | A) = exp(nᵀ A n) / Z(A).

``A`` is a symmetric 3×3 matrix; adding a multiple of the identity changes nothing but
``log Z``, so models parameterise ``A`` by its 5 traceless-symmetric components in the
orthonormal basis :data:`BASIS` (``A = Σ_c a_c BASIS[c]``).

The normaliser is computed accurately and differentiably from the one-dimensional integral
representation. With eigenvalues λ1 ≤ λ2 ≤ λ3 of A, writing n in the eigenbasis as
(√(1-t²) cos φ, √(1-t²) sin φ, t) and integrating φ in closed form,

    Z(A) = 4π e^{λ3} ∫_0^1 exp(-(1-t²)(λ3-λ2)) · I0e((1-t²)(λ2-λ1)/2) dt,

where I0e(x) = e^{-|x|} I0(x) is the scaled Bessel function. The t-integral has a smooth,
non-negative integrand bounded by 1 with its peak at t = 1 (an end point, where Gauss-Legendre
nodes cluster); :data:`NODES` Gauss-Legendre nodes give about 1e-10 relative accuracy for
eigenvalue spreads up to ~100 (see tests/core/vae/test_bingham.py, which checks against
scipy's adaptive quadrature on the sphere).

The gradient is d log Z / dA = E[n nᵀ] = V diag(m) Vᵀ with m_k = ∂ log Z / ∂λ_k; it is
implemented as a custom autograd function so that degenerate eigenvalues (A = 0 at
initialisation) give the correct, finite gradient instead of eigh's singular one.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from napari_vaemf.core.samplers._bingham import sample_bingham as _sample_many

__all__ = ["BASIS", "NODES", "log_normaliser", "second_moment", "sample_bingham", "to_matrix", "features"]

NODES = 96  # Gauss-Legendre nodes on t in [0, 1]

_s2, _s6 = 1.0 / math.sqrt(2.0), 1.0 / math.sqrt(6.0)
# Orthonormal (Frobenius) basis of the traceless symmetric 3x3 matrices, shape (5, 3, 3).
BASIS = torch.tensor(
    [
        [[_s2, 0, 0], [0, -_s2, 0], [0, 0, 0]],
        [[-_s6, 0, 0], [0, -_s6, 0], [0, 0, 2 * _s6]],
        [[0, _s2, 0], [_s2, 0, 0], [0, 0, 0]],
        [[0, 0, _s2], [0, 0, 0], [_s2, 0, 0]],
        [[0, 0, 0], [0, 0, _s2], [0, _s2, 0]],
    ],
    dtype=torch.float64,
)

_t, _w = np.polynomial.legendre.leggauss(NODES)
_T = torch.tensor((_t + 1) / 2, dtype=torch.float64)  # nodes mapped to [0, 1]
_W = torch.tensor(_w / 2, dtype=torch.float64)  # weights for [0, 1]


def to_matrix(a: torch.Tensor) -> torch.Tensor:
    """Traceless-symmetric components (..., 5) -> symmetric matrices (..., 3, 3)."""
    return torch.einsum("...c,cij->...ij", a, BASIS.to(a))


def features(n: torch.Tensor) -> torch.Tensor:
    """Unit vectors (..., 3) -> the 5 components of n nᵀ in :data:`BASIS`, (..., 5).

    ``nᵀ A n = Σ_c a_c features(n)_c`` for ``A = to_matrix(a)``; the features are even in n
    (head-tail symmetric), as the Bingham density is.
    """
    return torch.einsum("...i,cij,...j->...c", n, BASIS.to(n), n)


def _log_z_eigen(lam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """log Z and m = ∂ log Z / ∂λ from ascending eigenvalues (..., 3), in float64.

    With a = λ3 - λ2 >= 0, c = (λ2 - λ1)/2 >= 0, u = 1 - t², f = e^{-ua} I0e(uc):
    ∂/∂λ3 = 1 - <u>, ∂/∂λ1 = -<u I0e'(uc) e^{-ua}>/2 / F, ∂/∂λ2 = 1 - ∂/∂λ3 - ∂/∂λ1, where
    I0e'(x) = I1e(x) - I0e(x) for x >= 0 (the one-sided derivative, exact at c = 0).
    """
    a = (lam[..., 2:3] - lam[..., 1:2]).clamp_min(0.0)
    c = ((lam[..., 1:2] - lam[..., 0:1]) / 2).clamp_min(0.0)
    u = 1.0 - _T.to(lam.device) ** 2  # (NODES,)
    w = _W.to(lam.device)
    decay = torch.exp(-u * a)  # (..., NODES)
    i0e = torch.special.i0e(u * c)
    f = decay * i0e
    big_f = (f * w).sum(-1)
    m3 = 1.0 - (u * f * w).sum(-1) / big_f
    m1 = -(u * decay * (torch.special.i1e(u * c) - i0e) * w).sum(-1) / (2 * big_f)
    m = torch.stack([m1, 1.0 - m1 - m3, m3], dim=-1)
    return math.log(4 * math.pi) + lam[..., 2] + torch.log(big_f), m


class _LogNormaliser(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a_mat: torch.Tensor) -> torch.Tensor:
        a64 = a_mat.detach().double()
        lam, vec = torch.linalg.eigh(a64)  # ascending eigenvalues, (..., 3), (..., 3, 3)
        log_z, m = _log_z_eigen(lam)  # m_k = E[y_k^2] in the eigenbasis, (..., 3)
        ctx.save_for_backward(vec, m)
        ctx.in_dtype = a_mat.dtype
        return log_z.to(a_mat.dtype)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> torch.Tensor:
        vec, m = ctx.saved_tensors
        moment = torch.einsum("...ik,...k,...jk->...ij", vec, m, vec)  # E[n nᵀ]
        return (grad_out.double()[..., None, None] * moment).to(ctx.in_dtype)


def log_normaliser(a_mat: torch.Tensor) -> torch.Tensor:
    """log Z(A) = log ∫_{S²} exp(nᵀ A n) dn for symmetric A of shape (..., 3, 3) -> (...,).

    Differentiable (gradient E[n nᵀ]); accurate for eigenvalue spreads up to ~100.
    """
    if a_mat.shape[-2:] != (3, 3):
        raise ValueError(f"expected (..., 3, 3) matrices, got {tuple(a_mat.shape)}")
    return _LogNormaliser.apply(a_mat)


def second_moment(a_mat: torch.Tensor) -> torch.Tensor:
    """E[n nᵀ] under Bingham(A), (..., 3, 3) (the gradient of log Z)."""
    a = a_mat.detach().double().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(log_normaliser(a).sum(), a)
    return g.to(a_mat.dtype)


def sample_bingham(a_mat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One exact draw per matrix: Bingham(A) for A of shape (..., 3, 3) -> unit vectors (..., 3).

    A thin call of :func:`napari_vaemf.core.samplers._bingham.sample_bingham` (the project's
    one implementation of the Kent-Ganeiber-Mardia rejection sampler), returned in float64.
    """
    return _sample_many(rng, a_mat, 1, dtype=np.float64)[..., 0, :]
