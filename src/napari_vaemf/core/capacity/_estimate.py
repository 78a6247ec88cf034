"""Mutual-information estimates, their labels, and the plug-in estimator.

Every number the capacity report shows is an :class:`MIEstimate`: a value with an
interval, the method that produced it, and what kind of number it is — ``"exact"``,
``"lower bound"`` (data processing or a variational bound), ``"estimate"`` or
``"model-based"`` (the MI of a fitted model, not of the data).

The plug-in estimator computes I(T_A; T_B) for discrete statistics T_A = f(X_A),
T_B = g(X_B) of the two halves (population counts, binned overlaps). By data processing
I(T_A; T_B) <= I(X_A; X_B), and it is exact when the statistics are sufficient. The
sampling bias of the plug-in is removed with the jackknife (see :func:`plugin_mi`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.special import xlogy

from napari_vaemf.core.capacity._partitions import Bipartition
from napari_vaemf.core.errors import InputError, ParameterError

__all__ = ["MIEstimate", "plugin_mi", "half_statistics", "plugin_bipartite_mi"]

KINDS = ("exact", "lower bound", "estimate", "model-based")


@dataclass(frozen=True)
class MIEstimate:
    """One bipartite mutual information value, in nats, with its uncertainty and label."""

    value: float  # the point value (nats)
    lower: float  # lower end of the interval (nats)
    upper: float  # upper end of the interval (nats)
    method: str  # e.g. "exact-curie-weiss", "plugin-jackknife", "infonce", "vae-importance"
    kind: str  # one of "exact", "lower bound", "estimate", "model-based"
    partition: str  # name of the bipartition
    details: dict = field(default_factory=dict)  # method-specific extras (json-able)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ParameterError(f"MI kind must be one of {KINDS}, got {self.kind!r}")

    def as_dict(self) -> dict:
        return asdict(self)


def _codes(stat: np.ndarray) -> np.ndarray:
    """Map rows of a (T,) or (T, d) integer statistic to dense codes 0..B-1."""
    stat = np.asarray(stat)
    if stat.ndim == 1:
        return np.unique(stat, return_inverse=True)[1].ravel()
    return np.unique(stat, axis=0, return_inverse=True)[1].ravel()


def _entropy(counts: np.ndarray) -> float:
    c = counts[counts > 0].astype(np.float64)
    t = c.sum()
    return float(np.log(t) - xlogy(c, c).sum() / t)


def _entropy_leave_one_out(counts: np.ndarray) -> np.ndarray:
    """Entropy of the histogram with one sample removed from bin k, for every bin k."""
    c = counts.astype(np.float64)
    t = c.sum()
    s_k = xlogy(c, c).sum() - xlogy(c, c) + xlogy(c - 1, c - 1)
    return np.log(t - 1) - s_k / (t - 1)


def plugin_mi(stat_a: np.ndarray, stat_b: np.ndarray, *, confidence: float = 0.95
              ) -> dict[str, float]:
    """Bias-corrected plug-in I(T_A; T_B) of two discrete statistics, in nats.

    The point value is the jackknife estimate T·I - (T-1)·mean_i I_(-i), computed exactly
    from the histograms; its standard error is the jackknife one. On exact Curie-Weiss
    samples (N=100, T=10^4) its remaining bias is below one standard error, while
    Miller-Madow leaves about three; the difference between the two corrections is kept as
    an allowance for the remaining (positive) bias on the lower end of the interval:
    ``lower = value - z·se - |miller_madow - jackknife|``, ``upper = value + z·se``.
    Returns a dict with value, lower, upper, stderr, naive, miller_madow, bins_joint.
    """
    ca, cb = _codes(stat_a), _codes(stat_b)
    t = ca.size
    if t != cb.size or t < 3:
        raise ParameterError(f"statistics need the same number (>= 3) of samples, "
                             f"got {t} and {cb.size}")
    nb = int(cb.max()) + 1
    cj = ca * nb + cb
    h_a, h_b, h_j = np.bincount(ca), np.bincount(cb), np.bincount(cj)
    naive = _entropy(h_a) + _entropy(h_b) - _entropy(h_j)
    occupied = [np.count_nonzero(h) for h in (h_a, h_b, h_j)]
    mm = naive + (occupied[0] + occupied[1] - occupied[2] - 1) / (2.0 * t)
    loo = (_entropy_leave_one_out(h_a)[ca] + _entropy_leave_one_out(h_b)[cb]
           - _entropy_leave_one_out(h_j)[cj])  # (T,) MI without sample i
    value = float(t * naive - (t - 1) * loo.mean())
    se = float(np.sqrt((t - 1) / t * ((loo - loo.mean()) ** 2).sum()))
    from scipy.stats import norm  # scipy.stats is slow to import: only when needed

    z = float(norm.ppf(0.5 + confidence / 2))
    return {"value": value, "lower": float(value - z * se - abs(mm - value)),
            "upper": value + z * se, "stderr": se, "naive": float(naive),
            "miller_madow": float(mm), "bins_joint": int(occupied[2])}


def half_statistics(x: np.ndarray, encoding: str, partition: Bipartition,
                    directions: np.ndarray | None = None, levels: int = 3
                    ) -> tuple[np.ndarray, np.ndarray, str]:
    """Discrete statistics of the two halves, as candidates for sufficient statistics.

    - no ``directions``, binary/spin: the population count (number of active / up units)
      of each half — sufficient for Curie-Weiss-like models;
    - ``directions`` (N, P): the half overlaps x_Aᵀ d_A with each direction (sufficient for
      Hopfield with patterns d), exact with ``levels=0``, sign/0 with ``levels=3`` (dead zone
      of half the 95th percentile of |overlap|), else ``levels`` quantile bins;
    - vector encoding: the largest eigenvalue of the half's nematic tensor, cut into
      ``levels`` quantile bins.
    A bit-packed raster (a streamed recording) gives the population counts chunk by chunk.
    Returns ``(t_a, t_b, name)``.
    """
    from napari_vaemf.core.recordings._packed import PackedRaster

    if isinstance(x, PackedRaster) and directions is None and encoding == "binary":
        if x.shape[1] != partition.n:
            raise InputError(None, f"data of shape {x.shape} do not match a partition of "
                             f"{partition.n} units")
        counts = [(c[:, partition.a].sum(1, dtype=np.int64), c[:, partition.b].sum(1, dtype=np.int64))
                  for c in x.chunks()]
        return (np.concatenate([a for a, _ in counts]), np.concatenate([b for _, b in counts]),
                "population-count")
    x = np.asarray(x)
    if x.ndim not in (2, 3) or x.shape[1] != partition.n:
        raise InputError(None, f"data of shape {x.shape} do not match a partition of "
                         f"{partition.n} units")

    def binned(v: np.ndarray) -> np.ndarray:
        if levels < 2:
            raise ParameterError(f"levels must be >= 2, got {levels}")
        qs = np.quantile(v, np.linspace(0, 1, levels + 1)[1:-1], axis=0)
        return np.stack([np.searchsorted(qs[:, j], v[:, j], side="right")
                         for j in range(v.shape[1])], axis=1)

    def ternary(v: np.ndarray) -> np.ndarray:
        # -1 / 0 / +1 with a dead zone of half the 95th percentile of |overlap|: separates
        # condensed (|o| ~ m n_half) from uncondensed (|o| ~ sqrt(n_half)) directions
        cut = 0.5 * np.quantile(np.abs(v), 0.95, axis=0)
        return np.where(np.abs(v) < cut, 0, np.sign(v)).astype(np.int64)

    if encoding == "vector":
        def s_half(idx: np.ndarray) -> np.ndarray:
            u = x[:, idx, :].astype(np.float64)
            q = 1.5 * np.einsum("tni,tnj->tij", u, u) / idx.size - 0.5 * np.eye(3)
            return np.linalg.eigvalsh(q)[:, -1:]
        return binned(s_half(partition.a)), binned(s_half(partition.b)), "nematic-order"
    if encoding not in ("spin", "binary"):
        raise ParameterError(f"unknown encoding {encoding!r}")
    up = (x > 0).astype(np.int64)
    if directions is None:
        return up[:, partition.a].sum(1), up[:, partition.b].sum(1), "population-count"
    d = np.asarray(directions, dtype=np.float64)
    if d.ndim == 1:
        d = d[:, None]
    if d.shape[0] != partition.n:
        raise ParameterError(f"directions have {d.shape[0]} rows, data {partition.n} units")
    s = 2.0 * up - 1.0
    o_a = s[:, partition.a] @ d[partition.a]
    o_b = s[:, partition.b] @ d[partition.b]
    if levels == 0:  # exact overlaps (integer for ±1 directions)
        return np.rint(o_a).astype(np.int64), np.rint(o_b).astype(np.int64), "overlaps"
    if levels == 3:
        return ternary(o_a), ternary(o_b), "overlaps-ternary"
    return binned(o_a), binned(o_b), f"overlaps-{levels}-quantiles"


def plugin_bipartite_mi(x: np.ndarray, encoding: str, partition: Bipartition, *,
                        directions: np.ndarray | None = None, levels: int = 3,
                        confidence: float = 0.95) -> MIEstimate:
    """Jackknife-corrected plug-in I(T_A; T_B) over half statistics: a lower bound on
    I(X_A; X_B) by data processing (exact when the statistics are sufficient)."""
    t_a, t_b, name = half_statistics(x, encoding, partition, directions, levels)
    r = plugin_mi(t_a, t_b, confidence=confidence)
    details = {k: r[k] for k in ("stderr", "naive", "miller_madow", "bins_joint")}
    details.update(statistic=name, samples=int(t_a.shape[0]), confidence=confidence)
    return MIEstimate(r["value"], r["lower"], r["upper"], "plugin-jackknife", "lower bound",
                      partition.name, details)
