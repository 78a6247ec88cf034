"""A generalized Hopfield model read off a decoder, for any binary (or ±1) data.

The VAE's marginal is p(x) = ∫ dz N(z; 0, I) Π_i p(x_i | φ_i(z)) with φ(z) = W g(z) + b.
Writing each unit's likelihood as e^{x_i φ_i} / Z_i(φ_i) (Z_i = 1 + e^φ for {0,1} units,
2cosh φ for spins) moves the normalisers into a *tilted* distribution of the order
parameters u = g(z):

    p(x) = ∫ du ρ̃(u) e^{x·(b + W u)},   ρ̃(u) ∝ [push-forward of N(0, I) through g](u) / Π_i Z_i(φ_i).

If ρ̃ is Gaussian, N(m, S), the integral is exactly a generalized Hopfield model,

    p(x) ∝ exp(h·x + |ξᵀx|²/(2N)),   h = b + W m,   ξ = √N W S^{1/2},   J = ξξᵀ/N = W S Wᵀ,

which is the starting point (ξ real, N × K; h the fields). m and S are the self-normalised
importance-weighted mean and covariance of g(z) over prior samples, with weights 1/Π_i Z_i.

The Gaussian's tails are not ρ̃'s: where every field grows (a global-activity direction)
ρ̃ is cut off by 1/Π Z_i while the Gaussian is not, and Π_i Z_i(φ_i) then drags the model
into the all-active state. So the read-off is **calibrated** on the decoder's own model:
keeping the pattern directions W v_k (v_k the eigenvectors of S), the fields h and the
pattern strengths s_k (ξ_k = √N W v_k √s_k) are moved by persistent-chain moment matching
until the Hopfield model reproduces the VAE's rates E[x_i] and pattern overlaps
E[((W v_k)·x)²] (samples of the VAE, not the data). Both the raw and the calibrated model's
mismatch are reported.
The consistency score is 1 / (1 + mean |skewness| + mean |excess kurtosis| of ρ̃ along its
principal axes + relative RMS error of the calibrated model's rates, sampled from fresh
chains, against the VAE's): 1 for an exactly Gaussian ρ̃ and a model that keeps the VAE's
rates; the importance-sampling effective sample size is reported with it. The model is sampled by exact block Gibbs
(:class:`~napari_vaemf.core.baselines.HopfieldModel`).
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
from scipy.special import expit, logit, softmax

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


def calibrate(h: np.ndarray, xi: np.ndarray, target: np.ndarray, encoding: str,
              iters: int = 150, chains: int = 1000, sweeps: int = 5, seed: int = 0
              ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Moment-match fields and pattern strengths of p(x) ∝ exp(h·x + |ξᵀx|²/(2N)) to
    ``target`` samples (T, N) with persistent block-Gibbs chains; directions of ξ are kept."""
    n, k = xi.shape
    norms = np.linalg.norm(xi, axis=0)
    dirs = xi / np.where(norms > 0, norms, 1.0)  # (N, K) unit directions
    log_s = np.log(np.maximum(norms, 1e-3))
    tb = target.astype(np.float64)
    mu_t = tb.mean(0)
    y2_t = ((tb @ dirs) ** 2).mean(0)  # (K,)
    spin = encoding == "spin"
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((chains, k))
    eps = 1.0 / len(tb)
    h = h.copy()
    for it in range(iters):
        x_sum, y2_sum, cnt = np.zeros(n), np.zeros(k), 0
        xi_c = dirs * np.exp(log_s)
        for _ in range(sweeps):
            phi = h + z @ xi_c.T / np.sqrt(n)
            x = (rng.random((chains, n)) < expit(2 * phi if spin else phi)).astype(np.float64)
            if spin:
                x = 2 * x - 1
            z = x @ xi_c / np.sqrt(n) + rng.standard_normal((chains, k))
            x_sum += x.sum(0)
            y2_sum += ((x @ dirs) ** 2).sum(0)
            cnt += chains
        mu_m, y2_m = x_sum / cnt, y2_sum / cnt
        lr = 0.5 if it < iters // 2 else 0.2
        if spin:
            f = np.arctanh
            lo, hi = -1 + eps, 1 - eps
        else:
            f = logit
            lo, hi = eps, 1 - eps
        # clipped steps: a model stuck in an all-active (or silent) state must not overshoot
        h += np.clip(lr * (f(np.clip(mu_t, lo, hi)) - f(np.clip(mu_m, lo, hi))), -0.3, 0.3)
        log_s += np.clip(lr * 0.5 * (np.log(y2_t + 1e-12) - np.log(y2_m + 1e-12)), -0.1, 0.1)
    xi_c = dirs * np.exp(log_s)
    diag = {"calib_rate_rel_rms": float(np.linalg.norm(mu_m - mu_t) / np.linalg.norm(mu_t)),
            "calib_overlap_rel_err": float(np.abs(y2_m / y2_t - 1).max())}
    return h, xi_c, diag


def extract_generalized_hopfield(fit: Any, n_samples: int = 50000, seed: int = 0,
                                 calibrate_samples: int = 50000) -> Extraction:
    """Read (h, ξ) off a trained binary or spin :class:`~napari_vaemf.core.vae.Fit`;
    ``calibrate_samples=0`` skips the calibration (raw tilted-Gaussian read-off)."""
    w, b = decoder_parts(fit)
    if w.ndim != 2:
        raise ParameterError("generalized Hopfield needs a binary or spin fit (not vectors)")
    _, g = prior_pushforward(fit, n_samples, seed)
    h, xi, diag = read_off_from_pushforward(w, b, g, fit.encoding)
    if calibrate_samples:
        # directions: eigenvectors of the read-off couplings, i.e. W v_k (ξ = √N W S^½)
        u, sv, _ = np.linalg.svd(xi, full_matrices=False)
        xi = u * sv
        target = fit.sample(calibrate_samples, seed=seed)
        h, xi, cal = calibrate(h, xi, target, fit.encoding, seed=seed)
        diag.update(cal)
        # the calibration's persistent chains can sit in a metastable state: check the rates
        # of fresh chains of the final sampler against the VAE's
        check = HopfieldModel(h=h, xi=xi, encoding=fit.encoding).sample(20000, seed=seed + 1)
        mu_t, mu_c = target.mean(0), check.mean(0)
        diag["sampler_rate_rel_rms"] = float(np.linalg.norm(mu_c - mu_t) / np.linalg.norm(mu_t))
    score = 1.0 / (1.0 + diag["skewness"] + diag["excess_kurtosis"]
                   + diag.get("sampler_rate_rel_rms", 0.0))
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
