"""Attractors of a read-off energy: zero-temperature descent, basins, their stability, and
the landscape of the order parameters.

The energy E(x) = −log p(x) of an :class:`~napari_vaemf.core.extraction.energy.Energy` is a
mixture over the grid nodes g, p(x) ∝ Σ_g exp(a_g + L_g·x) e^{b·x} with a_g = log w_g −
Σ_i log Z_i(φ_i(z_g)) and L_g the nodes' unit logits without the fields. Flipping unit i
changes log p by δ_i b_i + log Σ_g π_g(x) e^{δ_i L_gi} (δ_i = 1 − 2x_i, π(x) the posterior
over the nodes), so the gains of all N single flips of M configurations are two (M, G) × (G, N)
products. :func:`descend` takes the steepest single flip while one raises log p: every
recorded configuration ends in a local maximum of p (an *attractor*, a stored pattern of the
population), and the configurations that end in the same one form its basin. The all-silent
state is reported apart (:func:`attractor_summary`): in sparse recordings it takes most bins.

:func:`match_attractors` compares the attractors of two fits (two seeds) unit by unit;
:func:`landscape` is −log of the density of the posterior-mean order parameters E[z | x]
of exact model samples, on which a recording's latent trajectory (the same E[z | x] of the
recorded bins, :func:`posterior_mean`) can be drawn.
"""
from __future__ import annotations

import logging

import numpy as np
from napari_vaemf.core.extraction.energy import Energy

__all__ = ["descend", "attractor_summary", "match_attractors", "landscape", "posterior_mean"]

log = logging.getLogger(__name__)

_CHUNK = 1024  # configurations per block of the (M, G) posterior (~140 MB at G = 17,077)


def _parts(energy: Energy) -> tuple[np.ndarray, np.ndarray]:
    """(a (G,), L (G, N)): node offsets and unit logits without the fields."""
    return energy.log_weights - energy.log_norm, energy.projections @ energy.patterns.T


def _node_posterior(s: np.ndarray, energy: Energy, a: np.ndarray, l_t: np.ndarray) -> np.ndarray:
    """p(node g | x) (M, G) for {0, 1} configurations ``s`` (M, N), computed in place (no
    (M, G) temporaries). L = projections · patternsᵀ has rank H, so s·Lᵀ costs M·H·(N + G)
    instead of M·N·G when H < N; ``l_t`` (N, G) is Lᵀ for the other case."""
    h = energy.patterns.shape[1]
    post = (s @ energy.patterns) @ energy.projections.T if h < s.shape[1] else s @ l_t
    post += a[None, :]
    post -= post.max(1, keepdims=True)
    np.exp(post, out=post)
    post /= post.sum(1, keepdims=True)
    return post


def _flip_gains(s: np.ndarray, energy: Energy, a: np.ndarray, e_up: np.ndarray,
                e_down: np.ndarray, c_up: np.ndarray, c_down: np.ndarray,
                l_t: np.ndarray) -> np.ndarray:
    """log p(x with unit i flipped) − log p(x), (M, N), for {0, 1} configurations ``s``;
    ``l_t`` (N, G) the transposed unit logits, ``e_up``/``e_down`` (G, N) e^{±L} scaled by
    ``c_up``/``c_down`` per unit."""
    post = _node_posterior(s, energy, a, l_t)
    with np.errstate(divide="ignore"):
        up = np.log(post @ e_up) + c_up[None, :]  # 0 -> 1: δ = +1
        down = np.log(post @ e_down) + c_down[None, :]  # 1 -> 0: δ = -1
    return np.where(s > 0, down - energy.fields[None, :], up + energy.fields[None, :])


def descend(energy: Energy, x: np.ndarray, max_steps: int | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Zero-temperature descent of E from every row of ``x`` (data's encoding).

    Returns ``(attractors (A, N) uint8 in {0, 1}, basin (T,) int)``: the distinct local
    minima reached and, for each row, the index of its attractor. Each step flips the one
    unit whose flip lowers E most; a row stops when no flip lowers it (ties keep the state).
    Identical configurations are descended once."""
    x01 = np.rint(energy._x01(x)).astype(np.uint8)
    n = x01.shape[1]
    a, big_l = _parts(energy)
    c_up, c_down = big_l.max(0), (-big_l).max(0)
    e_up, e_down = np.exp(big_l - c_up[None, :]), np.exp(-big_l - c_down[None, :])
    state, inverse = np.unique(x01, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    active = np.arange(len(state))
    for step in range(max_steps or n * 4):
        if not active.size:
            break
        moving = np.zeros(active.size, bool)
        for i in range(0, active.size, _CHUNK):
            rows = active[i:i + _CHUNK]
            s = state[rows].astype(np.float64)
            gain = _flip_gains(s, energy, a, e_up, e_down, c_up, c_down, big_l.T)
            best = gain.argmax(1)
            up = gain[np.arange(len(rows)), best] > 1e-10
            state[rows[up], best[up]] ^= 1
            moving[i:i + _CHUNK] = up
        active = active[moving]
    else:
        log.warning("descent stopped after %d steps with %d states still moving", step + 1,
                    active.size)
    attractors, which = np.unique(state, axis=0, return_inverse=True)
    return attractors, which.reshape(-1)[inverse]


def attractor_summary(energy: Energy, x: np.ndarray) -> tuple[list[dict], dict, np.ndarray]:
    """``(attractors, silent, basin)`` of the recorded configurations ``x``.

    ``attractors``: one dict per non-silent attractor, ``{"pattern": [0/1 per unit],
    "fraction": share of all bins in its basin, "fraction_nonsilent": share of the bins
    whose descent does not end in the silent state, "energy": E = −log p}``, sorted by
    fraction; ``silent``: ``{"is_attractor": bool, "fraction": share of bins ending there}``;
    ``basin`` (T,): the index of each bin's attractor in ``attractors``, −1 for the silent
    state."""
    pats, which = descend(energy, x)
    counts = np.bincount(which, minlength=len(pats))
    silent_row = np.flatnonzero(pats.sum(1) == 0)
    silent_count = int(counts[silent_row].sum()) if silent_row.size else 0
    total = len(which)
    nonsilent = max(total - silent_count, 1)
    silent_set = set(silent_row.tolist())
    order = [int(i) for i in np.argsort(-counts, kind="stable") if int(i) not in silent_set]
    logp = energy.log_prob(pats if energy.encoding == "binary" else 2 * pats.astype(np.int8) - 1)
    out = [{"pattern": pats[i].astype(int).tolist(), "fraction": counts[i] / total,
            "fraction_nonsilent": counts[i] / nonsilent, "energy": float(-logp[i])}
           for i in order]
    rank = np.full(len(pats), -1)
    rank[order] = np.arange(len(order))
    zero = np.zeros((1, pats.shape[1]), np.uint8)
    zero_is_min = bool(silent_row.size) or _is_local_min(energy, zero)
    silent = {"is_attractor": zero_is_min, "fraction": silent_count / total}
    return out, silent, rank[which]


def _is_local_min(energy: Energy, s01: np.ndarray) -> bool:
    """True when no single flip of the {0, 1} configuration ``s01`` (1, N) lowers E."""
    a, big_l = _parts(energy)
    c_up, c_down = big_l.max(0), (-big_l).max(0)
    gain = _flip_gains(s01.astype(np.float64), energy, a, np.exp(big_l - c_up), np.exp(-big_l - c_down),
                       c_up, c_down, big_l.T)
    return bool(gain.max() <= 1e-10)


def match_attractors(first: list[dict], second: list[dict], cover: float = 0.5) -> dict:
    """How well the non-silent attractors of one fit are found in another's.

    The attractors of ``first`` (sorted by fraction) that together cover at least ``cover``
    of its non-silent bins are each matched to the attractor of ``second`` that agrees with
    it in most units; the same the other way. Returns ``{"agreement": min over those of the
    share of matching units, "matched": [per attractor agreement], "count": how many were
    needed, ...}`` for both directions and ``"worst"``, the smaller agreement of the two."""
    def one_way(a: list[dict], b: list[dict]) -> dict:
        if not a or not b:
            return {"agreement": 0.0, "matched": [], "count": 0, "covered": 0.0}
        pb = np.array([d["pattern"] for d in b])
        used, covered, matched = 0, 0.0, []
        for d in a:
            if covered >= cover:
                break
            p = np.array(d["pattern"])
            matched.append(float((pb == p[None, :]).mean(1).max()))
            covered += d["fraction_nonsilent"]
            used += 1
        return {"agreement": min(matched), "matched": matched, "count": used, "covered": covered}

    ab, ba = one_way(first, second), one_way(second, first)
    return {"first_in_second": ab, "second_in_first": ba,
            "worst": min(ab["agreement"], ba["agreement"])}


def posterior_mean(energy: Energy, x: np.ndarray) -> np.ndarray:
    """E[z | x] (T, K) on the energy's grid for configurations ``x`` (data's encoding)."""
    x01 = energy._x01(x)
    a, big_l = _parts(energy)
    out = np.empty((len(x01), energy.nodes.shape[1]))
    for i in range(0, len(x01), _CHUNK):
        out[i:i + _CHUNK] = _node_posterior(x01[i:i + _CHUNK], energy, a, big_l.T) @ energy.nodes
    return out


def landscape(energy: Energy, samples: int = 100_000, bins: int = 60, seed: int = 0,
              extent: tuple[float, float, float, float] | None = None) -> dict:
    """−log density of E[z | x] over exact model samples x ~ p, for K = 2.

    Returns ``{"image": (bins, bins) float (rows: z_2, columns: z_1; NaN where no sample
    fell), "extent": (z1_min, z1_max, z2_min, z2_max), "what": description}``. The extent
    defaults to the 0.1-99.9 % range of the samples' posterior means, padded by 5 %."""
    if energy.nodes.shape[1] != 2:
        raise ValueError(f"the landscape image needs K = 2 latents, the energy has "
                         f"{energy.nodes.shape[1]}")
    zs = posterior_mean(energy, energy.sample(samples, seed=seed))
    if extent is None:
        lo, hi = np.percentile(zs, 0.1, axis=0), np.percentile(zs, 99.9, axis=0)
        pad = 0.05 * np.maximum(hi - lo, 1e-6)
        extent = (lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1])
    hist, _, _ = np.histogram2d(zs[:, 1], zs[:, 0], bins=bins,
                                range=[[extent[2], extent[3]], [extent[0], extent[1]]])
    dens = hist / max(hist.sum(), 1.0)
    with np.errstate(divide="ignore"):
        image = np.where(dens > 0, -np.log(dens), np.nan)
    return {"image": image, "extent": tuple(float(e) for e in extent),
            "what": "-log density of the posterior-mean latents E[z|x] of exact model samples"}

