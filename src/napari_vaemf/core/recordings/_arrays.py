"""Turning a plain array into a recording: raster layout, spike lists, stimulus repeats."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import InputError, ParameterError
from ..limits import MAX_BIN_COUNT
from ._binning import SpikeTrains

__all__ = ["raster_from_array", "spikes_from_list", "detect_repeats", "is_spike_list"]

log = logging.getLogger(__name__)

LAYOUTS = ("auto", "bins_by_units", "units_by_bins", "repeats_bins_units")
# "auto" takes the longer axis as time only when it is at least this many times the shorter.
AUTO_ASPECT = 8
# split-half PSTH reliability a repeat structure must reach to be inferred
REPEAT_RELIABILITY = 0.8
# rasters bigger than this are not searched for repeats (pass repeats= instead)
MAX_DETECT_CELLS = 200_000_000


def _integer_valued(a: np.ndarray) -> bool:
    if a.dtype.kind in "biu":
        return True
    if a.dtype.kind != "f":
        return False
    return bool(np.all(np.isfinite(a)) and np.all(a == np.round(a)))


def is_spike_list(a: np.ndarray) -> bool:
    """An (n, 2) float array of [unit id, time] or [time, unit id] rows."""
    if a.ndim != 2 or a.shape[1] != 2 or a.shape[0] < 2 or a.dtype.kind != "f":
        return False
    return _integer_valued(a[:, 0]) != _integer_valued(a[:, 1])


def spikes_from_list(a: np.ndarray, source: Path | None) -> SpikeTrains:
    """[unit id, time (s)] rows (either column order, told apart by which is integer-valued)."""
    a = np.asarray(a, dtype=np.float64)
    id_col = 0 if _integer_valued(a[:, 0]) else 1
    ids_raw, times = a[:, id_col], a[:, 1 - id_col]
    if not np.all(np.isfinite(times)):
        raise InputError(source, "spike list has NaN or infinite spike times")
    if np.any(times < 0):
        raise InputError(source, "spike list has negative spike times")
    order = np.lexsort((times, ids_raw))  # by unit, then time (stable sort per unit)
    ids_sorted = ids_raw[order]
    ids, counts = np.unique(ids_sorted, return_counts=True)
    ids = ids.astype(np.int64)
    st = SpikeTrains(times=times[order], ends=np.cumsum(counts), units={"id": ids}, source=source)
    st.validate()
    return st


def raster_from_array(
    a: np.ndarray, source: Path | None, layout: str = "auto", repeats: int | str | None = "auto"
) -> tuple[np.ndarray, int | None, str]:
    """(units, bins) raster, repeats, encoding from a 2-D (or explicitly 3-D) array.

    ``layout``: "bins_by_units" (rows are time bins, like the salamander file),
    "units_by_bins", "repeats_bins_units" (a 3-D (repeats, bins, units) array) or "auto",
    which takes the longer axis as time only when it is at least ``AUTO_ASPECT`` times the
    shorter; otherwise the caller must say. ``repeats``: an int, None, or "auto" (inferred
    from split-half PSTH reliability, see :func:`detect_repeats`).
    """
    if layout not in LAYOUTS:
        raise ParameterError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise InputError(source, f"array of dtype {a.dtype} is not a spike raster")
    n_rep = None
    if a.ndim == 3:
        if layout != "repeats_bins_units":
            raise InputError(
                source,
                f"a 3-D array {a.shape} is not a raster; a (repeats, bins, units) stack loads "
                "with layout='repeats_bins_units', (T, N, 3) unit vectors load from a vaemf "
                "configuration .npz",
            )
        n_rep = a.shape[0]
        a = a.reshape(-1, a.shape[2])
        layout = "bins_by_units"
    elif a.ndim != 2:
        raise InputError(source, f"a {a.ndim}-D array {a.shape} is not a raster (need 2-D units x bins)")
    if min(a.shape) < 1:
        raise InputError(source, f"empty array {a.shape}")
    finite = np.isfinite(a) if a.dtype.kind == "f" else True
    if not np.all(finite):
        raise InputError(source, "raster contains NaN or infinite values")
    vals = np.unique(a[: min(len(a), 100_000)])
    lo, hi = a.min(), a.max()
    if set(vals.tolist()) <= {-1, 1}:
        encoding = "spin"
    elif _integer_valued(a) and lo >= 0:
        encoding = "binary" if hi <= 1 else "counts"
    else:
        raise InputError(source, "array is not a raster: values must be counts >= 0, {0,1} or +-1")
    if lo == hi:  # all zeros, all ones, all -1: no activity to describe
        raise InputError(source, f"every entry of the {a.shape[0]} x {a.shape[1]} raster is {lo.item():g}: "
                                 "no activity to show or fit (a wrong --variable, or an empty recording?)")
    if encoding == "counts" and hi > MAX_BIN_COUNT:
        raise InputError(source, f"a bin holds {hi.item():,.0f} counts; more than {MAX_BIN_COUNT:,} spikes "
                                 "in one bin is not a spike raster (a wrong --variable, or an image?)")
    if layout == "auto":
        rows, cols = a.shape
        if rows >= AUTO_ASPECT * cols:
            layout = "bins_by_units"
        elif cols >= AUTO_ASPECT * rows:
            layout = "units_by_bins"
        else:
            raise InputError(
                source,
                f"cannot tell units from time bins in a {rows} x {cols} array; pass "
                "layout='bins_by_units' or layout='units_by_bins'",
            )
    raster = a.T if layout == "bins_by_units" else a
    if encoding == "spin":
        raster = raster.astype(np.int8)
    elif encoding == "binary":
        raster = raster.astype(np.uint8)
    else:
        from ._binning import count_dtype

        raster = raster.astype(count_dtype(int(hi)))
    raster = np.ascontiguousarray(raster)
    if n_rep is None:
        if repeats == "auto":
            n_rep = detect_repeats(raster) if encoding != "spin" else None
        elif repeats is not None:
            n_rep = int(repeats)
            if n_rep < 1 or raster.shape[1] % n_rep:
                raise ParameterError(f"{source}: {raster.shape[1]} bins cannot be split into {n_rep} repeats")
    return raster, n_rep, encoding


def _split_half(raster: np.ndarray, n_rep: int) -> tuple[float, float]:
    """(reliability, signal) of the PSTHs of even and odd repeats.

    reliability: mean over units of corr(even PSTH, odd PSTH); signal: mean over units of
    cov(even PSTH, odd PSTH), an estimate of the PSTH variance free of trial noise.
    """
    n, t = raster.shape
    x = raster.reshape(n, n_rep, t // n_rep)
    even = x[:, 0::2].mean(axis=1, dtype=np.float64)
    odd = x[:, 1::2].mean(axis=1, dtype=np.float64)
    even -= even.mean(axis=1, keepdims=True)
    odd -= odd.mean(axis=1, keepdims=True)
    cov = (even * odd).mean(1)
    den = np.sqrt((even**2).mean(1) * (odd**2).mean(1))
    ok = den > 0
    if not ok.any():
        return 0.0, 0.0
    return float(np.mean(cov[ok] / den[ok])), float(cov.mean())


def detect_repeats(raster: np.ndarray, min_bins: int = 20, min_repeats: int = 4) -> int | None:
    """Number of repeats of a stimulus, when the raster shows one unambiguously.

    Tries every split of the bins into R equal, repeat-major trials (R a divisor of the
    number of bins, at least ``min_repeats`` trials of at least ``min_bins`` bins) and keeps
    those whose split-half PSTH reliability reaches ``REPEAT_RELIABILITY``. A trial length
    that is a multiple of the true one keeps the full PSTH variance (the split-half
    covariance), a wrong one blurs it, so among the splits with at least 90 % of the best
    variance the one with the most (shortest) trials wins. None when no split qualifies or
    the strong ones do not nest.
    """
    n, t = raster.shape
    if t < min_bins * min_repeats or n * t > MAX_DETECT_CELLS:
        return None
    cands = [r for r in range(min_repeats, t // min_bins + 1) if t % r == 0]
    if len(cands) > 64:  # highly composite lengths: keep it cheap, stay undecided
        return None
    scores = {r: _split_half(raster, r) for r in cands}
    good = {r: sig for r, (rel, sig) in scores.items() if rel >= REPEAT_RELIABILITY}
    if not good:
        return None
    top = max(good.values())
    strong = [r for r, sig in good.items() if sig >= 0.9 * top]
    best = max(strong)
    if any(best % r for r in strong):  # strong periods that do not nest: ambiguous
        log.info("repeat structure ambiguous among %s; not inferring repeats", strong)
        return None
    log.info("inferred %d repeats of %d bins (split-half PSTH reliability)", best, t // best)
    return best
