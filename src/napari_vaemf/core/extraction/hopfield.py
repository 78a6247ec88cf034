"""Hopfield patterns ξ (N × P, ±1) and β read off a decoder.

The Hopfield network p(s) ∝ exp(β/(2N) Σ_μ (ξ^μ·s)²) is, by Hubbard-Stratonovich, a mixture
of product measures with fields φ_i = ξ_i·u, u ∈ R^P distributed as

    ρ(u) ∝ exp(-N|u|²/(2β) + Σ_i log 2cosh(ξ_i·u)).

A product decoder has φ_i(z) = W_i·g(z) + b_i, so at the optimum W = ξ A for an unknown
invertible P × P mixing A (any A can be absorbed into g). **Resolving the mixing**: the N rows
of W are then A-mixtures of independent binary sources ξ_i ∈ {±1}^P, the textbook ICA
model. We (1) run FastICA on the rows of W to get a first unmixing, then (2) polish it by
alternating projections: Y = W M, ξ = sign(Y), M ← argmin_M ||W M - ξ||² (least squares),
until the signs stop changing; (3) repeat from a few ICA seeds and keep the M for which W M
is closest to a ±1 matrix (the scale is fixed to 1 by the least squares); ξ = sign(W M) and
u = M^{-1} g(z). Caveat: when other ±1 bases span the same space with the same ξξᵀ (e.g.
Walsh columns 1, 2, 3 = 1 × 2), the Hopfield distribution itself does not identify ξ.

**Per-pattern confidence**: with the residual r = W M - ξ, σ_μ = rms of column μ of r, each
entry's sign is right with probability Φ(|Y_iμ|/σ_μ) under Gaussian noise; a pattern's
confidence is the mean of that over units, and ``expected_bits_wrong`` their complement summed.

**β** is the maximum-likelihood fit of ρ to u from the prior's push-forward. ρ is an
exponential family in β with sufficient statistic |u|², so the MLE matches E_β|u|² to the
sample mean; E_β|u|² = β² E|ξᵀs|²/N² + βP/N is computed on exact block-Gibbs samples of the
model (:class:`~napari_vaemf.core.baselines.HopfieldModel`), and solved by bisection in log β
with common random numbers. The fit quality is the KS distance between |u| of the decoder and
|u| of the fitted model; the consistency score is (1 - KS) × mean pattern confidence. As for
Curie-Weiss, when the fit holds data β is also fitted on the aggregate posterior's u, and
that estimate is reported (both are in the diagnostics).
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
from scipy.special import ndtr

from napari_vaemf.core.baselines import HopfieldModel, ica_rows
from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.extraction._common import (
    Extraction,
    decoder_parts,
    posterior_pushforward,
    prior_pushforward,
)

__all__ = ["resolve_mixing", "pattern_confidence", "fit_beta", "extract_hopfield"]

log = logging.getLogger(__name__)


def _sign(a: np.ndarray) -> np.ndarray:
    return np.where(a >= 0, 1.0, -1.0)


def resolve_mixing(w: np.ndarray, seed: int = 0, max_iter: int = 100,
                   restarts: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Unmixing M (K, K) with W M closest to ±1; returns ``(M, W M)``.

    FastICA from ``restarts`` seeds, each polished by alternating projections; the
    unmixing with the smallest relative distance ||W M - sign(W M)||² / ||W M||² wins.
    """
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] < w.shape[1]:
        raise ParameterError(f"readout must be (N, K) with N >= K, got {w.shape}")
    best = None
    for r in range(1 if w.shape[1] == 1 else restarts):
        m, y = _polish(w, w if w.shape[1] == 1 else ica_rows(w, seed + r), max_iter)
        err = float(((y - _sign(y)) ** 2).sum() / (y * y).sum())
        if best is None or err < best[0]:
            best = (err, m, y)
    return best[1], best[2]


def _polish(w: np.ndarray, src: np.ndarray, max_iter: int) -> tuple[np.ndarray, np.ndarray]:
    m = np.linalg.lstsq(w, _sign(src), rcond=None)[0]
    xi = _sign(w @ m)
    for _ in range(max_iter):
        m = np.linalg.lstsq(w, xi, rcond=None)[0]
        new = _sign(w @ m)
        if np.array_equal(new, xi):
            break
        xi = new
    return m, w @ m


def pattern_confidence(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pattern confidence (P,) and per-entry probability that sign(y) is right (N, P)."""
    r = y - _sign(y)
    sigma = np.sqrt((r * r).mean(0)) + 1e-12
    p_right = ndtr(np.abs(y) / sigma)
    return p_right.mean(0), p_right


def _mean_u2(xi: np.ndarray, beta: float, seed: int, chains: int, steps: int) -> float:
    n, p = xi.shape
    model = HopfieldModel(h=np.zeros(n), xi=np.sqrt(beta) * xi, encoding="spin",
                          chains=chains, burn_in=steps, thin=1)
    s = model.sample(chains * steps, seed=seed).astype(np.float64)
    q = s @ xi  # (S, P)
    return float(beta**2 * (q * q).sum(1).mean() / n**2 + beta * p / n)


def fit_beta(u: np.ndarray, xi: np.ndarray, seed: int = 0, chains: int = 200,
             steps: int = 100, iters: int = 18) -> float:
    """β whose ρ matches the mean |u|² of the samples ``u`` (S, P), patterns ``xi`` (N, P)."""
    target = float((u * u).sum(1).mean())
    lo, hi = np.log(0.02), np.log(50.0)
    for _ in range(iters):
        mid = (lo + hi) / 2
        if _mean_u2(xi, float(np.exp(mid)), seed, chains, steps) < target:
            lo = mid
        else:
            hi = mid
    return float(np.exp((lo + hi) / 2))


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.sort(a), np.sort(b)
    x = np.concatenate([a, b])
    return float(np.abs(np.searchsorted(a, x, "right") / a.size
                        - np.searchsorted(b, x, "right") / b.size).max())


def _beta_and_ks(u: np.ndarray, xi: np.ndarray, seed: int) -> tuple[float, float]:
    n = xi.shape[0]
    beta = fit_beta(u, xi, seed)
    model = HopfieldModel(h=np.zeros(n), xi=np.sqrt(beta) * xi, encoding="spin",
                          chains=200, burn_in=100, thin=1)
    s = model.sample(20000, seed=seed + 1).astype(np.float64)
    noise = np.random.default_rng(seed + 2).standard_normal((len(s), xi.shape[1]))
    u_model = s @ xi * beta / n + np.sqrt(beta / n) * noise  # exact u | s of the model
    return beta, _ks(np.linalg.norm(u, axis=1), np.linalg.norm(u_model, axis=1))


def extract_hopfield(fit: Any, n_samples: int = 20000, seed: int = 0,
                     data: np.ndarray | None = None) -> Extraction:
    """Read ξ (N, K) ±1 and β off a trained spin :class:`~napari_vaemf.core.vae.Fit` with K = P."""
    if fit.encoding != "spin":
        raise ParameterError(f"Hopfield needs a fit to ±1 spins, this one is {fit.encoding!r}")
    w, b = decoder_parts(fit)
    if w.shape[1] != fit.config.latents:
        raise ParameterError(f"the Hopfield read-off needs fields linear in the K = {fit.config.latents} "
                             f"order parameters (features 0); this decoder has {w.shape[1]} features")
    m, y = resolve_mixing(w, seed)
    xi = _sign(y)
    conf, _ = pattern_confidence(y)
    _, g = prior_pushforward(fit, n_samples, seed)
    minv = np.linalg.inv(m).T
    fits = {"prior": _beta_and_ks(g @ minv, xi, seed)}  # u = M^-1 g: φ = (W M) u + b
    g_post = posterior_pushforward(fit, n_samples, seed, data)
    if g_post is not None:
        fits["aggregate_posterior"] = _beta_and_ks(g_post @ minv, xi, seed)
    source = "aggregate_posterior" if "aggregate_posterior" in fits else "prior"
    beta, ks = fits[source]
    log.info("Hopfield read-off: β=%.4f, confidence %s, KS %.3f", beta, np.round(conf, 4), ks)
    return Extraction(
        theory="hopfield",
        parameters={"beta": beta, "n_patterns": int(xi.shape[1])},
        consistency=float((1 - ks) * conf.mean()),
        diagnostics={
            "pattern_confidence": conf.tolist(),
            "expected_bits_wrong": float((1 - pattern_confidence(y)[1]).sum()),
            "binarity": float(1 - ((y - xi) ** 2).mean() / (y * y).mean()),
            "ks_norm_u": ks,
            "pushforward": source,
            "beta_estimates": {k: {"beta": v[0], "ks": v[1]} for k, v in fits.items()},
            "mean_abs_field": float(np.abs(b).mean()),
            "mixing": m.tolist(),
        },
        patterns=xi.astype(np.float64),
        fields=b,
        encoding="spin",
    )
