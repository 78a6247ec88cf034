"""Shared sampler tools: argument checks, autocorrelation times, parallel-tempering swaps."""
from __future__ import annotations

import math

import numpy as np

from napari_vaemf.core.errors import ParameterError

__all__ = [
    "integrated_autocorrelation_time",
    "tau_or_none",
    "check_positive_int",
    "check_finite",
    "beta_ladder",
    "tempering_swaps",
    "SwapStats",
]


def check_positive_int(name: str, value: int, minimum: int = 1) -> int:
    """Return ``value`` as int, or raise ParameterError when it is below ``minimum``."""
    if isinstance(value, bool) or int(value) != value or int(value) < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_finite(name: str, value: float, minimum: float | None = None) -> float:
    """Return ``value`` as float, or raise ParameterError when it is NaN/inf or too small."""
    v = float(value)
    if not math.isfinite(v):
        raise ParameterError(f"{name} must be finite, got {value!r}")
    if minimum is not None and v < minimum:
        raise ParameterError(f"{name} must be >= {minimum}, got {value!r}")
    return v


def integrated_autocorrelation_time(x: np.ndarray, c: float = 5.0, pooled: bool = False) -> float:
    """Integrated autocorrelation time tau = 1 + 2 sum_t rho(t), in steps.

    ``x`` is (steps,) or (steps, chains); the autocorrelation is averaged over chains and
    the sum is cut by Sokal's automatic window (smallest W with W >= c * tau(W)). Returns
    1.0 for a series without variance. Each chain's own mean is removed, unless ``pooled``:
    then the mean over all chains (right for many equilibrated chains observed for a time
    shorter than their slowest mode, whose own means would hide it).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 2:
        raise ParameterError(f"need a (steps,) or (steps, chains) series, got {x.shape}")
    n = x.shape[0]
    y = x - (x.mean() if pooled else x.mean(axis=0))
    f = np.fft.rfft(y, n=2 * n, axis=0)
    acf = np.fft.irfft(f * np.conj(f), axis=0)[:n].mean(axis=1)
    if acf[0] <= 0:
        return 1.0
    rho = acf / acf[0]
    taus = 2.0 * np.cumsum(rho) - 1.0
    window = np.arange(n) >= c * taus
    w = int(np.argmax(window)) if window.any() else n - 1
    return float(max(taus[w], 1.0))


def tau_or_none(trace: np.ndarray) -> float | None:
    """Autocorrelation time of a recorded trace, None when it is too short to tell."""
    return integrated_autocorrelation_time(trace) if len(trace) >= 2 else None


def beta_ladder(beta: float, beta_min: float, n_temperatures: int) -> np.ndarray:
    """Inverse temperatures from ``beta`` (index 0, the target) down to ``beta_min``."""
    if n_temperatures <= 1 or beta_min >= beta:
        return np.array([beta], dtype=np.float64)
    if beta_min <= 0:
        raise ParameterError(f"the lowest inverse temperature of the ladder must be > 0, "
                             f"got {beta_min}")
    return np.geomspace(beta, beta_min, n_temperatures)


def tempering_swaps(
    rng: np.random.Generator, betas: np.ndarray, energies: np.ndarray, sweep: int
) -> tuple[np.ndarray, np.ndarray]:
    """Metropolis swap moves between adjacent temperatures for every chain.

    ``energies`` is (K, C): the energy of the configuration held at temperature k in chain
    c. Even sweeps try pairs (0,1), (2,3), ...; odd sweeps (1,2), (3,4), ... Returns
    ``perm`` (K, C), with the configuration now at (k, c) taken from (perm[k, c], c), and
    the accepted mask of the tried pairs (for acceptance statistics).
    """
    k, c = energies.shape
    perm = np.broadcast_to(np.arange(k)[:, None], (k, c)).copy()
    lo = np.arange(sweep % 2, k - 1, 2)
    if lo.size == 0:
        return perm, np.zeros((0, c), dtype=bool)
    d = (betas[lo] - betas[lo + 1])[:, None] * (energies[lo] - energies[lo + 1])
    # accept with probability min(1, exp(d))
    accept = rng.random((lo.size, c)) < np.exp(np.minimum(d, 0.0))
    perm[lo] = np.where(accept, lo[:, None] + 1, lo[:, None])
    perm[lo + 1] = np.where(accept, lo[:, None], lo[:, None] + 1)
    return perm, accept


class SwapStats:
    """Tried and accepted :func:`tempering_swaps` moves per adjacent temperature pair."""

    def __init__(self, n_temperatures: int, chains: int):
        self.k, self.chains = n_temperatures, chains
        self.tried = np.zeros(max(n_temperatures - 1, 1))
        self.done = np.zeros(max(n_temperatures - 1, 1))

    def add(self, sweep: int, accept: np.ndarray) -> None:
        """Count the accepted mask that ``tempering_swaps(..., sweep)`` returned."""
        lo = np.arange(sweep % 2, self.k - 1, 2)  # the pairs that sweep tried
        self.tried[lo] += self.chains
        self.done[lo] += accept.sum(axis=1)

    def acceptance(self) -> list[float]:
        """Acceptance rate of each pair (k, k+1); [] without tempering."""
        return (self.done / np.maximum(self.tried, 1)).tolist() if self.k > 1 else []
