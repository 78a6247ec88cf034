"""Population statistics of binary (or ±1) rasters, and how far a model is from the data.

All functions take configurations as a ``(T, N)`` array: ``T`` bins (or samples) of ``N``
units. ±1 spins are mapped to ``{0, 1}`` by ``(s + 1) / 2`` first, so every statistic is in
the {0, 1} convention (a spin's "rate" is the fraction of time it is up; covariances of
spins are 4× these, and every comparison below is invariant to that scale).

Comparisons (:func:`compare`) and their conventions:

- ``rates_rel_rms``: ``||r_model - r_data||_2 / ||r_data||_2`` over units;
- ``cov_corr``: Pearson correlation between the off-diagonal (i < j) covariances of model
  and data;
- ``kl_pk``: KL(P_K data ‖ P_K model) in nats, K = 0..N. Smoothing: bins of K the model
  never produced get half a count before normalisation (so the KL is finite and the
  smoothing touches only empty bins); the data's P_K is used as measured;
- ``triplet_corr`` / ``triplet_rel_rms``: Pearson correlation and relative RMS between the
  connected third cumulants E[(x_i-m_i)(x_j-m_j)(x_k-m_k)] of model and data, on a fixed
  random subset of triplets i < j < k (:func:`triplet_indices`).

A product-decoder model is a mixture of independent Bernoullis, p(x) = E_z Π_i p_i(z)^x_i
(1 - p_i(z))^(1 - x_i); :func:`mixture_stats` computes the same statistics from draws of the
conditional probabilities p(z) exactly given z (rates, covariances, third cumulants from
moments of p; P(K) as a Poisson-binomial per draw), i.e. without the binary sampling noise.

The split-half noise floor (:func:`noise_floor`) is the same comparison between two halves
of the data (odd vs even repeats when the recording has repeats, else first vs second half):
a model cannot be judged better than the data agree with themselves.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_vaemf.core.errors import InputError, ParameterError

__all__ = [
    "PopulationStats",
    "as_binary",
    "pattern_overlaps",
    "firing_rates",
    "covariances",
    "correlations",
    "activity_distribution",
    "triplet_indices",
    "triplet_cumulants",
    "population_stats",
    "population_stats_chunks",
    "mixture_stats",
    "poisson_binomial",
    "rates_rel_rms",
    "cov_correlation",
    "kl_activity",
    "compare",
    "split_half",
    "noise_floor",
    "bits_right",
]

PK_PSEUDOCOUNT = 0.5  # counts given to K bins the model never visits (KL smoothing)


def _as_2d(x: np.ndarray, name: str = "configurations") -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise InputError(None, f"{name} must be a (T, N) array, got shape {x.shape}")
    if x.shape[0] < 2:
        raise InputError(None, f"{name} need at least 2 samples, got {x.shape[0]}")
    return x


def as_binary(x: np.ndarray) -> np.ndarray:
    """``{0, 1}`` float64 copy of a binary or ±1 raster (spins map by (s + 1) / 2)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size and x.min() < 0:
        return (x + 1.0) / 2.0
    return x


def firing_rates(x: np.ndarray) -> np.ndarray:
    """Mean of each unit over bins (fraction of bins active / spin up), shape (N,)."""
    return as_binary(_as_2d(x)).mean(axis=0)


def covariances(x: np.ndarray) -> np.ndarray:
    """Connected pairwise covariances E[x_i x_j] - m_i m_j (ddof = 0), shape (N, N)."""
    x = as_binary(_as_2d(x))
    m = x.mean(axis=0)
    return x.T @ x / x.shape[0] - np.outer(m, m)


def correlations(x: np.ndarray) -> np.ndarray:
    """Pearson correlations, shape (N, N); pairs involving a constant unit are 0, diagonal 1."""
    return _correlations_from(covariances(x))


def _correlations_from(c: np.ndarray) -> np.ndarray:
    sd = np.sqrt(np.clip(np.diag(c), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = c / np.outer(sd, sd)
    r[~np.isfinite(r)] = 0.0
    np.fill_diagonal(r, 1.0)
    return r


def spectral_dimension(x: np.ndarray, margin: float = 1.1) -> int:
    """Eigenvalues of the units' correlation matrix above ``margin`` x the Marchenko-Pastur
    edge (1 + sqrt(N/T))² of independent units with as many samples: the number of
    collective directions a linear latent model would need (constant units left out)."""
    x = _as_2d(np.asarray(x)).astype(np.float64)
    x = x[:, x.std(0) > 0]
    t, n = x.shape
    if n < 2 or t < 2:
        return 0
    ev = np.linalg.eigvalsh(_correlations_from(np.cov(x, rowvar=False)))
    return int((ev > margin * (1 + np.sqrt(n / t)) ** 2).sum())


def activity_distribution(x: np.ndarray) -> np.ndarray:
    """P(K), K = 0..N: the fraction of bins with exactly K active units, shape (N + 1,)."""
    b = as_binary(_as_2d(x))
    k = np.rint(b.sum(axis=1)).astype(np.int64)
    return np.bincount(k, minlength=b.shape[1] + 1)[: b.shape[1] + 1] / b.shape[0]


def triplet_indices(n: int, max_triplets: int | None = 2000, seed: int = 0) -> np.ndarray:
    """Triplets i < j < k of ``n`` units, shape (M, 3): all of them, or a seeded random subset."""
    if n < 3:
        raise ParameterError(f"triplets need at least 3 units, got {n}")
    total = n * (n - 1) * (n - 2) // 6
    if max_triplets is None or total <= max_triplets:
        i, j, k = np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij")
        keep = (i < j) & (j < k)
        return np.stack([i[keep], j[keep], k[keep]], axis=1)
    rng = np.random.default_rng(seed)
    out: set[tuple[int, int, int]] = set()
    while len(out) < max_triplets:
        t = np.sort(rng.choice(n, size=3, replace=False))
        out.add((int(t[0]), int(t[1]), int(t[2])))
    return np.array(sorted(out), dtype=np.int64)


def triplet_cumulants(x: np.ndarray, triplets: np.ndarray, chunk: int = 20000) -> np.ndarray:
    """Connected third cumulants E[(x_i-m_i)(x_j-m_j)(x_k-m_k)] for each row of ``triplets``."""
    x = as_binary(_as_2d(x))
    d = x - x.mean(axis=0)
    t = np.asarray(triplets, dtype=np.int64)
    out = np.zeros(len(t))
    for a in range(0, d.shape[0], chunk):
        blk = d[a : a + chunk]
        out += np.einsum("tm,tm,tm->m", blk[:, t[:, 0]], blk[:, t[:, 1]], blk[:, t[:, 2]])
    return out / d.shape[0]


@dataclass
class PopulationStats:
    """The statistics a model is judged on, for one raster."""

    rates: np.ndarray  # (N,) mean activity per unit
    cov: np.ndarray  # (N, N) connected covariances
    corr: np.ndarray  # (N, N) Pearson correlations
    pk: np.ndarray  # (N + 1,) P(K) of the number of active units per bin
    pk_counts: np.ndarray  # (N + 1,) the counts behind pk
    triplets: np.ndarray  # (M, 3) the triplets used
    c3: np.ndarray  # (M,) connected third cumulants on those triplets
    n_samples: int  # number of bins / samples T


def population_stats(x: np.ndarray, triplets: np.ndarray | None = None) -> PopulationStats:
    """Every statistic of :class:`PopulationStats` for ``x`` (T, N)."""
    x = _as_2d(x)
    n = x.shape[1]
    if triplets is None:
        triplets = triplet_indices(n) if n >= 3 else np.zeros((0, 3), dtype=np.int64)
    pk = activity_distribution(x)
    return PopulationStats(
        rates=firing_rates(x),
        cov=covariances(x),
        corr=correlations(x),
        pk=pk,
        pk_counts=np.rint(pk * x.shape[0]),
        triplets=np.asarray(triplets),
        c3=triplet_cumulants(x, triplets) if len(triplets) else np.zeros(0),
        n_samples=x.shape[0],
    )


def population_stats_chunks(chunks, triplets: np.ndarray | None = None) -> PopulationStats:
    """:func:`population_stats` accumulated over row chunks: ``chunks`` yields (t_c, N) {0, 1}
    or count arrays (e.g. the row slices of a bit-packed raster), so the statistics of a
    raster too large to hold come without a dense float64 copy. Equal to
    :func:`population_stats` of the stacked rows up to rounding. ±1 rows are refused: their
    mapping to {0, 1} is decided on the whole raster."""
    s1 = s2 = s3 = pk = t = None
    total = 0
    for x in chunks:
        x = np.asarray(x)
        if x.ndim != 2:
            raise InputError(None, f"configurations must be a (T, N) array, got shape {x.shape}")
        if x.size and x.min() < 0:
            raise ParameterError("chunked statistics take {0, 1} or count rows, not ±1 spins")
        if s1 is None:
            n = x.shape[1]
            if triplets is None:
                triplets = triplet_indices(n) if n >= 3 else np.zeros((0, 3), dtype=np.int64)
            t = np.asarray(triplets, dtype=np.int64)
            s1, s2, s3 = np.zeros(n), np.zeros((n, n)), np.zeros(len(t))
            pk = np.zeros(n + 1, dtype=np.int64)
        # {0, 1} rows: the products are small integers, exact in float32 (twice as fast)
        xf = x.astype(np.float32 if x.size == 0 or x.max() <= 1 else np.float64)
        s1 += xf.sum(0, dtype=np.float64)
        s2 += xf.T @ xf
        k = np.rint(xf.sum(1, dtype=np.float64)).astype(np.int64)
        pk += np.bincount(k, minlength=n + 1)[: n + 1]
        for a in range(0, len(xf) if len(t) else 0, 4096):
            blk = xf[a : a + 4096].astype(np.float64)
            s3 += np.einsum("sm,sm,sm->m", blk[:, t[:, 0]], blk[:, t[:, 1]], blk[:, t[:, 2]])
        total += x.shape[0]
    if s1 is None or total < 2:
        raise InputError(None, f"configurations need at least 2 samples, got {total}")
    m, m2 = s1 / total, s2 / total
    cov = m2 - np.outer(m, m)
    c3 = np.zeros(0)
    if len(t):
        i, j, k3 = t.T
        c3 = (s3 / total - m[i] * m2[j, k3] - m[j] * m2[i, k3] - m[k3] * m2[i, j]
              + 2 * m[i] * m[j] * m[k3])
    return PopulationStats(rates=m, cov=cov, corr=_correlations_from(cov), pk=pk / total,
                           pk_counts=pk.astype(np.float64), triplets=t, c3=c3, n_samples=total)


def poisson_binomial(p: np.ndarray) -> np.ndarray:
    """P(K = k | p), k = 0..N, for independent units with probabilities ``p`` (S, N): (S, N + 1)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.zeros((p.shape[0], p.shape[1] + 1))
    q[:, 0] = 1.0
    for i in range(p.shape[1]):
        pi = p[:, i : i + 1]
        q[:, 1 : i + 2] = q[:, 1 : i + 2] * (1.0 - pi) + q[:, : i + 1] * pi
        q[:, 0] *= 1.0 - pi[:, 0]
    return q


def mixture_stats(p_chunks, triplets: np.ndarray | None = None) -> PopulationStats:
    """:class:`PopulationStats` of the mixture E_z Π_i Bernoulli(p_i(z)), exact given z.

    ``p_chunks``: an iterable of (S_c, N) arrays of conditional probabilities (P(x_i = 1 | z)
    for draws z of the latent), or one (S, N) array. ``n_samples`` is the number of draws;
    ``pk_counts`` are expected counts (floats) over that many draws.
    """
    if isinstance(p_chunks, np.ndarray):
        p_chunks = [p_chunks]
    s1 = s2 = pk = s3 = None
    total = 0
    t = None
    for p in p_chunks:
        p = np.asarray(p, dtype=np.float64)
        if p.ndim != 2 or not np.isfinite(p).all() or p.min() < 0 or p.max() > 1:
            raise InputError(None, "conditional probabilities must be a finite (S, N) array in [0, 1]")
        if s1 is None:
            n = p.shape[1]
            if triplets is None:
                triplets = triplet_indices(n) if n >= 3 else np.zeros((0, 3), dtype=np.int64)
            t = np.asarray(triplets, dtype=np.int64)
            s1, s2, pk, s3 = np.zeros(n), np.zeros((n, n)), np.zeros(n + 1), np.zeros(len(t))
        s1 += p.sum(0)
        s2 += p.T @ p
        pk += poisson_binomial(p).sum(0)
        for a in range(0, len(p) if len(t) else 0, 4096):  # (rows, triplets) blocks stay small
            blk = p[a : a + 4096]
            s3 += np.einsum("sm,sm,sm->m", blk[:, t[:, 0]], blk[:, t[:, 1]], blk[:, t[:, 2]])
        total += p.shape[0]
    if s1 is None or total < 2:
        raise InputError(None, "mixture statistics need at least 2 latent draws")
    m = s1 / total
    m2 = s2 / total
    np.fill_diagonal(m2, m)  # x_i² = x_i
    cov = m2 - np.outer(m, m)
    corr = _correlations_from(cov)
    c3 = np.zeros(0)
    if len(t):
        i, j, k = t.T
        c3 = (s3 / total - m[i] * m2[j, k] - m[j] * m2[i, k] - m[k] * m2[i, j]
              + 2 * m[i] * m[j] * m[k])
    return PopulationStats(rates=m, cov=cov, corr=corr, pk=pk / total, pk_counts=pk,
                           triplets=np.asarray(t), c3=c3, n_samples=total)


def rates_rel_rms(model: np.ndarray, data: np.ndarray) -> float:
    """``||model - data|| / ||data||`` (relative RMS error of per-unit rates)."""
    model, data = np.asarray(model, float), np.asarray(data, float)
    return float(np.linalg.norm(model - data) / np.linalg.norm(data))


def cov_correlation(model: np.ndarray, data: np.ndarray) -> float:
    """Pearson correlation of the off-diagonal (i < j) entries of two (N, N) matrices."""
    iu = np.triu_indices(np.asarray(data).shape[0], k=1)
    return _pearson(np.asarray(model)[iu], np.asarray(data)[iu])


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def kl_activity(pk_data: np.ndarray, model_counts: np.ndarray) -> float:
    """KL(P_K data ‖ P_K model) in nats; the model's empty K bins get :data:`PK_PSEUDOCOUNT`."""
    p = np.asarray(pk_data, float)
    c = np.asarray(model_counts, float).copy()
    if c.shape != p.shape:
        raise ParameterError(f"P(K) shapes differ: data {p.shape}, model {c.shape}")
    c[c == 0] = PK_PSEUDOCOUNT
    q = c / c.sum()
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / q[nz])))


def compare(model: PopulationStats, data: PopulationStats) -> dict[str, float]:
    """Model-vs-data numbers (see the module docstring); both must share their triplets."""
    if not np.array_equal(model.triplets, data.triplets):
        raise ParameterError("model and data statistics were computed on different triplets")
    out = {
        "rates_rel_rms": rates_rel_rms(model.rates, data.rates),
        "cov_corr": cov_correlation(model.cov, data.cov),
        "corr_corr": cov_correlation(model.corr, data.corr),
        "kl_pk": kl_activity(data.pk, model.pk_counts),
    }
    if len(data.c3):
        out["triplet_corr"] = _pearson(model.c3, data.c3)
        out["triplet_rel_rms"] = rates_rel_rms(model.c3, data.c3)
    return out


def split_half(x: np.ndarray, repeats: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two halves of a raster (T, N): odd vs even repeats when ``repeats`` is given
    (rows repeat-major, T = repeats × bins), else the first vs the second half in time.

    Returns ``(even, odd)`` for repeats (repeat 0, 2, ... first) or ``(first, second)``.
    """
    x = _as_2d(x)
    if repeats is None:
        h = x.shape[0] // 2
        return x[:h], x[h : 2 * h]
    if repeats < 2 or x.shape[0] % repeats:
        raise ParameterError(f"{x.shape[0]} rows do not split into {repeats} equal repeats")
    r = x.reshape(repeats, x.shape[0] // repeats, x.shape[1])  # (R, B, N)
    n_pairs = repeats // 2
    even = r[0 : 2 * n_pairs : 2].reshape(-1, x.shape[1])
    odd = r[1 : 2 * n_pairs : 2].reshape(-1, x.shape[1])
    return even, odd


def noise_floor(
    x: np.ndarray, repeats: int | None = None, triplets: np.ndarray | None = None
) -> dict[str, float]:
    """:func:`compare` between the two halves of :func:`split_half` (second half as 'model')."""
    a, b = split_half(x, repeats)
    if triplets is None and x.shape[1] >= 3:
        triplets = triplet_indices(x.shape[1])
    return compare(population_stats(b, triplets), population_stats(a, triplets))


def bits_right(estimate: np.ndarray, truth: np.ndarray) -> tuple[float, np.ndarray]:
    """Fraction of pattern entries right after the best column permutation and per-column
    sign flip (Hungarian assignment on |overlap|). ``estimate`` (N, P') and ``truth`` (N, P)
    are ±1 (any real estimate is signed); missing columns count as half right (chance).

    Returns ``(fraction, per_pattern)`` with ``per_pattern`` (P,) the fraction per true pattern.
    """
    from scipy.optimize import linear_sum_assignment

    est = np.where(np.asarray(estimate, float) >= 0, 1.0, -1.0)
    tru = np.asarray(truth, float)
    if est.ndim != 2 or tru.ndim != 2 or est.shape[0] != tru.shape[0]:
        raise ParameterError(f"pattern shapes differ: {est.shape} vs {tru.shape}")
    ov = tru.T @ est / tru.shape[0]  # (P, P')
    rows, cols = linear_sum_assignment(-np.abs(ov))
    per = np.full(tru.shape[1], 0.5)
    per[rows] = (1 + np.abs(ov[rows, cols])) / 2
    return float(per.mean()), per


def pattern_overlaps(x: np.ndarray, patterns: np.ndarray, encoding: str) -> np.ndarray:
    """Overlaps m_mu(t) of each configuration with each pattern, shape (T, P).

    Spins: m_mu = (1/N) sum_i xi_i^mu s_i (the Hopfield overlap, in [-1, 1] for ±1 patterns).
    Binary: the same with the unit means removed and z-scored over time, since sparse
    activity makes the raw overlaps almost constant.
    """
    xi = np.asarray(patterns, dtype=np.float32)
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[1]
    if encoding == "spin":
        return (x @ xi) / n
    m = (x - x.mean(axis=0, keepdims=True)) @ xi / n
    sd = m.std(axis=0, keepdims=True)
    return m / np.where(sd > 0, sd, 1.0)
