"""Exact bipartite mutual information where the model is known.

When p(x) depends on each half only through a sufficient statistic (the half
magnetisations of a Curie-Weiss magnet, the half overlaps of a Hopfield network with its
patterns), the joint law of the units inside a half is uniform on each level set of the
statistic, so I(X_A; X_B) = I(T_A; T_B) exactly. The joint law of (T_A, T_B) is small and
is summed exactly, in log space.

Conventions (N units s_i = ±1):
- Curie-Weiss: p(s) ∝ exp(βJ M²/(2N) + βh M), M = Σ_i s_i.
- Hopfield:    p(s) ∝ exp(β/(2N) Σ_μ (ξ^μ·s)²), patterns ξ^μ ∈ {±1}^N.
"""
from __future__ import annotations

import itertools
from typing import Callable

import numpy as np
from scipy.special import gammaln, logsumexp

from napari_vaemf.core.capacity._partitions import Bipartition
from napari_vaemf.core.errors import ParameterError

__all__ = ["mutual_information_from_log_joint", "curie_weiss_half_joint",
           "curie_weiss_bipartite_mi", "hopfield_half_states", "hopfield_bipartite_mi",
           "enumerate_bipartite_mi", "exact_estimates"]


def _log_binom(n: int, k: np.ndarray) -> np.ndarray:
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def mutual_information_from_log_joint(log_p: np.ndarray) -> float:
    """I(A;B) in nats from an (unnormalised) log joint table log p(a, b)."""
    log_p = np.asarray(log_p, dtype=np.float64)
    log_p = log_p - logsumexp(log_p)
    la = logsumexp(log_p, axis=1, keepdims=True)
    lb = logsumexp(log_p, axis=0, keepdims=True)
    p = np.exp(log_p)
    terms = np.where(p > 0, p * (log_p - la - lb), 0.0)
    return float(max(terms.sum(), 0.0))


def curie_weiss_half_joint(n: int, beta_j: float, beta_h: float = 0.0,
                           n_a: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact finite-N joint law of the half magnetisations of a Curie-Weiss magnet.

    Returns ``(m_a, m_b, log_p)``: the possible values of M_A (n_a + 1) and M_B, and the
    normalised log P(M_A, M_B) ∝ log C(n_a, k_a) + log C(n_b, k_b) + βJ M²/(2N) + βh M.
    """
    n_a = n // 2 if n_a is None else int(n_a)
    if n < 2 or not 0 < n_a < n:
        raise ParameterError(f"need 0 < n_a < n with n >= 2, got n={n}, n_a={n_a}")
    n_b = n - n_a
    ka, kb = np.arange(n_a + 1), np.arange(n_b + 1)
    m_a, m_b = 2 * ka - n_a, 2 * kb - n_b
    m = (m_a[:, None] + m_b[None, :]).astype(np.float64)
    log_p = (_log_binom(n_a, ka)[:, None] + _log_binom(n_b, kb)[None, :]
             + beta_j * m**2 / (2 * n) + beta_h * m)
    return m_a, m_b, log_p - logsumexp(log_p)


def curie_weiss_bipartite_mi(n: int, beta_j: float, beta_h: float = 0.0,
                             n_a: int | None = None) -> float:
    """Exact I(X_A; X_B) in nats of a Curie-Weiss magnet cut into halves of n_a, n - n_a."""
    return mutual_information_from_log_joint(curie_weiss_half_joint(n, beta_j, beta_h, n_a)[2])


def hopfield_half_states(patterns: np.ndarray, max_states: int = 2_000_000
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Density of states of the overlap vector m = ξᵀs of one half (rows of ``patterns``).

    Units are grouped by their pattern row; a group of n_t units with s = +1 on k_t of
    them adds v_t (2 k_t - n_t) to m with multiplicity C(n_t, k_t). Every component of m
    has the parity of the half size n_h, so m is stored on the grid j = (m + n_h) / 2 in
    {0..n_h}^P and the groups are convolved in log space. Returns the reachable overlap
    vectors (S, P) and their log counts (S,).
    """
    xi = np.asarray(patterns)
    if xi.ndim != 2 or xi.size == 0 or not np.all(np.abs(xi) == 1):
        raise ParameterError("patterns must be a non-empty (N, P) array of ±1")
    n_h, p = xi.shape
    if (n_h + 1) ** p > max_states:
        raise ParameterError(f"exact Hopfield MI needs (n_half + 1)^P = {(n_h + 1) ** p} "
                             f"grid states > {max_states}; use fewer patterns or units")
    rows, counts = np.unique(xi.astype(np.int64), axis=0, return_counts=True)
    grid = np.full((n_h + 1,) * p, -np.inf)
    grid[(0,) * p] = 0.0  # j_μ counts the units with ξ_iμ s_i = +1; none placed yet
    for v, n_t in zip(rows, counts):
        # k plus-spins in this group add k to j_μ where v_μ = +1 and n_t - k where v_μ = -1
        new = np.full_like(grid, -np.inf)
        lc = _log_binom(int(n_t), np.arange(n_t + 1))
        for k in range(n_t + 1):
            shift = np.where(v > 0, k, n_t - k)
            src = tuple(slice(0, n_h + 1 - sh) for sh in shift)
            dst = tuple(slice(sh, n_h + 1) for sh in shift)
            new[dst] = np.logaddexp(new[dst], grid[src] + lc[k])
        grid = new
    idx = np.argwhere(np.isfinite(grid))
    m = 2 * idx - n_h
    return m.astype(np.float64), grid[tuple(idx.T)]


def hopfield_bipartite_mi(patterns: np.ndarray, beta: float, partition: Bipartition,
                          max_states: int = 2_000_000, chunk: int = 2048) -> float:
    """Exact I(X_A; X_B) in nats of a Hopfield network through the half overlaps.

    log p(m_A, m_B) = log g_A(m_A) + log g_B(m_B) + β |m_A + m_B|² / (2N); the cross term
    β m_A·m_B / N is summed in chunks so that S_A x S_B never sits in memory at once.
    """
    xi = np.asarray(patterns)
    n = xi.shape[0]
    if partition.n != n:
        raise ParameterError(f"partition covers {partition.n} units, patterns have {n}")
    ma, ga = hopfield_half_states(xi[partition.a], max_states)
    mb, gb = hopfield_half_states(xi[partition.b], max_states)
    la = ga + beta * (ma**2).sum(1) / (2 * n)
    lb = gb + beta * (mb**2).sum(1) / (2 * n)
    # pass 1: normaliser and marginal of A; marginal of B accumulated in log space
    log_pa = np.empty(len(la))
    log_pb = np.full(len(lb), -np.inf)
    for s in range(0, len(la), chunk):
        blk = la[s:s + chunk, None] + lb[None, :] + beta * (ma[s:s + chunk] @ mb.T) / n
        log_pa[s:s + chunk] = logsumexp(blk, axis=1)
        log_pb = np.logaddexp(log_pb, logsumexp(blk, axis=0))
    log_z = logsumexp(log_pa)
    log_pa -= log_z
    log_pb -= log_z
    mi = 0.0
    for s in range(0, len(la), chunk):
        blk = la[s:s + chunk, None] + lb[None, :] + beta * (ma[s:s + chunk] @ mb.T) / n - log_z
        mi += float((np.exp(blk) * (blk - log_pa[s:s + chunk, None] - log_pb[None, :])).sum())
    return max(mi, 0.0)


def enumerate_bipartite_mi(log_prob: Callable[[np.ndarray], np.ndarray], n: int,
                           partition: Bipartition) -> float:
    """Brute-force I(X_A; X_B) over all 2^n spin states (reference for small n <= 16).

    ``log_prob`` maps an (S, n) array of ±1 to unnormalised log probabilities (S,).
    """
    if n > 16:
        raise ParameterError(f"enumeration of 2^{n} states is too large (n <= 16)")
    states = np.array(list(itertools.product((-1, 1), repeat=n)), dtype=np.int8)
    lp = np.asarray(log_prob(states), dtype=np.float64)
    pow_a = 2 ** np.arange(partition.a.size)
    pow_b = 2 ** np.arange(partition.b.size)
    ia = ((states[:, partition.a] > 0) @ pow_a).astype(np.int64)
    ib = ((states[:, partition.b] > 0) @ pow_b).astype(np.int64)
    table = np.full((2 ** partition.a.size, 2 ** partition.b.size), -np.inf)
    table[ia, ib] = lp
    return mutual_information_from_log_joint(table)


def exact_estimates(model: str | None, params: dict, truth: dict,
                    partitions: list[Bipartition]) -> list:
    """Exact MI (kind "exact") for every cut where the generating model is known and small.

    ``model``/``params``/``truth`` as in a SampleSet ("curie-weiss": beta_j, beta_h;
    "hopfield": beta and truth["patterns"], only with a uniform field and a small grid).
    Returns a list of :class:`~napari_vaemf.core.capacity.MIEstimate`.
    """
    from napari_vaemf.core.capacity._estimate import MIEstimate

    out = []
    for part in partitions:
        value = None
        if model == "curie-weiss" and "beta_j" in params:
            value = curie_weiss_bipartite_mi(part.n, float(params["beta_j"]),
                                             float(params.get("beta_h") or 0.0), part.a.size)
            method = "exact-curie-weiss"
        elif model == "hopfield" and "patterns" in truth and not params.get("h") \
                and not params.get("bias"):
            try:
                value = hopfield_bipartite_mi(truth["patterns"], float(params["beta"]), part)
            except ParameterError:
                value = None  # grid too large: no exact value for this cut
            method = "exact-hopfield"
        if value is not None:
            out.append(MIEstimate(value, value, value, method, "exact", part.name))
    return out
