"""Learning-rate schedule and stratified pattern subsets of the exact engine."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["onecycle_lr", "stratified"]


def onecycle_lr(lr: float, step: int, total: int, warm: float = 0.1) -> float:
    """Learning rate at ``step`` of ``total``: cosine rise lr/25 -> lr over the first ``warm``
    fraction of the steps, then cosine fall to lr/1e3."""
    up = max(1.0, warm * total)
    if step < up:
        return lr / 25 + (lr - lr / 25) * (1 - math.cos(math.pi * step / up)) / 2
    t = min(1.0, (step - up) / max(1.0, total - up))
    return lr / 1e3 + (lr - lr / 1e3) * (1 + math.cos(math.pi * t)) / 2


def stratified(counts: np.ndarray, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A subset of ≤ size distinct patterns and weights whose weighted sums estimate the
    count-weighted sums over all of them: the size // 4 most frequent with their counts, a
    uniform sample of the rest with counts scaled up by (rest / sampled)."""
    u = len(counts)
    if u <= size:
        return np.arange(u), counts.astype(np.float64)
    order = np.argsort(-counts, kind="stable")
    top, rest = order[: size // 4], order[size // 4 :]
    pick = rng.choice(rest, size - len(top), replace=False)
    w = np.concatenate([counts[top], counts[pick] * (len(rest) / len(pick))]).astype(np.float64)
    return np.concatenate([top, pick]), w
