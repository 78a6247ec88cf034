"""Exact population statistics of a weighted mixture of product Bernoullis (the grid model).

The grid model is p(x) = Σ_g w_g Π_i p_gi^x_i (1 - p_gi)^(1 - x_i) with positive weights w_g
summing to 1 (:mod:`._grid`). Its rates, covariances, third cumulants and P(K) follow in
closed form from the moments of p over the nodes; this is :func:`napari_vaemf.core.stats.
mixture_stats` with weights instead of equally likely draws, so no sampling noise enters.
"""
from __future__ import annotations

import numpy as np

from napari_vaemf.core.errors import InputError
from napari_vaemf.core.stats import (
    PopulationStats,
    poisson_binomial,
    triplet_indices,
)

__all__ = ["grid_stats", "NOMINAL_DRAWS"]

NOMINAL_DRAWS = 1e9  # P(K) is reported as expected counts over this many draws (no smoothing bites)
_CHUNK = 4096  # nodes per block in the P(K) and triplet sums


def grid_stats(p: np.ndarray, w: np.ndarray, triplets: np.ndarray | None = None) -> PopulationStats:
    """:class:`PopulationStats` of Σ_g w_g Π_i Bernoulli(p_gi), exactly.

    ``p``: (G, N) conditional probabilities of each unit being 1 (up) at each node; ``w``:
    (G,) weights (normalised here). ``triplets`` as in :func:`~napari_vaemf.core.stats.
    population_stats` (default: the same seeded subset). ``pk_counts`` are expected counts
    over :data:`NOMINAL_DRAWS` draws and ``n_samples`` is that number, so
    :func:`~napari_vaemf.core.stats.compare` treats the mixture as exact.
    """
    p = np.asarray(p, np.float64)
    w = np.asarray(w, np.float64)
    if p.ndim != 2 or w.shape != (p.shape[0],) or not np.isfinite(p).all() or p.min() < 0 or p.max() > 1:
        raise InputError(None, "grid statistics need (G, N) probabilities in [0, 1] and (G,) weights")
    if w.min() < 0 or not w.sum() > 0:
        raise InputError(None, "grid weights must be non-negative with a positive sum")
    w = w / w.sum()
    n = p.shape[1]
    if triplets is None:
        triplets = triplet_indices(n) if n >= 3 else np.zeros((0, 3), dtype=np.int64)
    t = np.asarray(triplets, dtype=np.int64)
    m = w @ p
    m2 = (p * w[:, None]).T @ p
    np.fill_diagonal(m2, m)  # x_i² = x_i
    cov = m2 - np.outer(m, m)
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(sd, sd)
    corr[~np.isfinite(corr)] = 0.0
    np.fill_diagonal(corr, 1.0)
    pk = np.zeros(n + 1)
    s3 = np.zeros(len(t))
    for a in range(0, len(p), _CHUNK):
        blk, wb = p[a : a + _CHUNK], w[a : a + _CHUNK]
        pk += wb @ poisson_binomial(blk)
        if len(t):
            s3 += np.einsum("s,sm,sm,sm->m", wb, blk[:, t[:, 0]], blk[:, t[:, 1]], blk[:, t[:, 2]])
    c3 = np.zeros(0)
    if len(t):
        i, j, k = t.T
        c3 = s3 - m[i] * m2[j, k] - m[j] * m2[i, k] - m[k] * m2[i, j] + 2 * m[i] * m[j] * m[k]
    return PopulationStats(rates=m, cov=cov, corr=corr, pk=pk, pk_counts=pk * NOMINAL_DRAWS,
                           triplets=t, c3=c3, n_samples=int(NOMINAL_DRAWS))
