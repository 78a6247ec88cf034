"""Hopfield network: Hubbard-Stratonovich Gibbs sampling with parallel tempering.

E(s) = -(1/2N) sum_mu (xi^mu . s)^2 - h . s for s in {-1,+1}^N and patterns xi (N, P).
With the auxiliary overlaps m in R^P, the joint weight
    p(s, m) ~ exp(-N beta |m|^2 / 2 + beta m . (xi^T s) + beta h . s)
has the Hopfield marginal in s, and both conditionals are easy:
    m | s ~ Normal(xi^T s / N, I / (N beta)),
    s_i | m independent, P(s_i = +1) = (1 + tanh(beta (xi_i . m + h_i))) / 2.
Chains at a ladder of inverse temperatures exchange configurations (parallel tempering), so
the target chain visits all 2P retrieval states with their equilibrium weights.
"""
from __future__ import annotations

import itertools
import logging
import math

import numpy as np

from napari_vaemf.core.configs import SampleSet
from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.progress import Job, Progress
from napari_vaemf.core.samplers._common import (
    integrated_autocorrelation_time,
    tau_or_none,
    beta_ladder,
    check_finite,
    check_positive_int,
    SwapStats,
    tempering_swaps,
)

__all__ = [
    "sample_hopfield",
    "hopfield_patterns",
    "hopfield_energy",
    "hopfield_exact_distribution",
    "hopfield_mean_field",
]

log = logging.getLogger(__name__)

MAX_EXACT_N = 20  # exhaustive enumeration limit of hopfield_exact_distribution
CHAINS = 1024  # default independent chains: each gives ceil(samples / chains) thinned records
MIN_TAU_SWEEPS = 8  # burn-in sweeps (second half) needed to measure the automatic thinning
CHUNK_ELEMENTS = 1 << 16  # spins per cache-sized block of the s | m update


def hopfield_patterns(n: int, n_patterns: int, bias: float = 0.0, seed: int = 0) -> np.ndarray:
    """Random patterns (N, P) int8 in {-1, +1} with P(xi = +1) = (1 + bias) / 2."""
    n = check_positive_int("n", n)
    n_patterns = check_positive_int("n_patterns", n_patterns)
    bias = check_finite("bias", bias)
    if not -1.0 < bias < 1.0:
        raise ParameterError(f"pattern bias must lie in (-1, 1), got {bias}")
    rng = np.random.default_rng(seed)
    return np.where(rng.random((n, n_patterns)) < (1.0 + bias) / 2, 1, -1).astype(np.int8)


def _check_patterns(patterns: np.ndarray, n: int | None = None) -> np.ndarray:
    xi = np.asarray(patterns)
    if xi.ndim != 2 or xi.shape[0] < 1 or xi.shape[1] < 1:
        raise ParameterError(f"patterns must be an (N, P) array, got shape {xi.shape}")
    if n is not None and xi.shape[0] != n:
        raise ParameterError(f"patterns have N={xi.shape[0]} rows but n={n}")
    if not np.isin(xi, (-1, 1)).all():
        raise ParameterError("patterns must hold only -1 and +1")
    return xi.astype(np.int8)


def _check_field(h: np.ndarray | float | None, n: int) -> np.ndarray | None:
    if h is None:
        return None
    h = np.broadcast_to(np.asarray(h, dtype=np.float64), (n,)).copy()
    if not np.isfinite(h).all():
        raise ParameterError("the field h must be finite")
    return None if not h.any() else h


def hopfield_energy(s: np.ndarray, patterns: np.ndarray, h: np.ndarray | None = None) -> np.ndarray:
    """E(s) = -(1/2N) sum_mu (xi^mu . s)^2 - h . s for configurations (..., N)."""
    s = np.asarray(s, dtype=np.float64)
    n = s.shape[-1]
    ov = s @ np.asarray(patterns, dtype=np.float64)
    e = -0.5 * (ov**2).sum(axis=-1) / n
    if h is not None:
        e = e - s @ np.asarray(h, dtype=np.float64)
    return e


def hopfield_exact_distribution(
    patterns: np.ndarray, beta: float, h: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All 2^N states (2^N, N) int8 (lexicographic, -1 before +1) and their probabilities."""
    xi = _check_patterns(patterns)
    n = xi.shape[0]
    if n > MAX_EXACT_N:
        raise ParameterError(f"exhaustive enumeration needs N <= {MAX_EXACT_N}, got {n}")
    beta = check_finite("beta", beta, minimum=0.0)
    states = np.array(list(itertools.product((-1, 1), repeat=n)), dtype=np.int8)
    lw = -beta * hopfield_energy(states, xi, _check_field(h, n))
    p = np.exp(lw - lw.max())
    return states, p / p.sum()


def hopfield_mean_field(
    patterns: np.ndarray,
    beta: float,
    h: np.ndarray | None = None,
    m0: np.ndarray | None = None,
    tol: float = 1e-12,
    max_iter: int = 100000,
) -> np.ndarray:
    """Solve m = (1/N) xi^T tanh(beta (xi m + h)) by damped iteration from ``m0``.

    ``m0`` defaults to the first retrieval state (1, 0, ..., 0); the returned overlaps (P,)
    are the mean-field retrieval solution for these very patterns (cross-talk included).
    """
    xi = _check_patterns(patterns).astype(np.float64)
    n, p = xi.shape
    beta = check_finite("beta", beta, minimum=0.0)
    hh = _check_field(h, n)
    m = np.zeros(p) if m0 is None else np.asarray(m0, dtype=np.float64).copy()
    if m0 is None:
        m[0] = 1.0
    for _ in range(max_iter):
        phi = xi @ m + (0.0 if hh is None else hh)
        new = xi.T @ np.tanh(beta * phi) / n
        if np.abs(new - m).max() < tol:
            return new
        m = 0.5 * m + 0.5 * new
    log.warning("hopfield_mean_field did not converge to %g in %d steps", tol, max_iter)
    return m


def auto_thin(overlaps: np.ndarray) -> int:
    """Sweeps between records: ceil(2 tau) for the largest integrated autocorrelation time tau
    of the target replicas' overlaps ``overlaps`` (sweeps, chains, P), centred on the mean over
    all chains (a chain's own mean over a short stretch would hide its slow switches between
    retrieval states); at most the length of the series (Sokal's window cuts the estimate,
    so longer times are not resolved)."""
    tau = max(integrated_autocorrelation_time(overlaps[:, :, j], pooled=True)
              for j in range(overlaps.shape[2]))
    return int(min(max(1, math.ceil(2.0 * tau)), len(overlaps)))


def _auto_temperatures(n: int, beta: float, beta_min: float) -> int:
    if beta_min >= beta:
        return 1
    # energy fluctuations grow like sqrt(N): adjacent betas must differ by ~ 1/sqrt(N)
    return max(2, math.ceil(1 + math.log(beta / beta_min) * beta * math.sqrt(n) / 2))


def sample_hopfield(
    n: int,
    n_patterns: int = 3,
    beta: float = 1.4,
    samples: int = 10000,
    seed: int = 0,
    patterns: np.ndarray | None = None,
    bias: float = 0.0,
    h: np.ndarray | float | None = None,
    chains: int | None = None,
    n_temperatures: int | None = None,
    beta_min: float | None = None,
    burn_in: int = 200,
    thin: int | None = None,
) -> Job[SampleSet]:
    """Equilibrium samples (T=samples, N=n) of a Hopfield network at inverse temperature beta.

    Patterns are ``patterns`` (N, P) when given, else random with pattern ``bias``.
    ``chains`` independent tempering chains (default min(samples, CHAINS)) run
    ``n_temperatures`` replicas each, on a geometric beta ladder from ``beta`` down to
    ``beta_min`` (default 0.75, in the paramagnetic phase); after ``burn_in`` sweeps the
    target replicas are recorded every ``thin`` sweeps. Default ``thin``: twice the
    integrated autocorrelation time of the overlaps measured over the second half of the
    burn-in (:func:`auto_thin`), so that the samples are close to independent draws (a chain
    switches between retrieval states slowly: recorded every sweep, 50,000 samples held as
    much information as ~1,500 independent ones). A generator: yields Progress and returns
    a SampleSet with truth {"patterns", "overlaps" (T, P), "betas"}; the integrated
    autocorrelation times (in sweeps), the thinning used and the swap rates are in
    params["diagnostics"].
    """
    beta = check_finite("beta", beta, minimum=0.0)
    samples = check_positive_int("samples", samples)
    seed = check_positive_int("seed", seed, minimum=0)
    burn_in = check_positive_int("burn_in", burn_in, minimum=0)
    if thin is not None:
        thin = check_positive_int("thin", thin)
    rng = np.random.default_rng(seed)
    if patterns is None:
        xi = hopfield_patterns(n, n_patterns, bias, seed=int(rng.integers(2**63)))
    else:
        xi = _check_patterns(patterns, n)
    n, p = xi.shape
    hh = _check_field(h, n)
    chains = check_positive_int("chains", chains if chains is not None else min(samples, CHAINS))
    beta_min = check_finite("beta_min", beta_min if beta_min is not None else min(beta, 0.75),
                            minimum=0.0)
    k = check_positive_int("n_temperatures", n_temperatures if n_temperatures is not None
                           else _auto_temperatures(n, beta, beta_min))
    betas = beta_ladder(beta, beta_min, k)
    k = betas.size
    records = math.ceil(samples / chains)
    tail = burn_in - burn_in // 2  # the burn-in sweeps whose overlaps set the automatic thin
    thin_rule = "given" if thin is not None else "auto"
    if thin is None and tail < MIN_TAU_SWEEPS:
        thin, thin_rule = 1, "burn-in too short to measure"
    sweeps = burn_in + records * (thin or 1)  # until the burn-in has measured the thinning

    xf = xi.astype(np.float32)  # (N, P)
    xft = np.ascontiguousarray(xf.T)  # (P, N)
    hf = None if hh is None else hh.astype(np.float32)
    rows = k * chains  # row r = k * chains + c holds the replica in slot (k, c)
    s = np.where(rng.random((rows, n), dtype=np.float32) < 0.5, -1.0, 1.0).astype(np.float32)
    ov = s @ xf  # (R, P) = xi^T s, kept up to date
    inv = np.broadcast_to(np.arange(k)[:, None], (k, chains)).copy()  # temperature -> slot
    cols = np.arange(chains)
    chunk = max(1, CHUNK_ELEMENTS // n)  # rows per cache-sized block (fixed: reproducible)
    u = np.empty((chunk, n), dtype=np.float32)
    t = np.empty((chunk, n), dtype=np.float32)
    out = np.empty((records * chains, n), dtype=np.int8)
    burn_trace = np.empty((tail if thin is None else 0, chains, p), dtype=np.float32)
    energy_trace = m1_trace = np.empty((0, chains))
    swaps = SwapStats(k, chains)
    params = {"n": n, "n_patterns": p, "beta": beta, "samples": samples, "seed": seed,
              "bias": bias if patterns is None else None, "patterns_given": patterns is not None,
              "h": None if hh is None else hh.tolist(), "chains": chains, "n_temperatures": k,
              "beta_min": float(betas[-1]), "burn_in": burn_in,
              "sampler": "Hubbard-Stratonovich Gibbs + parallel tempering"}
    log.info("Hopfield: N=%d P=%d beta=%g, %d chains x %d temperatures, %d sweeps",
             n, p, beta, chains, k, sweeps)
    yield Progress("sample", 0, sweeps)
    sweep = 0
    while sweep < sweeps:
        e_slot = -0.5 * (ov.astype(np.float64) ** 2).sum(axis=1) / n  # (R,)
        if hf is not None:
            e_slot -= s @ hf
        e_slot = e_slot.reshape(k, chains)
        if k > 1:  # swap temperatures between slots (moves labels, not configurations)
            e_temp = e_slot[inv, cols]  # (K, C): energy of the replica at temperature j
            perm, acc = tempering_swaps(rng, betas, e_temp, sweep)
            swaps.add(sweep, acc)
            inv = inv[perm, cols]
        target = inv[0] * chains + cols  # rows at the target temperature
        if sweep == burn_in:  # burn-in done: the thinning is known, and with it the length
            if thin is None:
                thin = auto_thin(burn_trace)
            sweeps = burn_in + records * thin
            energy_trace, m1_trace = np.empty((records * thin, chains)), np.empty((records * thin, chains))
        elif burn_in - len(burn_trace) <= sweep < burn_in:
            burn_trace[sweep - burn_in + len(burn_trace)] = ov[target] / n
        if sweep >= burn_in:
            i = sweep - burn_in
            energy_trace[i] = e_slot[inv[0], cols]
            m1_trace[i] = ov[target, 0] / n
        beta_row = np.empty((k, chains))
        beta_row[inv, cols] = betas[:, None]
        beta_row = beta_row.reshape(rows, 1)
        # m | s ~ N(xi^T s / N, 1 / (N beta)); we need beta * m for the field
        bm = (ov / n).astype(np.float64)
        if beta > 0:
            bm += rng.standard_normal((rows, p)) / np.sqrt(n * beta_row)
        bm = (bm * beta_row).astype(np.float32)
        # s | m: P(s_i = +1) = (1 + tanh(beta phi_i)) / 2 with phi = xi m + h, i.e.
        # s_i = sign(tanh(beta phi_i) + 1 - 2 u_i), blockwise so that the passes stay in cache
        for r0 in range(0, rows, chunk):
            r1 = min(rows, r0 + chunk)
            tb, ub = t[: r1 - r0], u[: r1 - r0]
            np.matmul(bm[r0:r1], xft, out=tb)  # beta * xi m
            if hf is not None:
                tb += beta_row[r0:r1].astype(np.float32) * hf
            np.tanh(tb, out=tb)
            rng.random(out=ub, dtype=np.float32)
            ub *= 2.0
            tb -= ub
            tb += 1.0
            np.copysign(1.0, tb, out=s[r0:r1])  # +1 or -1, never 0
            np.matmul(s[r0:r1], xf, out=ov[r0:r1])
        if sweep >= burn_in and (sweep - burn_in + 1) % thin == 0:
            r = (sweep - burn_in + 1) // thin - 1
            out[r * chains : (r + 1) * chains] = s[inv[0] * chains + cols]
        if sweep % 4 == 3 or sweep == sweeps - 1:
            yield Progress("sample", sweep + 1, sweeps)
        sweep += 1
    # interleave so that the first T rows mix all chains: row = record * chains + chain
    configs = out[:samples]
    overlaps = (configs.astype(np.float32) @ xf) / n
    diagnostics = {
        "tau_int_energy_sweeps": tau_or_none(energy_trace),
        "tau_int_m1_sweeps": tau_or_none(m1_trace),
        "swap_acceptance": swaps.acceptance(),
        "sweeps": sweeps,
        "thin": thin,
        "thin_rule": thin_rule,
    }
    params["diagnostics"] = diagnostics
    params["thin"] = thin
    truth = {"patterns": xi, "overlaps": overlaps.astype(np.float32), "betas": betas}
    if hh is not None:
        truth["h"] = hh
    log.info("Hopfield diagnostics: %s", diagnostics)
    return SampleSet("hopfield", configs, params, truth)
