"""Spike trains and binning them into rasters, eagerly or lazily (dask) in time chunks.

Edge convention (the one used everywhere in this package): with ``t0 = t_start`` and bin
width ``b``, bin ``k`` covers the half-open interval ``[t0 + k*b, t0 + (k+1)*b)``. A spike
at time ``t`` falls in bin ``floor((t - t0) / b)`` computed in float64, and only spikes with
``t_start <= t < t_stop`` are counted, so the counts add up to exactly the number of spikes
in ``[t_start, t_stop)``. The number of bins is ``ceil((t_stop - t_start) / b)``: when the
window is not a whole number of bins, the last bin is shorter. Without ``t_stop`` the window
ends one bin after the bin holding the last spike.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import InputError, ParameterError
from ..limits import MAX_BINS, check_alloc
from ._filetimes import FileTimes

__all__ = [
    "SpikeTrains",
    "bin_spikes",
    "bin_spikes_lazy",
    "as_binary",
    "count_dtype",
    "n_bins_for",
    "check_bin_size",
    "spikes_in",
    "spike_window",
    "unit_bins",
]

log = logging.getLogger(__name__)

# Rows of the raster binned at once in the lazy path are all units; this many bins per chunk.
DEFAULT_CHUNK_BINS = 65536


@dataclass(eq=False)  # identity: fields are arrays
class SpikeTrains:
    """Spike times of several units, stored flat (unit after unit) like NWB's ragged arrays."""

    times: Any  # (n_spikes,) float64 seconds, unit after unit, sorted within each unit; a FileTimes for trains left in their file
    ends: np.ndarray  # (n_units,) int64 end offset of each unit in `times` (NWB spike_times_index)
    units: dict[str, np.ndarray] = field(default_factory=dict)  # per-unit columns, always "id"
    source: Path | None = None  # file the spikes came from
    t_start: float | None = None  # start of the observed window (s), None: from the data
    t_stop: float | None = None  # end of the observed window (s), None: from the data

    def __post_init__(self) -> None:
        if not isinstance(self.times, FileTimes):
            self.times = np.asarray(self.times, dtype=np.float64)
        self.ends = np.asarray(self.ends, dtype=np.int64)
        if "id" not in self.units:
            self.units["id"] = np.arange(len(self.ends))

    @classmethod
    def from_list(
        cls, trains: Sequence[Any], ids: Sequence[Any] | None = None, source: Path | None = None
    ) -> "SpikeTrains":
        """Build from a sequence of 1-D arrays of spike times (one per unit)."""
        arrays = [np.asarray(t, dtype=np.float64).ravel() for t in trains]
        ends = np.cumsum([len(a) for a in arrays], dtype=np.int64)
        times = np.concatenate(arrays) if arrays else np.zeros(0)
        units = {"id": np.asarray(ids) if ids is not None else np.arange(len(arrays))}
        return cls(times=times, ends=ends, units=units, source=source)

    @property
    def in_file(self) -> bool:
        """True when the spike times stay in their file (:class:`FileTimes`), read per unit."""
        return isinstance(self.times, FileTimes)

    @property
    def starts(self) -> np.ndarray:
        return np.concatenate([[0], self.ends[:-1]]).astype(np.int64)

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, i: int) -> np.ndarray:
        start = 0 if i == 0 else int(self.ends[i - 1])
        return self.times[start : int(self.ends[i])]

    def counts(self) -> np.ndarray:
        """Spikes per unit, (n_units,) int64."""
        return np.diff(self.ends, prepend=0)

    def first_last(self) -> tuple[float, float]:
        """Earliest and latest spike over all units (trains are sorted, so one pass over ends)."""
        counts = self.counts()
        nonempty = counts > 0
        if not nonempty.any():
            raise InputError(self.source, "the recording has zero spikes")
        firsts = self.times[self.starts[nonempty]]
        lasts = self.times[self.ends[nonempty] - 1]
        return float(firsts.min()), float(lasts.max())

    def validate(self) -> None:
        """Raise InputError for NaN, infinite, negative or unsorted spike times (naming the unit).

        Works unit by unit, so extra memory is bounded by the largest unit's spikes.
        """
        ids = self.units["id"]
        counts = np.diff(self.ends, prepend=0)
        if self.ends.size and (np.any(counts < 0) or self.ends[-1] != self.times.size):
            raise InputError(self.source, "spike index is inconsistent with the spike times")
        for u, (a, b) in enumerate(zip(self.starts, self.ends)):
            seg = self.times[a:b]
            if seg.size == 0:
                continue
            if not np.isfinite(seg).all():
                raise InputError(self.source, f"spike times contain NaN or infinite values (unit {ids[u]})")
            if seg.min() < 0:
                raise InputError(self.source, f"spike times are negative (unit {ids[u]})")
            if seg.size > 1 and not (seg[1:] >= seg[:-1]).all():
                raise InputError(self.source, f"spike times are not sorted within unit {ids[u]}")

    def select(self, units: np.ndarray) -> "SpikeTrains":
        """Trains of the units at positions ``units`` (a copy of their spikes)."""
        units = np.asarray(units, dtype=np.int64)
        starts, ends = self.starts, self.ends
        new_ends = np.cumsum(ends[units] - starts[units], dtype=np.int64)
        if isinstance(self.times, FileTimes):  # a view of the file's segments: nothing read
            times = self.times.take(starts[units], ends[units])
        else:
            parts = [self.times[starts[u] : ends[u]] for u in units]
            times = np.concatenate(parts) if parts else np.zeros(0)
        cols = {k: np.asarray(v)[units] for k, v in self.units.items()}
        return SpikeTrains(times, new_ends, cols, self.source, self.t_start, self.t_stop)


def n_bins_for(t_start: float, t_stop: float, bin_size: float) -> int:
    """Number of bins covering [t_start, t_stop): ceil((t_stop - t_start) / bin_size)."""
    return max(0, int(math.ceil((t_stop - t_start) / bin_size - 1e-9)))


def count_dtype(max_count: int) -> np.dtype:
    """Smallest unsigned integer dtype that holds ``max_count``."""
    for dt in (np.uint8, np.uint16, np.uint32):
        if max_count <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.uint64)


def _as_trains(trains: Any) -> SpikeTrains:
    """SpikeTrains as given (readers validate them), or built from arrays and validated."""
    if isinstance(trains, SpikeTrains):
        return trains
    st = SpikeTrains.from_list(list(trains))
    st.validate()
    return st


def check_bin_size(bin_size: Any, source: Any = None) -> float:
    """``bin_size`` as a float, or ParameterError (naming ``source``) unless finite and > 0."""
    ok = isinstance(bin_size, (int, float, np.floating, np.integer)) and math.isfinite(bin_size) and bin_size > 0
    if not ok:
        raise ParameterError(f"{source or 'spike trains'}: bin size must be a positive number of seconds, got {bin_size!r}")
    return float(bin_size)


def spike_window(st: SpikeTrains, bin_size: float, t_start, t_stop) -> tuple[float, float, int]:
    """``(t0, t1, bins)``: the window [t0, t1) the trains are binned on (module docstring),
    checked (a positive bin size, at most MAX_BINS bins, at least one spike inside)."""
    bin_size = check_bin_size(bin_size, st.source)
    first, last = st.first_last()
    t0 = float(t_start) if t_start is not None else (st.t_start if st.t_start is not None else min(0.0, first))
    if t_stop is not None or st.t_stop is not None:
        t1 = float(t_stop if t_stop is not None else st.t_stop)
        n = n_bins_for(t0, t1, bin_size)
    else:
        n = int(math.floor((last - t0) / bin_size)) + 1 if last >= t0 else 0
        t1 = t0 + n * bin_size
        t1 = max(t1, np.nextafter(last, np.inf))  # the last spike is inside [t0, t1)
    duration = (t1 if (t_stop is not None or st.t_stop is not None) else last) - t0
    if duration <= 0:
        raise ParameterError(f"{st.source or 'spike trains'}: empty time window [{t0}, {t1})")
    if bin_size > duration and not math.isclose(bin_size, duration):
        raise ParameterError(
            f"{st.source or 'spike trains'}: bin size {bin_size} s is larger than the recording ({duration:.6g} s)"
        )
    if n > MAX_BINS:
        _too_many_bins(st, n, bin_size, t0, t1, windowed=t_stop is not None or st.t_stop is not None)
    if spikes_in(st, t0, t1) == 0:
        raise InputError(st.source, f"no spike in the time window [{t0:g}, {t1:g}) s (the spikes run "
                                    f"from {first:g} to {last:g} s): nothing to show or fit")
    return t0, t1, n


def spikes_in(st: SpikeTrains, t0: float, t1: float) -> int:
    """Number of spikes in [t0, t1) (one binary search per unit)."""
    total = 0
    for a, b in zip(st.starts, st.ends):
        lo, hi = np.searchsorted(st.times[a:b], (t0, t1), side="left")
        total += int(hi - lo)
    return total


def _too_many_bins(st: SpikeTrains, n: int, bin_size: float, t0: float, t1: float, windowed: bool) -> None:
    """Refuse a raster of more than MAX_BINS bins, saying why it is that long."""
    msg = (f"{n:,} bins of {bin_size:g} s over [{t0:g}, {t1:g}) s: a raster may have at most "
           f"{MAX_BINS:,} bins")
    hint = "pass a larger --bin-size, or a shorter window with --t-start/--t-stop"
    if not windowed:  # the window ends at the last spike: is it an outlier?
        q = float(np.quantile(np.asarray(st.times), 0.99))
        nonempty = np.flatnonzero(st.counts() > 0)
        lasts = st.times[st.ends[nonempty] - 1]
        u = int(nonempty[np.argmax(lasts)])
        last = float(lasts.max())
        if last - t0 > 10 * max(q - t0, bin_size):
            hint = (f"the last spike, at {last:g} s (unit {st.units['id'][u]}), lies far beyond the "
                    f"others (99 % come before {q:g} s): pass --t-stop to end the window there, "
                    "or a larger --bin-size")
    raise InputError(st.source, f"{msg}; {hint}")


def _count_rows(
    st: SpikeTrains, t0: float, t1: float, bin_size: float, lo: int, hi: int, dtype: np.dtype | None
) -> np.ndarray:
    """Counts of bins [lo, hi) (global bin numbers) for every unit, (units, hi-lo).

    With ``dtype=None`` the output starts as uint8 and is widened only if a bin overflows.
    Memory: the output plus three buffers the size of the largest unit's spikes in the window.
    """
    n_units, width = len(st), hi - lo
    out = np.zeros((n_units, width), dtype=dtype or np.uint8)
    is_last = t0 + hi * bin_size >= t1  # the chunk holds the window's last bin
    edge_chunk = lo > 0 or not is_last  # a chunk inside the window, not all of it
    # spikes searched in [w0, w1): the window, or the chunk widened by a bin on each side
    # (then an exact test on the bin index, so chunks agree with the eager raster bit for bit)
    w0 = max(t0, t0 + (lo - 1) * bin_size) if edge_chunk else t0
    w1 = min(t1, t0 + (hi + 1) * bin_size) if edge_chunk else t1
    starts, ends, times = st.starts, st.ends, st.times
    bounds = np.empty((n_units, 2), dtype=np.int64)
    for u in range(n_units):
        bounds[u] = np.searchsorted(times[starts[u] : ends[u]], (w0, w1), side="left")
    longest = int((bounds[:, 1] - bounds[:, 0]).max(initial=0))
    fbuf = np.empty(longest, dtype=np.float64)
    ibuf = np.empty(longest, dtype=np.intp)
    limit = np.iinfo(out.dtype).max
    for u in range(n_units):
        a, b = bounds[u]
        k = int(b - a)
        if k == 0:
            continue
        idx = _floor_bins(times[starts[u] + a : starts[u] + b], t0, bin_size, fbuf[:k], ibuf[:k])
        # idx is sorted (times are): range tests look at its ends only
        if edge_chunk:
            if is_last and idx[-1] >= hi:
                np.minimum(idx, hi - 1, out=idx)
            i0, i1 = np.searchsorted(idx, (lo, hi))  # the chunk's spikes are one run
            idx = idx[i0:i1]
            np.subtract(idx, lo, out=idx)
        elif idx[-1] >= width:
            np.minimum(idx, width - 1, out=idx)  # t < t1 is in the last bin even if rounding says not
        if idx.size == 0:
            continue
        row_out = out[u]
        if 8 * idx.size < width:  # sparse row: mark the bins, then fix the repeated ones, O(spikes)
            row_out[idx] = 1
            new_bin = idx[1:] != idx[:-1]
            if not new_bin.all():
                first = np.flatnonzero(np.concatenate(([True], new_bin)))
                runs = np.diff(first, append=idx.size)
                many = runs > 1
                top = int(runs.max())
                if top > limit:
                    out, limit = _widen(out, top, dtype)
                    row_out = out[u]
                row_out[idx[first[many]]] = runs[many]
        else:  # dense row: one bincount, O(spikes + bins)
            row = np.bincount(idx, minlength=width)
            if idx.size > limit and int(row.max()) > limit:
                out, limit = _widen(out, int(row.max()), dtype)
            out[u] = row
    return out


def _floor_bins(seg: np.ndarray, t0: float, bin_size: float, f: np.ndarray,
                idx: np.ndarray) -> np.ndarray:
    """``idx`` filled with floor((t - t0) / bin_size) of the spike times ``seg`` (all >= t0),
    computed in float64 in the buffer ``f``: the one bin arithmetic of every binning path."""
    if t0 == 0.0:
        np.divide(seg, bin_size, out=f, dtype=np.float64)
    else:
        np.subtract(seg, t0, out=f, dtype=np.float64)
        np.divide(f, bin_size, out=f)
    np.copyto(idx, f, casting="unsafe")  # truncation == floor for values >= 0
    return idx


def unit_bins(seg: np.ndarray, t0: float, t1: float, bin_size: float, n: int) -> np.ndarray:
    """Bin numbers (sorted, int64) of the spikes ``seg`` (one unit's sorted times) inside the
    window [t0, t1) of ``n`` bins: the arithmetic of :func:`bin_spikes` (floor of
    (t - t0) / bin_size in float64; a spike before t1 that rounds to bin n is in bin n - 1)."""
    a, b = np.searchsorted(seg, (t0, t1), side="left")
    idx = _floor_bins(seg[a:b], t0, bin_size, np.empty(b - a), np.empty(b - a, np.int64))
    if idx.size and idx[-1] >= n:
        np.minimum(idx, n - 1, out=idx)
    return idx


def _widen(out: np.ndarray, top: int, dtype) -> tuple[np.ndarray, int]:
    """``out`` in a dtype that holds ``top`` (eager path only), and the new limit."""
    if dtype is not None:
        raise AssertionError("lazy binning dtype bound was too small")  # pragma: no cover
    log.debug("widening raster to %s for a bin with %d spikes", count_dtype(top), top)
    out = out.astype(count_dtype(top))
    return out, int(np.iinfo(out.dtype).max)


def bin_spikes(
    trains: Any, bin_size: float, t_start: float | None = None, t_stop: float | None = None,
    window: tuple[float, float, int] | None = None,
) -> np.ndarray:
    """Spike counts per bin, shape (units, bins), in the smallest sufficient unsigned dtype.

    ``trains`` is a :class:`SpikeTrains` or a sequence of sorted 1-D arrays of spike times (s).
    See the module docstring for the edge convention. ``as_binary(counts)`` is the (count > 0)
    view used for fitting. Without ``t_start`` the window starts at ``min(0, first spike)``
    (NWB times are relative to the session start), or at the trains' own ``t_start``.
    """
    st = _as_trains(trains)
    t0, t1, n = window or spike_window(st, bin_size, t_start, t_stop)
    check_alloc(len(st) * n, f"a raster of {len(st)} units x {n:,} bins", source=st.source,
                hint="bin it lazily (lazy=True), or pass a larger --bin-size or a shorter window")
    return _count_rows(st, t0, t1, float(bin_size), 0, n, None)


def lazy_dtype(st: SpikeTrains, bin_size: float) -> np.dtype:
    """A dtype sure to hold any bin count, found without binning.

    A bin of width ``b`` holding spikes ``j..k`` lies inside ``[t_j, t_j + b)``, so the most
    spikes in any sliding window of width ``b`` (one ``searchsorted`` per unit) bounds every
    bin count; it is exact up to the rare window that straddles two bins.
    """
    counts = st.counts()
    if counts.size == 0 or counts.max() <= 255:
        return count_dtype(int(counts.max(initial=0)))
    bound = 0
    for a, b in zip(st.starts, st.ends):
        if b - a <= bound:
            continue
        t = st.times[a:b]
        window = np.searchsorted(t, t + bin_size, side="left") - np.arange(t.size)
        bound = max(bound, int(window.max()))
    return count_dtype(bound)


def bin_spikes_lazy(
    trains: Any,
    bin_size: float,
    t_start: float | None = None,
    t_stop: float | None = None,
    chunk_bins: int = DEFAULT_CHUNK_BINS,
    window: tuple[float, float, int] | None = None,
):
    """Like :func:`bin_spikes` but a dask array binned chunk by chunk on demand.

    Chunks are (all units, ``chunk_bins`` bins); only the chunks that are read are ever
    binned, so memory stays bounded by a few chunks whatever the recording length.
    """
    import dask.array as da

    st = _as_trains(trains)
    t0, t1, n = window or spike_window(st, bin_size, t_start, t_stop)
    bin_size = float(bin_size)
    dtype = lazy_dtype(st, bin_size)
    chunk_bins = max(1, int(chunk_bins))
    edges = list(range(0, n, chunk_bins)) + [n]
    widths = tuple(b - a for a, b in zip(edges[:-1], edges[1:]))

    def block(block_info=None):
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        return _count_rows(st, t0, t1, bin_size, c0, c1, dtype)[r0:r1]

    return da.map_blocks(block, chunks=((len(st),), widths), dtype=dtype, meta=np.zeros((0, 0), dtype))


def as_binary(raster: Any) -> Any:
    """(count > 0) as uint8, for numpy or dask rasters (lazy for dask)."""
    return (raster > 0).astype(np.uint8)
