"""The generalized Hopfield model with attractive and repulsive patterns (``hopfield-signed``).

    p(x) ∝ exp(b·x + ½|Wᵀx|² − ½|Vᵀx|²),   J = WWᵀ − VVᵀ,

W (N × A) attractive and V (N × R) repulsive patterns, as in Cocco, Monasson & Sessak (2011).
The repulsive part has no real Hubbard-Stratonovich field, so the exact-likelihood route of
the strict model (:mod:`._strict`) is closed. The patterns are fitted by maximum
*pseudo-likelihood* (Σ_i log p(x_i | x_rest), a consistent estimator that needs no Z; the
data enter through their distinct configurations and counts), started from the CMS patterns
(the mean-field J = D⁻¹ − C⁻¹ restricted to the top A and bottom R eigen-directions of the
correlation matrix), with Adam. The held-out log-likelihood needs log Z: it is estimated by
annealed importance sampling from the independent model (:func:`._ais.ais_log_partition`),
twice with independent seeds; their mean is used and their difference reported
(``log_z_spread``) as the check. The result is a
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


def _cms_start(v: np.ndarray, attractive: int, repulsive: int) -> tuple[np.ndarray, np.ndarray]:
    """CMS patterns (N, A), (N, R) of values ``v``: J = WWᵀ − VVᵀ from the top and bottom
    eigenpairs of the correlation matrix (:mod:`._cms`, in the data's own variables)."""
    var = np.clip(v.var(0), 1e-6, None)
    c = np.cov(v.T, bias=True) / np.sqrt(np.outer(var, var))
    np.fill_diagonal(c, 1.0)
    lam, vec = np.linalg.eigh(c)
    lam = np.clip(lam, 1e-6, None)
    scale = 1 / np.sqrt(var)[:, None]
    top, bottom = np.arange(len(lam) - attractive, len(lam))[::-1], np.arange(repulsive)
    w = np.sqrt(np.clip(1 - 1 / lam[top], 0, None)) * vec[:, top] * scale
    r = np.sqrt(np.clip(1 / lam[bottom] - 1, 0, None)) * vec[:, bottom] * scale
    return w, r


def fit_signed_hopfield(x: np.ndarray, attractive: int = 3, repulsive: int = 3,
                        encoding: str | None = None, *, steps: int = 600, lr: float = 0.02,
                        seed: int = 0, ais_chains: int = 1000, ais_temps: int = 1000):
    """A :class:`HopfieldModel` with ``attractive`` + ``repulsive`` patterns fitted to ``x``
    (T, N) in {0,1} or ±1 by maximum pseudo-likelihood; log Z by AIS (module docstring).
    ``model.log_z_spread`` holds the difference of the two AIS estimates."""
    import torch

    from napari_vaemf.core.baselines._ais import ais_log_partition
    from napari_vaemf.core.baselines._models import HopfieldModel

    if attractive < 0 or repulsive < 0 or attractive + repulsive < 1:
        raise ParameterError(f"hopfield-signed needs at least one pattern, got {attractive} "
                             f"attractive and {repulsive} repulsive")
    x = np.asarray(x)
    encoding = encoding or detect_encoding(x)
    spin = encoding == "spin"
    v = x.astype(np.float64) if spin else (x > 0).astype(np.float64)
    t, n = v.shape
    if attractive + repulsive > n:
        raise ParameterError(f"hopfield-signed: {attractive} + {repulsive} patterns for {n} units")
    rows, counts = np.unique(v, axis=0, return_counts=True)
    w0, r0 = _cms_start(v, attractive, repulsive)
    m = v.mean(0)
    b0 = np.arctanh(np.clip(m, -0.999, 0.999)) if spin else np.log(
        np.clip(m, 0.5 / t, 1) / np.clip(1 - m, 0.5 / t, 1))
    if not spin:  # mean-field fields of the CMS start (as :func:`fit_cms`)
        j0 = w0 @ w0.T - r0 @ r0.T
        b0 = b0 - (j0 - np.diag(np.diag(j0))) @ m - 0.5 * np.diag(j0)
    torch.manual_seed(seed)
    bt = torch.tensor(b0, requires_grad=True)
    wt = torch.tensor(w0, requires_grad=True)
    rt = torch.tensor(r0, requires_grad=True)
    vt, ct = torch.tensor(rows), torch.tensor(counts / t)
    opt = torch.optim.Adam([bt, wt, rt], lr=lr)
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        j = wt @ wt.T - rt @ rt.T
        diag = torch.diagonal(j)
        field = bt + vt @ j - vt * diag  # Σ_{j≠i} J_ij v_j
        if spin:  # log p(s_i | rest) = s_i f_i − log 2cosh f_i
            lp = vt * field - (field.abs() + torch.log1p(torch.exp(-2 * field.abs())))
        else:  # x_i² = x_i: the diagonal adds J_ii/2 to the field
            field = field + 0.5 * diag
            lp = vt * field - torch.nn.functional.softplus(field)
        loss = -(ct @ lp.sum(1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    b, w, r = (a.detach().numpy().copy() for a in (bt, wt, rt))
    signs = np.r_[np.ones(w.shape[1]), -np.ones(r.shape[1])]
    both = np.hstack([w, r])
    z1, _ = ais_log_partition(b, both, spin, ais_chains, ais_temps, seed=seed, signs=signs)
    z2, _ = ais_log_partition(b, both, spin, ais_chains, ais_temps, seed=seed + 1, signs=signs)
    model = HopfieldModel(h=b, xi=w * math.sqrt(n), xr=r * math.sqrt(n), encoding=encoding)
    model._log_z = 0.5 * (z1 + z2)
    model.log_z_spread = abs(z1 - z2)
    log.info("hopfield-signed %d+%d: pseudo-log-lik %.4f nats/sample, log Z %.4f (AIS spread "
             "%.4f)", w.shape[1], r.shape[1], -float(loss.detach()), model._log_z, model.log_z_spread)
    return model
