"""2-D Ising model (L x L, nearest neighbours, periodic) sampled with Wolff cluster updates.

E(s) = -sum_<ij> s_i s_j (J = 1). A Wolff update activates every bond between equal
neighbours with probability 1 - exp(-2 beta), finds the connected cluster of a random seed
site and flips it. Chains are vectorised: the bond graphs of all chains form one sparse
graph whose connected components scipy finds in a single call.
"""
from __future__ import annotations

import logging
import math

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from napari_vaemf.core.configs import SampleSet
from napari_vaemf.core.progress import Job, Progress
from napari_vaemf.core.samplers._common import tau_or_none, check_finite, check_positive_int

__all__ = ["sample_ising2d", "ising2d_energy", "BETA_C"]

log = logging.getLogger(__name__)

BETA_C = math.log(1.0 + math.sqrt(2.0)) / 2.0  # Onsager's critical point, 0.4406868


def ising2d_energy(s: np.ndarray) -> np.ndarray:
    """Energy -sum_<ij> s_i s_j of periodic configurations (..., L, L)."""
    s = np.asarray(s, dtype=np.int32)
    return -(s * np.roll(s, -1, axis=-1) + s * np.roll(s, -1, axis=-2)).sum(axis=(-1, -2))


def _cluster_labels(rng: np.random.Generator, s: np.ndarray, p_bond: float) -> np.ndarray:
    """Fortuin-Kasteleyn clusters of every chain of s (C, L, L): labels (C, L, L)."""
    c, length, _ = s.shape
    idx = np.arange(c * length * length).reshape(c, length, length)
    u = rng.random((2, c, length, length), dtype=np.float32)
    right = (s == np.roll(s, -1, axis=2)) & (u[0] < p_bond)
    down = (s == np.roll(s, -1, axis=1)) & (u[1] < p_bond)
    rows = np.concatenate([idx[right], idx[down]])
    cols = np.concatenate([np.roll(idx, -1, axis=2)[right], np.roll(idx, -1, axis=1)[down]])
    graph = coo_matrix((np.ones(rows.size, dtype=np.int8), (rows, cols)),
                       shape=(idx.size, idx.size)).tocsr()
    _, labels = connected_components(graph, directed=False)
    return labels.reshape(s.shape)


def _wolff_update(rng: np.random.Generator, s: np.ndarray, p_bond: float) -> np.ndarray:
    """One Wolff cluster flip in every chain of s (C, L, L), in place; returns cluster sizes."""
    c, length, _ = s.shape
    labels = _cluster_labels(rng, s, p_bond)
    seed = rng.integers(length * length, size=c)
    flip = labels == labels.reshape(c, -1)[np.arange(c), seed][:, None, None]
    s[flip] *= -1
    return flip.sum(axis=(1, 2))


def _swendsen_wang_update(rng: np.random.Generator, s: np.ndarray, p_bond: float) -> None:
    """One Swendsen-Wang update (every cluster flipped with probability 1/2), in place."""
    labels = _cluster_labels(rng, s, p_bond)
    flip_cluster = rng.random(labels.max() + 1) < 0.5
    s[flip_cluster[labels]] *= -1


def sample_ising2d(
    length: int,
    beta: float = BETA_C,
    samples: int = 10000,
    seed: int = 0,
    chains: int | None = None,
    burn_in: int = 50,
    thin: int | None = None,
) -> Job[SampleSet]:
    """Equilibrium samples (T=samples, N=length^2) int8 ±1 of the periodic 2-D Ising model.

    ``chains`` independent chains (default min(samples, 32)) start from random spins and
    equilibrate with ``burn_in`` Swendsen-Wang sweeps; then they make Wolff cluster flips
    and record every ``thin`` flips (default: enough flips to turn over about L^2 spins,
    from the mean cluster size of 10 trial flips). Configurations are row-major
    flattened L x L lattices. Truth: {"energy" (T,) per site, "magnetisation" (T,) per site}.
    """
    length = check_positive_int("length", length, minimum=2)
    beta = check_finite("beta", beta, minimum=0.0)
    samples = check_positive_int("samples", samples)
    seed = check_positive_int("seed", seed, minimum=0)
    burn_in = check_positive_int("burn_in", burn_in, minimum=0)
    chains = check_positive_int("chains", chains if chains is not None else min(samples, 32))
    if thin is not None:
        thin = check_positive_int("thin", thin)
    p_bond = 1.0 - math.exp(-2.0 * beta)
    sites = length * length
    rng = np.random.default_rng(seed)
    s = np.where(rng.random((chains, length, length)) < 0.5, -1, 1).astype(np.int8)
    records = math.ceil(samples / chains)
    yield Progress("burn-in", 0, burn_in)
    for i in range(burn_in):
        _swendsen_wang_update(rng, s, p_bond)
        yield Progress("burn-in", i + 1, burn_in)
    sizes = [_wolff_update(rng, s, p_bond) for _ in range(10)]
    if thin is None:
        mean_size = float(np.mean(sizes))
        thin = max(1, round(sites / max(mean_size, 1.0)))
    total = records * thin
    out = np.empty((records * chains, sites), dtype=np.int8)
    m_trace = np.empty((records, chains))
    yield Progress("sample", 0, total)
    for i in range(total):
        _wolff_update(rng, s, p_bond)
        if (i + 1) % thin == 0:
            r = (i + 1) // thin - 1
            out[r * chains : (r + 1) * chains] = s.reshape(chains, sites)
            m_trace[r] = np.abs(s.mean(axis=(1, 2), dtype=np.float64))
        yield Progress("sample", i + 1, total)
    configs = out[:samples]
    lattice = configs.reshape(-1, length, length)
    energy = (ising2d_energy(lattice) / sites).astype(np.float32)
    mag = configs.mean(axis=1, dtype=np.float64).astype(np.float32)
    params = {"length": length, "n": sites, "beta": beta, "samples": samples, "seed": seed,
              "chains": chains, "burn_in": burn_in, "thin": thin,
              "sampler": "Swendsen-Wang burn-in, then Wolff single-cluster updates",
              "diagnostics": {"tau_int_abs_m_records": tau_or_none(m_trace),
                              "mean_cluster_size": float(np.mean(sizes))}}
    return SampleSet("ising2d", configs, params, {"energy": energy, "magnetisation": mag})
