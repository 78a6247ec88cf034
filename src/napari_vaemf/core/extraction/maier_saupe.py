"""Maier-Saupe βJ read off a decoder of 3-D unit vectors, and the nematic order S.

Convention (the project's sampler, :mod:`napari_vaemf.core.samplers.maier_saupe`):
E = -(J/2N) Σ_ij (n_i·n_j)². With f = Σ_i (n_i n_iᵀ) in the orthonormal traceless basis of
:data:`~napari_vaemf.core.vae.bingham.BASIS`, -βE = βJ|f|²/(2N) + const, and
Hubbard-Stratonovich gives a mixture of Bingham products,

    p(n) = ∫ d⁵a ρ(a) Π_i exp(n_iᵀ Λ(a) n_i) / Z_B(Λ(a)),
    ρ(a) ∝ exp(-N|a|²/(2βJ) + N log Z_B(Λ(a))),   Λ(a) = Σ_c a_c BASIS[c],

which is the product decoder with a uniform readout: the decoder's Bingham field of every
unit must be the same traceless Λ(z) (``readout_uniformity``), and the prior's push-forward
of Λ̄(z) = mean_i Λ_i(z) must be ρ. ρ is an exponential family in 1/βJ with sufficient
statistic |a|² = tr Λ², so the maximum-likelihood βJ matches E_βJ[tr Λ²] to the samples'
mean. E_βJ[tr Λ²] is an exact 2-D integral over the eigenvalues (λ1, λ2, λ3 = -λ1 - λ2) of
Λ with the Vandermonde Jacobian |Π_{k<l}(λ_k - λ_l)| of symmetric matrices, done on a grid
with Bingham's exact normaliser. The fit quality is the KS distance between tr Λ² of the
decoder and of ρ at the fitted βJ; the consistency score is (1 - KS) × readout_uniformity.
As for Curie-Weiss, with data the aggregate posterior's push-forward is fitted too and that
estimate is reported (both are in the diagnostics).
The nematic order parameter of a configuration is S = (3/2) λ_max(mean_i n_i n_iᵀ - I/3).
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from scipy.optimize import brentq
from scipy.special import logsumexp

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.samplers.maier_saupe import nematic_order as _sampler_nematic_order
from napari_vaemf.core.extraction._common import (
    Extraction,
    decoder_parts,
    posterior_pushforward,
    prior_pushforward,
)
from napari_vaemf.core.extraction.curie_weiss import readout_uniformity
from napari_vaemf.core.vae import bingham

__all__ = ["nematic_order", "EigenGrid", "extract_maier_saupe"]

log = logging.getLogger(__name__)

_E1 = np.array([1.0, -1.0, 0.0]) / np.sqrt(2)
_E2 = np.array([1.0, 1.0, -2.0]) / np.sqrt(6)


def nematic_order(n: np.ndarray) -> np.ndarray:
    """S = λ_max(Q) per configuration, for (T, N, 3) -> (T,) (the samplers' definition)."""
    return _sampler_nematic_order(n)[0]


class EigenGrid:
    """log Z_B and the Vandermonde measure on a grid over traceless eigenvalue pairs."""

    def __init__(self, radius: float = 12.0, points: int = 481):
        x = np.linspace(-radius, radius, points)
        xx, yy = np.meshgrid(x, x, indexing="ij")
        lam = xx[..., None] * _E1 + yy[..., None] * _E2  # (P, P, 3), trace 0
        self.r2 = (xx**2 + yy**2).ravel()  # tr Λ² = |a|²
        vdm = np.abs((lam[..., 0] - lam[..., 1]) * (lam[..., 0] - lam[..., 2]) * (lam[..., 1] - lam[..., 2]))
        self.log_vdm = np.log(np.maximum(vdm, 1e-300)).ravel()
        mats = torch.diag_embed(torch.as_tensor(lam.reshape(-1, 3), dtype=torch.float64))
        self.log_zb = bingham.log_normaliser(mats).numpy()

    def log_weights(self, n: int, beta_j: float) -> np.ndarray:
        lw = self.log_vdm - n * self.r2 / (2 * beta_j) + n * self.log_zb
        return lw - logsumexp(lw)

    def mean_tr2(self, n: int, beta_j: float) -> float:
        return float(np.exp(self.log_weights(n, beta_j)) @ self.r2)


def fit_beta_j(tr2: np.ndarray, n: int, grid: EigenGrid | None = None) -> tuple[float, float]:
    """(βJ, KS) matching E_βJ[tr Λ²] to the mean of samples ``tr2`` (S,)."""
    grid = grid or EigenGrid()
    target = float(np.mean(tr2))
    f = lambda lb: grid.mean_tr2(n, float(np.exp(lb))) - target  # noqa: E731
    lo, hi = np.log(0.05), np.log(60.0)
    if f(lo) > 0 or f(hi) < 0:
        raise ParameterError(f"mean tr Λ² = {target:.4g} is outside the Maier-Saupe range")
    beta_j = float(np.exp(brentq(f, lo, hi, xtol=1e-6)))
    p = np.exp(grid.log_weights(n, beta_j))
    order = np.argsort(grid.r2)
    cdf = np.cumsum(p[order])
    srt = np.sort(np.asarray(tr2, float))
    model = np.interp(srt, grid.r2[order], cdf)
    emp = np.arange(1, srt.size + 1) / srt.size
    return beta_j, float(np.abs(model - emp).max())


def extract_maier_saupe(fit: Any, n_samples: int = 20000, seed: int = 0,
                        data: np.ndarray | None = None) -> Extraction:
    """Read βJ off a trained vector :class:`~napari_vaemf.core.vae.Fit`; with ``data``
    (T, N, 3) also compare the S distribution of the VAE's samples and of the theory read off
    (Maier-Saupe at that βJ, :func:`sample_maier_saupe_hs`) with the data's."""
    if fit.encoding != "vector":
        raise ParameterError(f"Maier-Saupe needs a fit to unit vectors, this one is {fit.encoding!r}")
    w, b = decoder_parts(fit)  # (N, 5, K), (N, 5)
    n = w.shape[0]
    _, g = prior_pushforward(fit, n_samples, seed)
    grid = EigenGrid()

    def fit_from(gs: np.ndarray) -> tuple[float, float, float]:
        a = gs @ w.mean(0).T + b.mean(0)  # (S, 5) the mean Bingham field's components
        tr2 = (a * a).sum(1)
        return (*fit_beta_j(tr2, n, grid), float(tr2.mean()))

    fits = {"prior": fit_from(g)}
    g_post = posterior_pushforward(fit, n_samples, seed, data)
    if g_post is not None:
        fits["aggregate_posterior"] = fit_from(g_post)
    source = "aggregate_posterior" if "aggregate_posterior" in fits else "prior"
    beta_j, ks, mean_tr2 = fits[source]
    uni = readout_uniformity(np.concatenate([w.reshape(n, -1), b], axis=1))
    diag: dict[str, Any] = {"ks_tr2": ks, "readout_uniformity": uni, "mean_tr2": mean_tr2,
                            "n_units": n, "pushforward": source,
                            "estimates": {k: {"beta_J": v[0], "ks": v[1]} for k, v in fits.items()}}
    if data is not None:
        s_data = nematic_order(data)
        s_model = nematic_order(fit.sample(min(len(data), 5000), seed=seed))
        from napari_vaemf.core.extraction.hopfield import _ks

        # the theory read off: Maier-Saupe at the read-off βJ, sampled exactly (HS block Gibbs)
        s_theory = nematic_order(sample_maier_saupe_hs(n, beta_j, min(len(data), 5000), seed=seed))
        diag.update(S_data_mean=float(s_data.mean()), S_model_mean=float(s_model.mean()),
                    S_data_std=float(s_data.std()), S_model_std=float(s_model.std()),
                    ks_S_model_vs_data=_ks(s_data, s_model),
                    S_theory_mean=float(s_theory.mean()), S_theory_std=float(s_theory.std()),
                    ks_S_theory_vs_data=_ks(s_data, s_theory))
    log.info("Maier-Saupe read-off: βJ=%.4f KS=%.4f uniformity=%.4f", beta_j, ks, uni)
    return Extraction(theory="maier-saupe", parameters={"beta_J": beta_j},
                      consistency=(1 - ks) * uni, diagnostics=diag, encoding="vector")


def sample_maier_saupe_hs(n: int, beta_j: float, samples: int, seed: int = 0,
                          chains: int = 200, burn_in: int = 200, thin: int = 2) -> np.ndarray:
    """Exact block-Gibbs samples (samples, n, 3) of the Maier-Saupe model (this module's
    convention), no tempering: n_i | a ~ Bingham(Λ(a)), a | n ~ N(βJ f/N, βJ/N I₅).
    Chains start nematic along z (use the tempered project sampler near the transition)."""
    if n < 1 or samples < 1 or beta_j <= 0:
        raise ParameterError("Maier-Saupe sampling needs n >= 1, samples >= 1 and βJ > 0")
    rng = np.random.default_rng(seed)
    basis = bingham.BASIS.numpy()
    c = min(chains, samples)
    per = -(-samples // c)
    sd = np.sqrt(beta_j / n)
    # start ordered along z so nematic chains need not nucleate
    a = np.tile(np.array([0.0, 1.0, 0.0, 0.0, 0.0]) * beta_j * 0.5, (c, 1))
    out = np.empty((per, c, n, 3), dtype=np.float32)
    kept = 0
    for step in range(burn_in + per * thin):
        lam = np.einsum("bc,cij->bij", a, basis)  # (C, 3, 3)
        vec = bingham.sample_bingham(np.broadcast_to(lam[:, None], (c, n, 3, 3)), rng)  # (C, N, 3)
        f = np.einsum("bni,cij,bnj->bc", vec, basis, vec)  # (C, 5)
        a = beta_j * f / n + sd * rng.standard_normal((c, 5))
        if step >= burn_in and (step - burn_in) % thin == thin - 1:
            out[kept] = vec
            kept += 1
    return out.reshape(-1, n, 3)[:samples]
