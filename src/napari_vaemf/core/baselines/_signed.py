"""The generalized Hopfield model with attractive and repulsive patterns (``hopfield-signed``).

    p(x) ∝ exp(b·x + ½|Wᵀx|² − ½|Vᵀx|²),   J = WWᵀ − VVᵀ,

W (N × A, A ≤ 3) attractive and V (N × R) repulsive patterns, as in Cocco, Monasson & Sessak
(2011). The repulsive part has no real Hubbard-Stratonovich field, so the exact-likelihood
route of the strict model (:mod:`._strict`) is closed. The fit starts from the strict
model's exact maximum likelihood (b, W) and small repulsive patterns along the bottom
eigenvectors of the covariance, then follows the likelihood gradient with persistent Gibbs
chains (persistent contrastive divergence): ∂/∂b = m_data − m_model, ∂/∂W = (C_data −
C_model) W, ∂/∂V = −(C_data − C_model) V, the model moments from chains that carry over
between steps; the parameters are averaged over the last quarter of the steps. Where the chains cannot mix (the retrieval states of a Hopfield network
are separated by barriers that grow with N), their moments are biased and the result can be
worse than the start: the fit keeps whichever of the two has the higher training
log-likelihood (``model.kept_start``).
(Pseudo-likelihood, the other consistent route, was tried and rejected: on sparse recordings
its optimum gives the all-active state most of the mass, which no data conditional sees.)
The held-out log-likelihood needs log Z: annealed importance sampling from the independent
model (:func:`._ais.ais_log_partition`), twice with independent seeds; the mean is used and
the difference reported (``log_z_spread``). The result is a
:class:`~napari_vaemf.core.baselines.HopfieldModel` (sampled by Gibbs sweeps of its pairwise
form) with that log Z.
"""
from __future__ import annotations

import logging
import math

import numpy as np

from napari_vaemf.core.encoding import detect_encoding
from napari_vaemf.core.errors import ParameterError

__all__ = ["fit_signed_hopfield"]

log = logging.getLogger(__name__)


class _Adam:
    """Adam ascent on a list of numpy arrays, in place."""

    def __init__(self, params: list[np.ndarray], lr: float):
        self.params, self.lr, self.t = params, lr, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def ascend(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            p += self.lr * (m / (1 - 0.9**self.t)) / (np.sqrt(v / (1 - 0.999**self.t)) + 1e-8)


def fit_signed_hopfield(x: np.ndarray, attractive: int = 3, repulsive: int = 3,
                        encoding: str | None = None, *, steps: int = 600, chains: int = 2000,
                        lr: float = 0.01, seed: int = 0, ais_chains: int = 1000,
                        ais_temps: int = 1000):
    """A :class:`HopfieldModel` with ``attractive`` (1..3) + ``repulsive`` patterns fitted to
    ``x`` (T, N) in {0,1} or ±1 (module docstring). ``model.log_z_spread`` holds the
    difference of the two AIS estimates of log Z."""
    from napari_vaemf.core.baselines._ais import ais_log_partition
    from napari_vaemf.core.baselines._models import HopfieldModel, gibbs_sweep
    from napari_vaemf.core.baselines._strict import MAX_PATTERNS, fit_strict_hopfield

    if not 1 <= attractive <= MAX_PATTERNS or repulsive < 0:
        raise ParameterError(f"hopfield-signed takes 1 to {MAX_PATTERNS} attractive and >= 0 "
                             f"repulsive patterns, got {attractive} and {repulsive}")
    x = np.asarray(x)
    encoding = encoding or detect_encoding(x)
    spin = encoding == "spin"
    v = x.astype(np.float64) if spin else (x > 0).astype(np.float64)
    t, n = v.shape
    if attractive + repulsive > n:
        raise ParameterError(f"hopfield-signed: {attractive} + {repulsive} patterns for {n} units")
    strict = fit_strict_hopfield(x, attractive, encoding)
    b, w = strict.b.copy(), strict.w.copy()
    _, evecs = np.linalg.eigh(np.cov(v.T) + 1e-9 * np.eye(n))
    r = 0.05 * evecs[:, :repulsive]
    m_d, c_d = v.mean(0), v.T @ v / t
    rng = np.random.default_rng(seed)
    chain = v[rng.integers(0, t, chains)]
    chain01 = (chain + 1) / 2 if spin else chain.copy()
    opt = _Adam([b, w, r], lr)
    keep = max(1, steps // 4)
    avg = [np.zeros_like(p) for p in (b, w, r)]
    for step in range(steps):
        pair = HopfieldModel(h=b, xi=w * math.sqrt(n), xr=r * math.sqrt(n), encoding=encoding).pairwise()
        for _ in range(2):
            gibbs_sweep(chain01, pair.h, pair.J, rng)
        vals = 2 * chain01 - 1 if spin else chain01
        dm, dc = m_d - vals.mean(0), c_d - vals.T @ vals / chains
        opt.lr = lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        opt.ascend([dm, dc @ w, -(dc @ r)])
        if step >= steps - keep:
            for a, p in zip(avg, (b, w, r)):
                a += p / keep
    b, w, r = avg
    signs = np.r_[np.ones(w.shape[1]), -np.ones(r.shape[1])]
    both = np.hstack([w, r])
    z1, _ = ais_log_partition(b, both, spin, ais_chains, ais_temps, seed=seed, signs=signs)
    z2, _ = ais_log_partition(b, both, spin, ais_chains, ais_temps, seed=seed + 1, signs=signs)
    model = HopfieldModel(h=b, xi=w * math.sqrt(n), xr=r * math.sqrt(n), encoding=encoding)
    model._log_z = 0.5 * (z1 + z2)
    model.log_z_spread = abs(z1 - z2)
    model.kept_start = False
    start = strict.loglik(x)  # exact: the strict model's log Z is the HS lattice's
    if model.loglik(x) < start:  # the chains did not mix (e.g. between retrieval states)
        log.info("hopfield-signed: the chains lowered the training log-likelihood (%.4f < %.4f "
                 "of the strict start); keeping the start, with no repulsive pattern",
                 model.loglik(x), start)
        model = HopfieldModel(h=strict.b.copy(), xi=strict.w * math.sqrt(n),
                              xr=None, encoding=encoding)
        model._log_z, model.log_z_spread, model.kept_start = strict.log_z, 0.0, True
    log.info("hopfield-signed %d+%d: log Z %.4f (AIS spread %.4f), train log-lik %.4f",
             w.shape[1], r.shape[1], model._log_z, model.log_z_spread, model.loglik(x))
    return model
