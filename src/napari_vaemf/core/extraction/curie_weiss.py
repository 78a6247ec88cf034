"""Curie-Weiss βJ and βh read off a decoder.

The Curie-Weiss model p(s) ∝ exp(βJ M²/(2N) + βh M), M = Σ_i s_i, is, by the
Hubbard-Stratonovich transform, a mixture of product measures with one common field φ:

    p(s) = ∫ dφ ρ(φ) Π_i e^{φ s_i} / (2 cosh φ),  ρ(φ) ∝ exp(-N(φ - βh)²/(2βJ) + N log 2cosh φ).

A product-decoder VAE with prior N(0, I) has the same form with per-unit fields
φ_i(z) = W_i·g(z) + b_i, so (1) the readout must be uniform across units (W_i and b_i equal:
checked, ``readout_uniformity`` = |mean row|² / mean |row|², 1 when uniform) and (2) the
push-forward of the prior through φ̄(z) = mean_i φ_i(z) must be ρ. (βJ, βh) are the maximum
likelihood fit of ρ to push-forward samples; ρ is an exponential family in (1/βJ, βh/βJ)
with a concave log-likelihood, normalised by quadrature on a fine grid. The fit quality is
the Kolmogorov-Smirnov distance between the samples and the fitted ρ; the consistency score is
(1 - KS) × readout_uniformity.

When the fit holds its data, the same fit is also done on the push-forward of the aggregate
posterior (1/T) Σ_t q(z|x_t), which equals the prior's for an exact model but has no prior
"holes" (mass between the two ordered states that no data use, which drags βJ down in the
ordered phase). That estimate is reported when data are available (the empirical-Bayes
mixing distribution); the prior's estimate and both KS distances stay in the diagnostics.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.extraction._common import (
    Extraction,
    decoder_parts,
    posterior_pushforward,
    prior_pushforward,
)

__all__ = ["hs_log_density", "fit_hs_density", "extract_curie_weiss"]

log = logging.getLogger(__name__)


def _log2cosh(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(x, -x)


def hs_log_density(phi: np.ndarray, n: int, beta_j: float, beta_h: float = 0.0) -> np.ndarray:
    """Unnormalised log ρ(φ) = -N(φ - βh)²/(2βJ) + N log 2cosh φ."""
    phi = np.asarray(phi, dtype=np.float64)
    return -n * (phi - beta_h) ** 2 / (2 * beta_j) + n * _log2cosh(phi)


def _grid(phi: np.ndarray, points: int = 20001) -> np.ndarray:
    lo = min(-4.0, float(phi.min()) - 1.0)
    hi = max(4.0, float(phi.max()) + 1.0)
    return np.linspace(lo, hi, points)


def fit_hs_density(phi: np.ndarray, n: int) -> dict[str, float]:
    """Maximum-likelihood (βJ, βh) of ρ for field samples ``phi`` (S,); also the KS distance."""
    phi = np.asarray(phi, dtype=np.float64).ravel()
    if phi.size < 10 or n < 1:
        raise ParameterError(f"need >= 10 field samples and N >= 1, got {phi.size}, N={n}")
    grid = _grid(phi)
    dx = grid[1] - grid[0]
    lc_grid, lc_s = n * _log2cosh(grid), n * _log2cosh(phi)
    m1, m2 = phi.mean(), (phi * phi).mean()

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, c = theta  # a = 1/βJ, c = βh/βJ: log ρ = -N a φ²/2 + N c φ + N log2cosh φ
        lg = -n * a * grid**2 / 2 + n * c * grid + lc_grid
        log_z = logsumexp(lg) + np.log(dx)
        p = np.exp(lg - logsumexp(lg))
        e1, e2 = p @ grid, p @ grid**2
        val = -(-n * a * m2 / 2 + n * c * m1 + lc_s.mean() - log_z)
        grad = np.array([n * (m2 - e2) / 2, -n * (m1 - e1)])
        return float(val), grad

    # the log-likelihood is concave in (a, c): one start suffices
    best = minimize(nll, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B",
                    bounds=[(1e-3, 1e3), (-1e3, 1e3)])
    a, c = best.x
    beta_j, beta_h = 1 / a, c / a
    lg = hs_log_density(grid, n, beta_j, beta_h)
    cdf = np.cumsum(np.exp(lg - logsumexp(lg)))
    srt = np.sort(phi)
    model_cdf = np.interp(srt, grid, cdf)
    emp = np.arange(1, srt.size + 1) / srt.size
    ks = float(max(np.abs(model_cdf - emp).max(), np.abs(model_cdf - emp + 1 / srt.size).max()))
    return {"beta_J": float(beta_j), "beta_h": float(beta_h), "ks": ks,
            "mean_nll": float(best.fun) / n}


def readout_uniformity(w: np.ndarray) -> float:
    """|mean row|² / mean |row|² of a readout (N, ...): 1 when every unit reads the same."""
    rows = np.asarray(w, dtype=np.float64).reshape(w.shape[0], -1)
    den = float((rows * rows).sum(1).mean())
    return float((rows.mean(0) ** 2).sum() / den) if den > 0 else 0.0


def extract_curie_weiss(fit: Any, n_samples: int = 50000, seed: int = 0,
                        data: np.ndarray | None = None) -> Extraction:
    """Read βJ, βh off a trained spin :class:`~napari_vaemf.core.vae.Fit` (any K)."""
    if fit.encoding != "spin":
        raise ParameterError(f"Curie-Weiss needs a fit to ±1 spins, this one is {fit.encoding!r}")
    w, b = decoder_parts(fit)
    n = w.shape[0]
    _, g = prior_pushforward(fit, n_samples, seed)
    phi_bar = g @ w.mean(0) + b.mean()  # (S,) the mean field per prior sample
    res = fit_hs_density(phi_bar, n)
    res["source"] = "prior"
    both = {"prior": dict(res)}
    g_post = posterior_pushforward(fit, n_samples, seed, data)
    if g_post is not None:
        post = fit_hs_density(g_post @ w.mean(0) + b.mean(), n)
        both["aggregate_posterior"] = post
        phi_bar, res = g_post @ w.mean(0) + b.mean(), {**post, "source": "aggregate_posterior"}
    uni = readout_uniformity(w)
    b_spread = float(b.std() / (abs(b.mean()) + np.abs(w).mean()))
    log.info("Curie-Weiss read-off: βJ=%.4f βh=%.4f KS=%.4f uniformity=%.4f",
             res["beta_J"], res["beta_h"], res["ks"], uni)
    return Extraction(
        theory="curie-weiss",
        parameters={"beta_J": res["beta_J"], "beta_h": res["beta_h"]},
        consistency=(1 - res["ks"]) * uni,
        diagnostics={"ks_pushforward_vs_hs": res["ks"], "readout_uniformity": uni,
                     "pushforward": res["source"], "estimates": both,
                     "field_spread": b_spread, "n_units": n, "prior_samples": n_samples,
                     "pushforward_mean": float(phi_bar.mean()),
                     "pushforward_std": float(phi_bar.std())},
        encoding="spin",
    )
