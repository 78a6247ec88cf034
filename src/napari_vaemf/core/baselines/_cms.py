"""PCA-based generalized Hopfield inference (Cocco, Monasson & Sessak, PRE 83, 051123, 2011).

Convention: units x_i ∈ {0, 1} (±1 data are mapped by x = (s + 1)/2) with rates p_i.
Let Γ = D^{-1/2} C D^{-1/2} be the Pearson correlation matrix (D = diag p_i(1 - p_i)) with
eigenpairs (λ_μ, v^μ). The patterns are

    attractive (λ_μ > 1):  ξ_i^μ = sqrt(1 - 1/λ_μ) v_i^μ / sqrt(p_i (1 - p_i))
    repulsive  (λ_μ < 1):  ξ̂_i^μ = sqrt(1/λ_μ - 1) v_i^μ / sqrt(p_i (1 - p_i))

and the couplings J_ij = Σ_attr ξ_i ξ_j - Σ_rep ξ̂_i ξ̂_j (i ≠ j), i.e. the mean-field
J = D^{-1} - C^{-1} restricted to the chosen eigen-directions (with the 1/N of CMS absorbed
into ξ: multiply ξ by √N for their normalisation J = ξξᵀ/N). Patterns are chosen, as in CMS,
by their likelihood contribution (λ - 1 - log λ)/2, largest first. Fields are the
mean-field ones, h_i = log(p_i / (1 - p_i)) - Σ_{j≠i} J_ij p_j; with ``fit_fields=True``
they are then corrected by persistent-chain Gibbs moment matching until the model's rates
are the data's (mean-field fields can put sparse data into an all-active state).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_vaemf.core.baselines._models import PairwiseModel, detect_encoding, gibbs_sweep, to_binary
from napari_vaemf.core.errors import ParameterError

__all__ = ["CMSHopfield", "fit_cms"]


@dataclass
class CMSHopfield(PairwiseModel):
    """A :class:`PairwiseModel` from CMS inference, keeping the patterns it was built from."""

    patterns: np.ndarray | None = None  # (N, P) attractive patterns ξ
    repulsive: np.ndarray | None = None  # (N, R) repulsive patterns ξ̂
    eigenvalues: np.ndarray | None = None  # (N,) eigenvalues of the correlation matrix, descending


def fit_cms(
    x: np.ndarray,
    n_patterns: int | None = None,
    n_attractive: int | None = None,
    n_repulsive: int = 0,
    fit_fields: bool = False,
    seed: int = 0,
) -> CMSHopfield:
    """CMS inference on ``x`` (T, N). Give either ``n_patterns`` (chosen by the CMS
    likelihood criterion among both ends of the spectrum) or ``n_attractive`` (+ ``n_repulsive``)."""
    enc = detect_encoding(x)
    b = to_binary(x)
    t, n = b.shape
    eps = 0.5 / t
    p = np.clip(b.mean(axis=0), eps, 1 - eps)
    d = p * (1 - p)
    c = np.cov(b.T, bias=True)
    gamma = c / np.sqrt(np.outer(d, d))
    np.fill_diagonal(gamma, 1.0)
    lam, v = np.linalg.eigh(gamma)
    lam, v = lam[::-1], v[:, ::-1]  # descending
    lam = np.clip(lam, 1e-6, None)
    if n_patterns is not None:
        if not 0 < n_patterns <= n:
            raise ParameterError(f"n_patterns must be in 1..{n}, got {n_patterns}")
        score = (lam - 1 - np.log(lam)) / 2
        chosen = np.argsort(-score)[:n_patterns]
        att = np.sort(chosen[lam[chosen] > 1])
        rep = np.sort(chosen[lam[chosen] <= 1])
    else:
        k = 1 if n_attractive is None else n_attractive
        if k < 0 or n_repulsive < 0 or k + n_repulsive > n:
            raise ParameterError(f"cannot take {k} attractive + {n_repulsive} repulsive of {n}")
        att = np.arange(k)
        rep = np.arange(n - n_repulsive, n)
    scale = 1 / np.sqrt(d)[:, None]
    xi = np.sqrt(np.clip(1 - 1 / lam[att], 0, None)) * v[:, att] * scale
    xr = np.sqrt(np.clip(1 / lam[rep] - 1, 0, None)) * v[:, rep] * scale
    J = xi @ xi.T - xr @ xr.T
    np.fill_diagonal(J, 0.0)
    h = np.log(p / (1 - p)) - J @ p
    if fit_fields:
        h = _match_rates(h, J, p, seed)
    return CMSHopfield(
        h=h,
        J=J,
        encoding=enc,
        n_free=int(n + n * (len(att) + len(rep))),
        patterns=xi,
        repulsive=xr,
        eigenvalues=lam,
    )


def _match_rates(h: np.ndarray, J: np.ndarray, p: np.ndarray, seed: int, iters: int = 60,
                 chains: int = 500, sweeps: int = 3) -> np.ndarray:
    """Fields whose Gibbs rates match ``p`` (clipped logit steps on persistent chains)."""
    from scipy.special import logit

    rng = np.random.default_rng(seed)
    n = h.size
    x = (rng.random((chains, n)) < p).astype(np.float64)
    h = h.copy()
    eps = 1e-4
    for it in range(iters):
        acc = np.zeros(n)
        for _ in range(sweeps):
            gibbs_sweep(x, h, J, rng)
            acc += x.mean(0)
        m = np.clip(acc / sweeps, eps, 1 - eps)
        lr = 0.5 if it < iters // 2 else 0.2
        h += np.clip(lr * (logit(np.clip(p, eps, 1 - eps)) - logit(m)), -0.5, 0.5)
    return h
