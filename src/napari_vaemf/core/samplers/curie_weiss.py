"""Curie-Weiss ferromagnet: exact finite-N sampler, exact P(M), log p(s), mean field.

E(s) = -(J/2N) M^2 - h M with M = sum_i s_i. Since E depends on s only through M,
P(M) is proportional to C(N, (N+M)/2) exp(beta J M^2 / 2N + beta h M); drawing M from it
and then placing the (N+M)/2 up spins uniformly at random is an exact, independent sampler.
"""
from __future__ import annotations

import logging

import numpy as np
from scipy.special import gammaln, logsumexp

from napari_vaemf.core.configs import SampleSet
from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.progress import Job, Progress
from napari_vaemf.core.samplers._common import check_finite, check_positive_int

__all__ = [
    "sample_curie_weiss",
    "curie_weiss_pm",
    "curie_weiss_log_prob",
    "curie_weiss_mean_magnetisation",
    "curie_weiss_mean_field",
]

log = logging.getLogger(__name__)

CHUNK_SPINS = 1 << 21  # spins drawn between progress reports (well under a second)


def _log_weights(n: int, beta_j: float, beta_h: float) -> tuple[np.ndarray, np.ndarray]:
    m = np.arange(-n, n + 1, 2, dtype=np.float64)
    k = (n + m) / 2
    logc = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
    return m, logc + beta_j * m**2 / (2 * n) + beta_h * m


def curie_weiss_pm(n: int, beta_j: float, beta_h: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Exact P(M) for M = -N, -N+2, ..., N: returns (M values as int64, probabilities)."""
    n = check_positive_int("n", n)
    m, lw = _log_weights(n, check_finite("beta_j", beta_j), check_finite("beta_h", beta_h))
    p = np.exp(lw - logsumexp(lw))
    return m.astype(np.int64), p / p.sum()


def curie_weiss_log_prob(configs: np.ndarray, beta_j: float, beta_h: float = 0.0) -> np.ndarray:
    """Exact log p(s) of ±1 configurations (T, N) under the finite-N Curie-Weiss model."""
    s = np.asarray(configs)
    if s.ndim != 2:
        raise ParameterError(f"configurations must be (T, N), got shape {s.shape}")
    n = s.shape[1]
    _, lw = _log_weights(n, beta_j, beta_h)
    log_z = logsumexp(lw)  # sum over M of C(N,k) w(M) = sum over all 2^N states
    m = s.astype(np.float64).sum(axis=1)
    return beta_j * m**2 / (2 * n) + beta_h * m - log_z


def curie_weiss_mean_magnetisation(
    n: int, beta_j: float, beta_h: float = 0.0, absolute: bool = False
) -> float:
    """Exact <M/N> (or <|M|/N> with ``absolute``) at finite N."""
    m, p = curie_weiss_pm(n, beta_j, beta_h)
    x = np.abs(m) if absolute else m
    return float((x * p).sum() / n)


def curie_weiss_mean_field(beta_j: float, beta_h: float = 0.0) -> float:
    """The stable solution of m = tanh(beta J m + beta h) (N -> infinity).

    For h != 0 it is the solution with the sign of h (the global free-energy minimum); for
    h = 0 and beta J > 1 the positive spontaneous magnetisation; otherwise 0.
    """
    from scipy.optimize import brentq  # here: scipy.optimize costs every fit process 0.4 s to import

    a = check_finite("beta_j", beta_j)
    b = check_finite("beta_h", beta_h)
    sign = -1.0 if b < 0 else 1.0
    b = abs(b)

    def g(m: float) -> float:
        return float(np.tanh(a * m + b) - m)

    if b == 0.0:
        if a <= 1.0:
            return 0.0
        lo = 1e-9
        if g(lo) <= 0:  # a barely above 1: the root is below 1e-9
            return 0.0
        return sign * brentq(g, lo, 1.0, xtol=1e-14)
    return sign * brentq(g, 0.0, 1.0, xtol=1e-14)


SELECTION_MAX_N = 2048  # above this N, up spins are placed by sorting random keys


def _place_ups(rng: np.random.Generator, ups: np.ndarray, n: int) -> np.ndarray:
    """(t, n) int8 ±1 rows with ups[r] up spins at uniformly random positions."""
    t = ups.size
    if n <= SELECTION_MAX_N:
        # selection sampling: site j is up with probability (ups left) / (sites left),
        # which places the ups uniformly over all C(N, ups) arrangements
        u = rng.random((n, t))
        left = ups.astype(np.float64)
        chunk = np.empty((n, t), dtype=np.int8)
        for j in range(n):
            take = u[j] * (n - j) < left
            left -= take
            chunk[j] = take
        return np.ascontiguousarray((2 * chunk - 1).T)
    # the ups go to the positions of the ups[r] smallest of n random keys
    order = np.argsort(rng.random((t, n), dtype=np.float32), axis=1)
    chunk = np.full((t, n), -1, dtype=np.int8)
    mask = np.arange(n)[None, :] < ups[:, None]
    chunk[np.broadcast_to(np.arange(t)[:, None], (t, n))[mask], order[mask]] = 1
    return chunk


def sample_curie_weiss(
    n: int, beta_j: float, beta_h: float = 0.0, samples: int = 10000, seed: int = 0
) -> Job[SampleSet]:
    """Exact independent samples (T=samples, N=n) of the finite-N Curie-Weiss model.

    A generator: yields Progress("sample", done, samples) and returns a SampleSet with
    configurations (T, N) int8 ±1 and truth {"magnetisation": (T,) M/N float32,
    "pm_values": M values, "pm": exact P(M)}.
    """
    n = check_positive_int("n", n)
    samples = check_positive_int("samples", samples)
    beta_j = check_finite("beta_j", beta_j)
    beta_h = check_finite("beta_h", beta_h)
    seed = check_positive_int("seed", seed, minimum=0)
    m_values, pm = curie_weiss_pm(n, beta_j, beta_h)
    cdf = np.cumsum(pm)
    cdf[-1] = 1.0
    rng = np.random.default_rng(seed)
    out = np.empty((samples, n), dtype=np.int8)
    done = 0
    yield Progress("sample", 0, samples)
    while done < samples:
        t = min(max(1, CHUNK_SPINS // n), samples - done)
        idx = np.searchsorted(cdf, rng.random(t), side="right")
        ups = (m_values[np.minimum(idx, m_values.size - 1)] + n) // 2  # (t,)
        out_chunk = _place_ups(rng, ups, n)
        out[done : done + t] = out_chunk
        done += t
        yield Progress("sample", done, samples)
    mag = out.sum(axis=1, dtype=np.int64).astype(np.float32) / n
    params = {"n": n, "beta_j": beta_j, "beta_h": beta_h, "samples": samples, "seed": seed,
              "sampler": "exact P(M) + uniform placement"}
    truth = {"magnetisation": mag, "pm_values": m_values, "pm": pm}
    log.info("Curie-Weiss: %d exact samples, N=%d, betaJ=%g, betaH=%g", samples, n, beta_j, beta_h)
    return SampleSet("curie-weiss", out, params, truth)
