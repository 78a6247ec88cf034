"""Exact draws from Bingham distributions on S^2, vectorised over many distributions.

The Bingham density on the unit sphere is f(x) ~ exp(x^T K x) for symmetric K. Draws use
the angular-central-Gaussian envelope of Kent, Ganeiber & Mardia (2013, arXiv:1310.8110):
with B = lambda_max I - K >= 0 (eigenvalues l_i >= 0, one of them 0) and b solving
sum_i 1 / (b + 2 l_i) = 1, propose x = y / |y|, y ~ Normal(0, Omega^-1) (i.e. y = Omega^-1/2 w, w uniform on S^2), Omega = I + 2B/b,
and accept with probability exp(-x^T B x) (x^T Omega x)^(3/2) exp((3 - b)/2) (b/3)^(3/2).
"""
from __future__ import annotations

import numpy as np

__all__ = ["sample_bingham"]

Q = 3  # dimension of the ambient space


def _solve_b(lam: np.ndarray) -> np.ndarray:
    """b in [1, 3] with sum_i 1/(b + 2 lam_i) = 1, for each row of lam (..., 3)."""
    lo = np.ones(lam.shape[:-1])
    hi = np.full(lam.shape[:-1], float(Q))
    for _ in range(60):  # bisection: 2^-60 relative precision, vectorised
        mid = 0.5 * (lo + hi)
        f = (1.0 / (mid[..., None] + 2.0 * lam)).sum(axis=-1) - 1.0
        lo = np.where(f > 0, mid, lo)
        hi = np.where(f > 0, hi, mid)
    return 0.5 * (lo + hi)


def sample_bingham(
    rng: np.random.Generator, k: np.ndarray, n: int, dtype: type = np.float32
) -> np.ndarray:
    """``n`` exact draws from the Bingham density exp(x^T k x) for each matrix in ``k``.

    ``k``: (..., 3, 3) symmetric. Returns (..., n, 3) unit vectors.
    """
    k = np.asarray(k, dtype=np.float64)
    batch = k.shape[:-2]
    kf = k.reshape(-1, 3, 3)
    c = kf.shape[0]
    kappa, vecs = np.linalg.eigh(kf)  # ascending; vecs[:, :, j] is eigenvector j
    lam = kappa[:, -1:] - kappa  # (C, 3) >= 0, last one 0
    b = _solve_b(lam)  # (C,)
    omega = 1.0 + 2.0 * lam / b[:, None]  # (C, 3) diagonal of Omega in the eigenbasis
    log_m = (Q - b) / 2 + (Q / 2) * np.log(b / Q)  # (C,)
    out = np.empty((c, n, 3), dtype=np.float64)
    filled = np.zeros(c, dtype=np.int64)
    rows = np.arange(c)[:, None]
    scale = 1.0 / np.sqrt(omega)  # (C, 3)
    m = n + 8  # proposals per distribution in the first round (acceptance is >= ~ 0.5)
    while (filled < n).any():
        # component-major arrays (3, C, m): reductions over the 3 components stay cheap
        # an ACG draw is the direction of Omega^-1/2 w for w uniform on the sphere
        u = rng.random((2, c, m))
        z = 2.0 * u[0] - 1.0
        rho = np.sqrt(1.0 - z * z)
        phi = (2.0 * np.pi) * u[1]
        y = np.stack([rho * np.cos(phi), rho * np.sin(phi), z])
        y *= scale.T[:, :, None]
        r2 = y[0] * y[0] + y[1] * y[1] + y[2] * y[2]
        x2 = y * y / r2
        quad_b = lam[:, 0, None] * x2[0] + lam[:, 1, None] * x2[1] + lam[:, 2, None] * x2[2]
        quad_o = omega[:, 0, None] * x2[0] + omega[:, 1, None] * x2[1] + omega[:, 2, None] * x2[2]
        log_acc = -quad_b + (Q / 2) * np.log(quad_o) + log_m[:, None]
        acc = np.log1p(-rng.random((c, m))) < log_acc  # log of a uniform in (0, 1]
        acc &= (filled < n)[:, None]
        rank = filled[:, None] + np.cumsum(acc, axis=1) - 1
        ok = acc & (rank < n)
        x = y / np.sqrt(r2)
        out[np.broadcast_to(rows, ok.shape)[ok], rank[ok]] = x[:, ok].T
        filled = np.minimum(n, filled + acc.sum(axis=1))
        m = 2 * int((n - filled).max()) + 16
    lab = np.matmul(out, np.swapaxes(vecs, 1, 2))  # back to the lab frame: n = V x
    lab /= np.linalg.norm(lab, axis=2, keepdims=True)
    return lab.astype(dtype).reshape(*batch, n, 3)
