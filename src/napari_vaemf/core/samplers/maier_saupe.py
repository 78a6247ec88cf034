"""Maier-Saupe nematic: N unit vectors with E = -(J/2N) sum_ij (n_i . n_j)^2.

With T = (1/N) sum_i n_i n_i^T, E = -(J N / 2) tr T^2 and Q = (3T - I)/2 is the tensor
order parameter; S is its largest eigenvalue. A symmetric-matrix Hubbard-Stratonovich field
A gives the joint weight exp(-beta J N tr(A^2)/2 + beta J sum_i n_i^T A n_i), whose
conditionals are
    A | n: A_aa ~ Normal(T_aa, 1/(beta J N)), A_ab ~ Normal(T_ab, 1/(2 beta J N)),
    n_i | A: independent Bingham draws with density ~ exp(beta J n^T A n).
Replicas on a ladder of beta J values exchange configurations (parallel tempering) down to
the isotropic phase, which carries the chains through the first-order transition.
"""
from __future__ import annotations

import logging
import math

import numpy as np

from napari_vaemf.core.configs import SampleSet
from napari_vaemf.core.progress import Job, Progress
from napari_vaemf.core.samplers._bingham import sample_bingham
from napari_vaemf.core.samplers._common import (
    tau_or_none,
    beta_ladder,
    check_finite,
    check_positive_int,
    SwapStats,
    tempering_swaps,
)

__all__ = [
    "sample_maier_saupe",
    "nematic_order",
    "maier_saupe_mean_field_S",
    "maier_saupe_free_energy",
    "BETA_J_TRANSITION",
]

log = logging.getLogger(__name__)

_T, _W = np.polynomial.legendre.leggauss(400)
_T, _W = 0.5 * (_T + 1.0), 0.5 * _W  # nodes and weights on [0, 1]
_P2 = 0.5 * (3 * _T**2 - 1)

BETA_J_ISOTROPIC_ONLY = 6.0  # beta J below the nematic spinodal (beta J = 6.69): isotropic only


def _log_z1(a: np.ndarray) -> np.ndarray:
    """log int_0^1 exp(a P2(t)) dt for an array of a."""
    x = np.multiply.outer(np.asarray(a, dtype=np.float64), _P2)
    mx = x.max(axis=-1, keepdims=True)
    return np.log((np.exp(x - mx) * _W).sum(axis=-1)) + mx[..., 0]


def _mean_p2(a: float) -> float:
    x = a * _P2
    w = np.exp(x - x.max()) * _W
    return float((w * _P2).sum() / w.sum())


def maier_saupe_free_energy(s: np.ndarray, beta_j: float) -> np.ndarray:
    """Mean-field free energy per vector (in units of kT, up to a constant) at uniaxial order S.

    beta f(S) = (beta U) S^2 / 2 - log int_0^1 exp(beta U S P2(t)) dt with beta U = 2 beta J / 3.
    """
    bu = 2.0 * beta_j / 3.0
    s = np.asarray(s, dtype=np.float64)
    return 0.5 * bu * s**2 - _log_z1(bu * s)


def maier_saupe_mean_field_S(beta_j: float) -> float:
    """Equilibrium mean-field order S(beta J): the global minimum of the free energy.

    S solves S = <P2(cos theta)> under exp(beta U S P2), beta U = 2 beta J / 3; the
    transition is first order at beta J = BETA_J_TRANSITION (beta U = 4.5415), where S jumps
    from 0 to 0.429.
    """
    from scipy.optimize import brentq  # here: scipy.optimize costs every fit process 0.4 s to import

    bj = check_finite("beta_j", beta_j, minimum=0.0)
    bu = 2.0 * bj / 3.0
    grid = np.linspace(-0.5, 1.0, 3001)
    f = maier_saupe_free_energy(grid, bj)
    i = int(np.argmin(f))
    if abs(grid[i]) < 1e-9 or f[i] >= maier_saupe_free_energy(np.array(0.0), bj) - 1e-15:
        return 0.0

    def g(s: float) -> float:
        return _mean_p2(bu * s) - s

    lo, hi = grid[max(i - 2, 0)], grid[min(i + 2, grid.size - 1)]
    if g(lo) * g(hi) > 0:
        return float(grid[i])
    return float(brentq(g, lo, hi, xtol=1e-13))


BETA_J_TRANSITION = 6.81219  # mean-field first-order transition, beta U = 2 beta J / 3 = 4.54146


def nematic_order(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """S (largest eigenvalue of Q) and the director for configurations (..., N, 3)."""
    n = np.asarray(n, dtype=np.float64)
    t = np.einsum("...ni,...nj->...ij", n, n) / n.shape[-2]
    q = 1.5 * t - 0.5 * np.eye(3)
    w, v = np.linalg.eigh(q)
    return w[..., -1], v[..., :, -1]


def _auto_temperatures(n: int, beta_j: float, beta_min: float) -> int:
    if beta_min >= beta_j:
        return 1
    return max(2, math.ceil(1 + (beta_j - beta_min) * math.sqrt(n) / 6))


def sample_maier_saupe(
    n: int,
    beta_j: float,
    samples: int = 10000,
    seed: int = 0,
    chains: int | None = None,
    n_temperatures: int | None = None,
    beta_j_min: float | None = None,
    burn_in: int = 200,
    thin: int = 1,
) -> Job[SampleSet]:
    """Equilibrium samples (T=samples, N=n, 3) float32 of the Maier-Saupe model.

    ``chains`` tempering chains (default min(samples, 32)), each with ``n_temperatures``
    replicas on a ladder from ``beta_j`` down to ``beta_j_min`` (default 6.0, where only the
    isotropic phase is stable); recorded every ``thin`` sweeps after ``burn_in``. Returns a
    SampleSet with truth {"S": (T,), "director": (T, 3), "betas_j"}; autocorrelation times
    of the energy and of S (in sweeps) are in params["diagnostics"].
    """
    n = check_positive_int("n", n)
    beta_j = check_finite("beta_j", beta_j, minimum=0.0)
    samples = check_positive_int("samples", samples)
    seed = check_positive_int("seed", seed, minimum=0)
    burn_in = check_positive_int("burn_in", burn_in, minimum=0)
    thin = check_positive_int("thin", thin)
    chains = check_positive_int("chains", chains if chains is not None else min(samples, 32))
    bmin = check_finite("beta_j_min", beta_j_min if beta_j_min is not None
                        else min(beta_j, BETA_J_ISOTROPIC_ONLY), minimum=0.0)
    k = check_positive_int("n_temperatures", n_temperatures if n_temperatures is not None
                           else _auto_temperatures(n, beta_j, bmin))
    betas = beta_ladder(beta_j, bmin, k)
    k = betas.size
    records = math.ceil(samples / chains)
    sweeps = burn_in + records * thin
    rng = np.random.default_rng(seed)
    x = sample_bingham(rng, np.zeros((k, chains, 3, 3)), n)  # uniform start, (K, C, N, 3)
    out = np.empty((records * chains, n, 3), dtype=np.float32)
    e_trace = np.empty((records * thin, chains))
    s_trace = np.empty((records * thin, chains))
    swaps = SwapStats(k, chains)
    params = {"n": n, "beta_j": beta_j, "samples": samples, "seed": seed, "chains": chains,
              "n_temperatures": k, "beta_j_min": float(betas[-1]), "burn_in": burn_in,
              "thin": thin, "sampler": "Hubbard-Stratonovich Gibbs (Bingham) + parallel tempering"}
    log.info("Maier-Saupe: N=%d betaJ=%g, %d chains x %d temperatures, %d sweeps",
             n, beta_j, chains, k, sweeps)
    yield Progress("sample", 0, sweeps)
    bcol = betas[:, None, None, None]
    for sweep in range(sweeps):
        t = np.matmul(np.swapaxes(x, -1, -2), x).astype(np.float64) / n  # (K, C, 3, 3)
        if k > 1:
            energy = -0.5 * n * (t * t).sum(axis=(-1, -2))  # E / J
            perm, acc = tempering_swaps(rng, betas, energy, sweep)
            swaps.add(sweep, acc)
            if acc.any():
                x = np.take_along_axis(x, perm[:, :, None, None], axis=0)
                t = np.take_along_axis(t, perm[:, :, None, None], axis=0)
        if sweep >= burn_in:
            i = sweep - burn_in
            e_trace[i] = -0.5 * n * (t[0] * t[0]).sum(axis=(-1, -2))
            s_trace[i] = np.linalg.eigvalsh(1.5 * t[0] - 0.5 * np.eye(3))[:, -1]
        # A | n, then n | A (Bingham with K = beta J A)
        g = rng.standard_normal((k, chains, 3, 3))
        a = t + 0.5 * (g + np.swapaxes(g, -1, -2)) / np.sqrt(n * np.maximum(bcol, 1e-300))
        x = sample_bingham(rng, bcol * a, n)
        if sweep >= burn_in and (sweep - burn_in + 1) % thin == 0:
            r = (sweep - burn_in + 1) // thin - 1
            out[r * chains : (r + 1) * chains] = x[0]
        yield Progress("sample", sweep + 1, sweeps)
    configs = out[:samples]
    s_val, director = nematic_order(configs)
    params["diagnostics"] = {
        "tau_int_energy_sweeps": tau_or_none(e_trace),
        "tau_int_S_sweeps": tau_or_none(s_trace),
        "swap_acceptance": swaps.acceptance(),
        "sweeps": sweeps,
    }
    truth = {"S": s_val.astype(np.float32), "director": director.astype(np.float32),
             "betas_j": betas}
    return SampleSet("maier-saupe", configs, params, truth)
