"""How well the latents tell the behaviour: cross-validated decoding, against two references.

For every feature set (the latents, the raw spike counts) and two regressors, k-nearest
neighbours (nonlinear; the mean of the k nearest training bins in standardised feature
space) and ridge regression (linear), the behaviour of each bin is predicted by a model
trained on the other folds: ``folds`` contiguous blocks of time, so neighbouring bins never
sit on both sides of a split. Angles are predicted through (cos, sin) and read back with
atan2. Scores pool the out-of-fold predictions: R² (1 - residual / total sum of squares)
for a linear variable, the circular correlation (Jammalamadaka & SenGupta) between
prediction and truth for an angle; a feature set's score is the mean over variables, and
the headline score the better of the two regressors. The control repeats the latents'
decoding with the behaviour shifted circularly in time by at least ``shift`` seconds
(``shifts`` random shifts, averaged), which keeps both series' own structure and breaks
their relation: a score there is what the method finds in unrelated data.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..progress import Progress
from ..settings import setting
from ._load import Resampled

__all__ = ["DecodeSettings", "decode", "cv_predict", "circular_correlation", "r2_score",
           "REGRESSORS"]

log = logging.getLogger(__name__)

REGRESSORS = ("knn", "ridge")
_KDTREE_MAX_DIM = 10  # above this many features kNN is brute force (chunks of distances)
_BRUTE_MAX_TRAIN = 20_000  # training bins a brute-force kNN keeps (an even subsample)


@dataclass
class DecodeSettings:
    """Cross-validated decoding of behaviour from latents, counts and a shifted control."""

    angles: str = setting("auto")  # behaviour variables that are angles (radians): auto (NWB CompassDirection or a unit of radians/degrees; none in files), all, none, or names separated by commas
    folds: int = setting(5, min=2, max=50)  # cross-validation folds: contiguous blocks of time
    neighbors: int = setting(10, min=1, max=500)  # k of the k-nearest-neighbour regressor
    ridge: float = setting(1.0, min=0.0, max=1e6)  # penalty of the ridge regression (features standardised)
    shift: float = setting(60.0, min=0.0, max=1e6)  # control: the behaviour shifted circularly in time by at least this many seconds
    shifts: int = setting(5, min=1, max=100)  # random shifts in the control (their scores are averaged)
    seed: int = setting(0)  # seed of the control's shifts

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise ParameterError(f"--folds must be >= 2, got {self.folds}")
        if self.neighbors < 1:
            raise ParameterError(f"--neighbors must be >= 1, got {self.neighbors}")
        if not (self.ridge >= 0 and math.isfinite(self.ridge)):
            raise ParameterError(f"--ridge must be >= 0, got {self.ridge}")
        if not (self.shift >= 0 and math.isfinite(self.shift)):
            raise ParameterError(f"--shift must be >= 0 s, got {self.shift}")
        if self.shifts < 1:
            raise ParameterError(f"--shifts must be >= 1, got {self.shifts}")


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """1 - Σ(y - ŷ)² / Σ(y - ȳ)² (can be negative: worse than predicting the mean)."""
    ss = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - pred) ** 2).sum()) / ss if ss > 0 else float("nan")


def circular_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Jammalamadaka-SenGupta circular correlation of two angle series (radians)."""
    ma = np.angle(np.exp(1j * a).mean())
    mb = np.angle(np.exp(1j * b).mean())
    sa, sb = np.sin(a - ma), np.sin(b - mb)
    den = math.sqrt(float((sa ** 2).sum() * (sb ** 2).sum()))
    return float((sa * sb).sum() / den) if den > 0 else float("nan")


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = train.mean(0)
    sd = train.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    return (train - mu) / sd, (test - mu) / sd


def _knn(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, k: int) -> np.ndarray:
    """Mean target of the k nearest training rows of each test row.

    Repeated rows (spike-count words repeat a lot) are merged first: a query's neighbours
    are the nearest distinct training rows taken with their multiplicities until k rows are
    reached, the last one with part of its weight, so tied rows are averaged rather than
    picked arbitrarily; each distinct query row is answered once.
    """
    k = min(k, len(xtr))
    ux, inverse, counts = np.unique(xtr, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    ysum = np.zeros((len(ux), ytr.shape[1]))
    np.add.at(ysum, inverse, ytr)
    ymean = ysum / counts[:, None]
    uq, back = np.unique(xte, axis=0, return_inverse=True)
    m = min(k, len(ux))  # k distinct rows always hold at least k rows
    idx = _nearest(ux, uq, m)  # (queries, m), nearest first
    c = counts[idx]
    before = np.cumsum(c, axis=1) - c
    take = np.clip(k - before, 0, c)  # rows used from each neighbour
    pred = (take[:, :, None] * ymean[idx]).sum(axis=1) / take.sum(axis=1, keepdims=True)
    return pred[back.reshape(-1)]


def _nearest(points: np.ndarray, queries: np.ndarray, m: int) -> np.ndarray:
    """(queries, m) indices of the m nearest points of each query, nearest first."""
    if points.shape[1] <= _KDTREE_MAX_DIM:
        from scipy.spatial import cKDTree

        _, idx = cKDTree(points).query(queries, k=m)
        return idx.reshape(len(queries), m)
    if len(points) > _BRUTE_MAX_TRAIN:  # an even subsample of the distinct rows
        keep = np.linspace(0, len(points) - 1, _BRUTE_MAX_TRAIN).round().astype(np.int64)
        return keep[_nearest(points[keep], queries, m)]
    p32 = points.astype(np.float32)
    sq = (p32 ** 2).sum(1)
    out = np.empty((len(queries), m), dtype=np.int64)
    step = max(1, 4_000_000 // max(1, len(points)))
    for a in range(0, len(queries), step):
        d = sq[None, :] - 2.0 * queries[a : a + step].astype(np.float32) @ p32.T  # + |q|²: constant
        part = np.argpartition(d, m - 1, axis=1)[:, :m] if m < d.shape[1] else \
            np.tile(np.arange(d.shape[1]), (len(d), 1))
        order = np.argsort(np.take_along_axis(d, part, axis=1), axis=1, kind="stable")
        out[a : a + step] = np.take_along_axis(part, order, axis=1)
    return out


def _ridge(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, alpha: float) -> np.ndarray:
    ym = ytr.mean(0)
    a = xtr.T @ xtr + alpha * np.eye(xtr.shape[1])
    w = np.linalg.solve(a, xtr.T @ (ytr - ym))
    return xte @ w + ym


def fold_bounds(n: int, folds: int) -> np.ndarray:
    """Edges of ``folds`` contiguous blocks of ``n`` rows."""
    if n < 2 * folds:
        raise ParameterError(f"--folds {folds}: only {n} bins with behaviour to split")
    return np.linspace(0, n, folds + 1).round().astype(np.int64)


def cv_predict(x: np.ndarray, y: np.ndarray, folds: int, regressor: str,
               neighbors: int = 10, ridge: float = 1.0) -> np.ndarray:
    """Out-of-fold predictions of ``y`` (n, m) from ``x`` (n, d), blocked folds in row order."""
    edges = fold_bounds(len(x), folds)
    pred = np.empty_like(y, dtype=np.float64)
    for a, b in zip(edges[:-1], edges[1:]):
        train = np.concatenate([np.arange(0, a), np.arange(b, len(x))])
        xtr, xte = _standardise(x[train].astype(np.float64), x[a:b].astype(np.float64))
        if regressor == "knn":
            pred[a:b] = _knn(xtr, y[train], xte, neighbors)
        elif regressor == "ridge":
            pred[a:b] = _ridge(xtr, y[train], xte, ridge)
        else:
            raise ParameterError(f"unknown regressor {regressor!r} (choose from {REGRESSORS})")
    return pred


def _targets(values: np.ndarray, circular: np.ndarray) -> np.ndarray:
    """Regression targets: each linear variable as is, each angle as (cos, sin)."""
    cols = []
    for j, angle in enumerate(circular):
        cols += [np.cos(values[:, j]), np.sin(values[:, j])] if angle else [values[:, j]]
    return np.column_stack(cols)


def _scores(values: np.ndarray, circular: np.ndarray, pred: np.ndarray) -> list[float]:
    """One score per variable from the target-space predictions."""
    out, c = [], 0
    for j, angle in enumerate(circular):
        if angle:
            out.append(circular_correlation(values[:, j], np.arctan2(pred[:, c + 1], pred[:, c])))
            c += 2
        else:
            out.append(r2_score(values[:, j], pred[:, c]))
            c += 1
    return out


def _score_set(x, values, circular, s: DecodeSettings) -> dict[str, list[float]]:
    y = _targets(values, circular)
    return {r: _scores(values, circular, cv_predict(x, y, s.folds, r, s.neighbors, s.ridge))
            for r in REGRESSORS}


def decode(behavior: Resampled, latents: np.ndarray, counts: np.ndarray | None, bin_size: float,
           settings: DecodeSettings | None = None):
    """Job: decode ``behavior`` (on the recording's bins) from ``latents`` (T, K) and from
    ``counts`` (T, N); returns the json-able result (see :mod:`napari_vaemf.core.behavior`)."""
    s = settings or DecodeSettings()
    if behavior.kind == "mixed":
        raise ParameterError("the behaviour mixes angles and linear variables "
                             f"({', '.join(behavior.columns)}): decode one kind at a time")
    z = np.asarray(latents, dtype=np.float64).reshape(len(latents), -1)
    n = len(z)
    if len(behavior.values) != n or (counts is not None and len(counts) != n):
        raise ParameterError("behaviour, latents and counts must have one row per bin")
    valid = behavior.valid
    need = int(math.ceil(s.shift / bin_size))
    if n - 2 * need < 1:
        raise ParameterError(f"--shift {s.shift:g}: the recording ({n * bin_size:g} s) is too short "
                             f"for shifts of at least {s.shift:g} s both ways")
    circ = behavior.circular
    steps = 2 + s.shifts + (counts is not None)
    yield Progress("decode", 0, steps)
    values = behavior.values[valid]
    latent = _score_set(z[valid], values, circ, s)
    yield Progress("decode", 1, steps)
    counted = None
    if counts is not None:
        counted = _score_set(np.asarray(counts, dtype=np.float32)[valid], values, circ, s)
        yield Progress("decode", 2, steps)
    rng = np.random.default_rng(s.seed)
    offsets = rng.integers(need, n - need + 1, size=s.shifts) if s.shift > 0 else \
        rng.integers(1, n, size=s.shifts)
    shuffled: dict[str, list[list[float]]] = {r: [] for r in REGRESSORS}
    for i, m in enumerate(offsets):
        rolled = np.roll(behavior.values, int(m), axis=0)
        ok = valid & np.all(np.isfinite(rolled), axis=1)
        got = _score_set(z[ok], rolled[ok], circ, s)
        for r in REGRESSORS:
            shuffled[r].append(got[r])
        yield Progress("decode", 3 + i, steps)
    return _result(behavior, latent, counted, shuffled, offsets, valid, bin_size, s)


def _mean(v: list[float]) -> float:
    return float(np.mean(v)) if len(v) else float("nan")


def _result(behavior, latent, counted, shuffled, offsets, valid, bin_size, s) -> dict:
    per_shift = {r: [_mean(v) for v in shuffled[r]] for r in REGRESSORS}
    summary = {
        "latents": {r: _mean(latent[r]) for r in REGRESSORS},
        "counts": None if counted is None else {r: _mean(counted[r]) for r in REGRESSORS},
        "shuffled": {r: _mean(per_shift[r]) for r in REGRESSORS},
    }
    best = max(REGRESSORS, key=lambda r: summary["latents"][r])
    variables = []
    for j, name in enumerate(behavior.columns):
        variables.append({
            "name": name, "circular": bool(behavior.circular[j]),
            "latents": {r: latent[r][j] for r in REGRESSORS},
            "counts": None if counted is None else {r: counted[r][j] for r in REGRESSORS},
            "shuffled": {r: _mean([v[j] for v in shuffled[r]]) for r in REGRESSORS},
        })
    kind = behavior.kind
    return {
        "kind": kind,
        "metric": "circular correlation" if kind == "circular" else "R2",
        "score": summary["latents"][best],
        "regressor": best,
        "score_counts": None if counted is None else max(summary["counts"].values()),
        "score_shuffled": max(summary["shuffled"].values()),
        "scores": summary,
        "shuffled_per_shift": per_shift,
        "shifts_s": [float(m * bin_size) for m in offsets],
        "variables": variables,
        "n_bins": int(len(valid)), "n_bins_with_behavior": int(valid.sum()),
        "bin_size": bin_size, "behavior": behavior.source, "warnings": list(behavior.warnings),
        "settings": {"folds": s.folds, "neighbors": s.neighbors, "ridge": s.ridge,
                     "shift_min_s": s.shift, "shifts": s.shifts, "seed": s.seed},
    }
