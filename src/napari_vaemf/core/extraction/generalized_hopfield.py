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
keeping the pattern directions d_k (the eigenvectors of J = W S Wᵀ), the fields h and
signed strengths λ_k of p(x) ∝ exp(h·x + Σ_k λ_k (d_k·x)²/2) are moved by persistent-chain
maximum-entropy moment matching until the model reproduces the VAE's rates E[x_i] and
pattern overlaps E[(d_k·x)²] (samples of the VAE, not the data). λ_k < 0 makes d_k a
*repulsive* pattern (as in Cocco-Monasson-Sessak): the cut-off tails of ρ̃ show up as a
repulsion, typically along global activity. Both the raw and the calibrated model's
mismatch are reported.
The consistency score is 1 / (1 + mean |skewness| + mean |excess kurtosis| of ρ̃ along its
principal axes + relative RMS error of the calibrated model's rates, sampled from fresh
chains, against the VAE's): 1 for an exactly Gaussian ρ̃ and a model that keeps the VAE's
rates; the importance-sampling effective sample size is reported with it. The model
(:class:`~napari_vaemf.core.baselines.HopfieldModel`) is sampled by exact block Gibbs when
every pattern attracts, by sequential Gibbs otherwise.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
from scipy.special import softmax

from napari_vaemf.core.baselines import HopfieldModel, gibbs_sweep
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
    live = lam > 1e-6 * max(lam.max(), 1e-300)  # axes g moves along (features > K: curvature only)
    proj = d @ vec[:, live] / np.sqrt(lam[live])
    skew = np.abs((wt[:, None] * proj**3).sum(0))
    kurt = np.abs((wt[:, None] * proj**4).sum(0) - 3.0)
    diag = {"ess": ess, "ess_fraction": ess / len(g), "skewness": float(skew.mean()) if skew.size else 0.0,
            "excess_kurtosis": float(kurt.mean()) if kurt.size else 0.0}
    return h, xi, diag


def calibrate(h: np.ndarray, xi: np.ndarray, target: np.ndarray, encoding: str,
              iters: int = 300, chains: int = 1000, sweeps: int = 2, seed: int = 0,
              start: str = "independent", refresh: float = 0.05
              ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Maximum-entropy calibration along the read-off directions, signed strengths.

    The model p(x) ∝ exp(h·x + Σ_k λ_k (d_k·x)²/2) (d_k the unit directions of ξ's columns)
    is moved until its rates E[x_i] and overlaps E[(d_k·x)²] are those of ``target`` (T, N)
    (samples of the VAE), starting from ``start``: "independent" (λ = 0, fields at the
    target's rates; robust: the read-off's raw strengths can put the chains in an all-active
    state they never leave) or "read-off" (h as given, λ_k = |ξ_k|²/N). λ_k may change sign:
    λ_k < 0 is a repulsive pattern (a direction in which the decoder's tilted order-parameter
    density is cut off faster than any Gaussian). Expectations come from persistent
    sequential-Gibbs chains started on target rows, a fraction ``refresh`` of them restarted
    from the independent model every iteration (else a mode that the persistent chains never
    visit, e.g. high activity, stays uncorrected and fresh chains fall into it); steps are
    Newton steps of the maximum-
    entropy likelihood (the gradient solved against the covariance of the sufficient
    statistics under the model), damped (0.5, then 0.2 for the second half) and scaled so no
    coordinate moves by more than that. The ``calib_*`` diagnostics are the last iteration's
    chain estimates (noisy); :func:`extract_generalized_hopfield` checks fresh chains.

    Returns (h, ξ_signed, diagnostics): ξ_signed columns are √(N |λ_k|) d_k, attractive
    first; ``diagnostics["n_attractive"]`` says how many.
    """
    if start not in ("independent", "read-off"):
        raise ParameterError(f"start must be 'independent' or 'read-off', got {start!r}")
    if iters < 1:
        raise ParameterError(f"calibration needs iters >= 1, got {iters}")
    norms = np.linalg.norm(xi, axis=0)
    xi, norms = xi[:, norms > 0], norms[norms > 0]  # null directions carry no statistic
    n, k = xi.shape
    dirs = xi / norms  # (N, K) unit directions
    spin = encoding == "spin"
    tb = target.astype(np.float64)
    mu_t, q_t = tb.mean(0), ((tb @ dirs) ** 2).mean(0)
    rng = np.random.default_rng(seed)
    xb = tb[rng.choice(len(tb), chains)]
    xb = (xb + 1) / 2 if spin else xb.copy()  # chains live in {0, 1}
    if start == "read-off":
        lam, h = norms**2 / n, h.astype(np.float64).copy()
    else:  # the independent model with the target's rates: chains mix, Newton steps grow λ
        lam = np.zeros(k)
        m = np.clip(mu_t, -1 + 1e-4, 1 - 1e-4) if spin else np.clip(mu_t, 1e-4, 1 - 1e-4)
        h = np.arctanh(m) if spin else np.log(m / (1 - m))
    t_target = np.concatenate([mu_t, q_t / 2])
    p0 = (mu_t + 1) / 2 if spin else mu_t
    for it in range(iters):
        pw = _signed_model(h, dirs, lam, n, encoding).pairwise()
        # restart a few chains from the independent model each iteration, so modes the
        # persistent chains never reach (e.g. high activity) are seen and corrected
        fresh = rng.random(chains) < refresh
        xb[fresh] = rng.random((int(fresh.sum()), n)) < p0
        stats_m = []
        for _ in range(sweeps):
            gibbs_sweep(xb, pw.h, pw.J, rng)
            xs = 2 * xb - 1 if spin else xb
            stats_m.append(np.concatenate([xs, (xs @ dirs) ** 2 / 2], axis=1))
        t_m = np.concatenate(stats_m)  # sufficient statistics (x, (d·x)²/2), (chains·sweeps, N + K)
        mean_m = t_m.mean(0)
        fisher = np.cov(t_m.T) + 1e-3 * np.eye(n + k)
        step = np.linalg.solve(fisher, t_target - mean_m)  # Newton step of the max-ent likelihood
        step *= (0.5 if it < iters // 2 else 0.2) / max(1.0, np.abs(step).max())  # trust region
        h += step[:n]
        lam += step[n:]
    mu_m, q_m = mean_m[:n], 2 * mean_m[n:]
    order = np.argsort(-lam)  # attractive (λ > 0) first
    lam, dirs = lam[order], dirs[:, order]
    xi_signed = dirs * np.sqrt(n * np.abs(lam))
    diag = {"calib_rate_rel_rms": float(np.linalg.norm(mu_m - mu_t) / np.linalg.norm(mu_t)),
            "calib_overlap_rel_err": float(np.abs(q_m / q_t - 1).max()),
            "n_attractive": int((lam > 0).sum()), "pattern_strengths": lam.tolist()}
    return h, xi_signed, diag


def _signed_model(h: np.ndarray, dirs: np.ndarray, lam: np.ndarray, n: int, encoding: str,
                  ) -> HopfieldModel:
    att = lam > 0
    return HopfieldModel(h=h, xi=dirs[:, att] * np.sqrt(n * lam[att]),
                         xr=dirs[:, ~att] * np.sqrt(n * -lam[~att]), encoding=encoding)


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
        check = _split_model(h, xi, cal["n_attractive"], fit.encoding).sample(20000, seed=seed + 1)
        mu_t, mu_c = target.mean(0), check.mean(0)
        if fit.encoding == "spin":  # compare in the {0, 1} convention (magnetisations can be ~0)
            mu_t, mu_c = (mu_t + 1) / 2, (mu_c + 1) / 2
        diag["sampler_rate_rel_rms"] = float(np.linalg.norm(mu_c - mu_t) / np.linalg.norm(mu_t))
    score = 1.0 / (1.0 + diag["skewness"] + diag["excess_kurtosis"]
                   + diag.get("sampler_rate_rel_rms", 0.0))
    norms = np.linalg.norm(xi, axis=0) / np.sqrt(w.shape[0])
    log.info("generalized Hopfield read-off: pattern norms %s, ESS %.0f", np.round(norms, 3), diag["ess"])
    return Extraction(
        theory="generalized-hopfield",
        parameters={"n_patterns": int(xi.shape[1]), "mean_field": float(h.mean()),
                    "latents": int(fit.config.latents), "features": int(w.shape[1]),
                    "n_attractive": int(diag.get("n_attractive", xi.shape[1]))},
        consistency=float(score),
        diagnostics={**diag, "pattern_rms": norms.tolist()},
        patterns=xi,
        fields=h,
        encoding=fit.encoding,
    )


def model_of(ex: Extraction) -> HopfieldModel:
    """The samplable :class:`HopfieldModel` of a generalized-Hopfield :class:`Extraction`:
    the first ``n_attractive`` pattern columns attract, the rest repel."""
    pat = np.asarray(ex.patterns, float)
    return _split_model(np.asarray(ex.fields, float), pat,
                        int(ex.parameters.get("n_attractive", pat.shape[1])), ex.encoding)


def _split_model(h: np.ndarray, xi: np.ndarray, n_attractive: int, encoding: str) -> HopfieldModel:
    """The model of signed patterns ``xi``: the first ``n_attractive`` columns attract."""
    return HopfieldModel(h=h, xi=xi[:, :n_attractive], xr=xi[:, n_attractive:], encoding=encoding)
