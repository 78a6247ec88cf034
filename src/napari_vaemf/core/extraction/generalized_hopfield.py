"""A generalized Hopfield model read off a decoder, for any binary (or ±1) data.

The VAE's marginal is p(x) = ∫ dz N(z; 0, I) Π_i p(x_i | φ_i(z)) with φ(z) = W g(z) + b.
Writing each unit's likelihood as e^{x_i φ_i} / Z_i(φ_i) (Z_i = 1 + e^φ for {0,1} units,
2cosh φ for spins) moves the normalisers into a *tilted* distribution of the order
parameters u = g(z):

    p(x) = ∫ du ρ̃(u) e^{x·(b + W u)},   ρ̃(u) ∝ [push-forward of N(0, I) through g](u) / Π_i Z_i(φ_i).

If ρ̃ is Gaussian, N(m, S), the integral is exactly a generalized Hopfield model,

    p(x) ∝ exp(h·x + |ξᵀx|²/(2N)),   h = b + W m,   ξ = √N W S^{1/2},   J = ξξᵀ/N = W S Wᵀ,

which is what we return (ξ real, N × K; h the fields). m and S are the self-normalised
importance-weighted mean and covariance of g(z) over prior samples, with weights 1/Π_i Z_i.
The consistency score measures how Gaussian ρ̃ is: 1 / (1 + mean |skewness| + mean |excess
kurtosis|) along its principal axes (1 for an exactly Gaussian ρ̃); the importance-sampling
effective sample size is reported with it. The model is sampled by exact block Gibbs
(:class:`~napari_vaemf.core.baselines.HopfieldModel`).
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
from scipy.special import softmax

from napari_vaemf.core.baselines import HopfieldModel
from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.extraction._common import Extraction, decoder_parts, prior_pushforward

__all__ = ["extract_generalized_hopfield", "read_off_from_pushforward"]

log = logging.getLogger(__name__)


def read_off_from_pushforward(
    w: np.ndarray, b: np.ndarray, g: np.ndarray, encoding: str
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """(h (N,), ξ (N, K), diagnostics) from readout ``w`` (N, K), ``b`` (N,), samples ``g`` (S, K)."""
    if encoding not in ("binary", "spin"):
        raise ParameterError(f"generalized Hopfield needs binary or spin data, got {encoding!r}")
    n = w.shape[0]
    phi = g @ w.T + b  # (S, N)
    if encoding == "spin":
        log_z = np.logaddexp(phi, -phi).sum(1)
    else:
        log_z = np.logaddexp(0.0, phi).sum(1)
    wt = softmax(-log_z)
    ess = float(1.0 / (wt * wt).sum())
    m = wt @ g
    d = g - m
    cov = (d * wt[:, None]).T @ d
    lam, vec = np.linalg.eigh(cov)
    lam = np.clip(lam, 0.0, None)
    sqrt_s = vec @ np.diag(np.sqrt(lam)) @ vec.T
    h = b + w @ m
    xi = np.sqrt(n) * w @ sqrt_s
    # Gaussianity of the tilted distribution along its principal axes
    proj = d @ vec / np.sqrt(np.where(lam > 0, lam, 1.0))
    skew = np.abs((wt[:, None] * proj**3).sum(0))
    kurt = np.abs((wt[:, None] * proj**4).sum(0) - 3.0)
    diag = {"ess": ess, "ess_fraction": ess / len(g), "skewness": float(skew.mean()),
            "excess_kurtosis": float(kurt.mean())}
    return h, xi, diag


def extract_generalized_hopfield(fit: Any, n_samples: int = 50000, seed: int = 0) -> Extraction:
    """Read (h, ξ) off a trained binary or spin :class:`~napari_vaemf.core.vae.Fit`."""
    w, b = decoder_parts(fit)
    if w.ndim != 2:
        raise ParameterError("generalized Hopfield needs a binary or spin fit (not vectors)")
    _, g = prior_pushforward(fit, n_samples, seed)
    h, xi, diag = read_off_from_pushforward(w, b, g, fit.encoding)
    score = 1.0 / (1.0 + diag["skewness"] + diag["excess_kurtosis"])
    norms = np.linalg.norm(xi, axis=0) / np.sqrt(w.shape[0])
    log.info("generalized Hopfield read-off: pattern norms %s, ESS %.0f", np.round(norms, 3), diag["ess"])
    return Extraction(
        theory="generalized-hopfield",
        parameters={"n_patterns": int(xi.shape[1]), "mean_field": float(h.mean())},
        consistency=float(score),
        diagnostics={**diag, "pattern_rms": norms.tolist()},
        patterns=xi,
        fields=h,
        encoding=fit.encoding,
    )


def model_of(ex: Extraction) -> HopfieldModel:
    """The samplable :class:`HopfieldModel` of a generalized-Hopfield :class:`Extraction`."""
    return HopfieldModel(h=np.asarray(ex.fields, float), xi=np.asarray(ex.patterns, float),
                         encoding=ex.encoding)
