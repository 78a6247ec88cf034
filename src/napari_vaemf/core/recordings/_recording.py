"""The one typed object every reader returns: :class:`Recording`."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..configs import jsonable
from ..errors import InputError, ParameterError
from ..limits import check_alloc
from ._binning import SpikeTrains, as_binary, bin_spikes, bin_spikes_lazy, check_bin_size, spike_window, spikes_in

__all__ = ["Recording", "LAZY_CELLS"]

log = logging.getLogger(__name__)

# Rasters with more cells than this are binned lazily (dask) unless `lazy=` says otherwise.
LAZY_CELLS = 200_000_000

ENCODINGS = ("binary", "counts", "spin", "vector")


def _check_unique_ids(ids, source) -> None:
    """InputError naming a unit id that occurs more than once (units are chosen by id)."""
    ids = np.asarray(ids)
    if ids.size < 2:
        return
    try:
        values, counts = np.unique(ids, return_counts=True)
    except TypeError:  # mixed types: compare them as text
        values, counts = np.unique(ids.astype(str), return_counts=True)
    if counts.max() > 1:
        dup = values[np.argmax(counts)]
        dup = dup.item() if hasattr(dup, "item") else dup
        raise InputError(source, f"unit ids are not unique: id {dup} is used by {counts.max()} units "
                                 "(units are chosen by id, so each must be unique)")


@dataclass(eq=False)  # identity: fields are arrays
class Recording:
    """A population recording or a set of model configurations, ready to show and to fit.

    ``raster`` is (units, bins) for binary/counts/spin data and (units, samples, 3) for unit
    vectors; it is a numpy array, or a dask array for recordings too big to hold densely.
    """

    raster: Any  # (units, bins) numpy or dask array; (units, samples, 3) for "vector"
    bin_size: float | None = None  # seconds per bin; None for configurations / unknown
    t_start: float = 0.0  # time of the left edge of bin 0 (s)
    units: dict[str, np.ndarray] = field(default_factory=dict)  # per-unit columns, always "id"
    source: Path | None = None  # file it was read from
    repeats: int | None = None  # number of stimulus repeats (bins are repeat-major) when known
    encoding: str = "binary"  # "binary" | "counts" | "spin" | "vector"
    model: str | None = None  # generating model for simulated configurations
    params: dict = field(default_factory=dict)  # model parameters (json-able)
    truth: dict = field(default_factory=dict)  # ground-truth arrays (e.g. "patterns" (N, P))
    spike_trains: SpikeTrains | None = None  # kept when built from spikes: re-binning needs no disk
    spike_grid: tuple | None = None  # (t0, t1, bins) the spike trains were binned on; bin 0 of the raster is bin round((t_start - t0) / bin_size) of it

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise ParameterError(f"encoding must be one of {ENCODINGS}, got {self.encoding!r}")
        if self.source is not None:
            self.source = Path(self.source)
        if "id" not in self.units:
            self.units = {"id": np.arange(self.n_units), **self.units}
        _check_unique_ids(self.units["id"], self.source)
        if self.repeats is not None and self.n_bins % self.repeats:
            raise ParameterError(f"{self.n_bins} bins cannot be split into {self.repeats} repeats")

    # --- shape -------------------------------------------------------------------------
    @property
    def n_units(self) -> int:
        return int(self.raster.shape[0])

    @property
    def n_bins(self) -> int:
        return int(self.raster.shape[1])

    @property
    def is_lazy(self) -> bool:
        return not isinstance(self.raster, np.ndarray)

    @property
    def duration(self) -> float | None:
        """Seconds covered by the raster (None when the bin size is unknown)."""
        return None if self.bin_size is None else self.n_bins * self.bin_size

    @property
    def t_stop(self) -> float | None:
        return None if self.bin_size is None else self.t_start + self.n_bins * self.bin_size

    @property
    def name(self) -> str:
        return self.source.stem if self.source is not None else (self.model or "recording")

    def n_spikes(self) -> int:
        """Total count (spikes for spike data, active entries for binary/spin rasters)."""
        if self.spike_trains is not None and self.encoding == "counts":
            return spikes_in(self.spike_trains, self.t_start, self.t_stop)  # per unit: times may stay in the file
        if self.encoding == "vector":
            return 0
        r = self.raster
        total = (r > 0).sum() if self.encoding == "spin" else r.sum(dtype=np.int64)
        return int(total.compute() if hasattr(total, "compute") else total)

    # --- data for fitting ----------------------------------------------------------------
    def _block_samples(self, block: np.ndarray) -> np.ndarray:
        """(units, bins[, 3]) block -> (bins, units[, 3]) float32 in the fitting encoding."""
        if self.encoding == "counts":
            block = as_binary(block)
        return np.ascontiguousarray(np.swapaxes(np.asarray(block), 0, 1), dtype=np.float32)

    def samples(self) -> np.ndarray:
        """(T, N) float32 for fitting (counts -> binary {0,1}); (T, N, 3) for vectors.

        A lazy raster is computed whole; stream big ones with :meth:`iter_batches`.
        """
        r = self.raster
        cells = self.n_units * self.n_bins * (3 if self.encoding == "vector" else 1)
        check_alloc(cells * 5, f"the {self.n_bins:,} samples of {self.n_units} units (float32 and int8)",
                    source=self.source, hint="fit a shorter window (--t-start/--t-stop) or a larger --bin-size")
        if self.is_lazy:
            log.info("computing a lazy raster of %d x %d for samples()", self.n_units, self.n_bins)
            r = r.compute()
        return self._block_samples(r)

    def iter_batches(
        self, batch_size: int = 256, shuffle: bool = True, seed: int = 0
    ) -> Iterator[np.ndarray]:
        """Yield (batch, N[, 3]) float32 samples; one pass over all bins.

        Lazy rasters are streamed one time chunk at a time (chunks in random order,
        shuffled within), so memory stays at about one chunk.
        """
        if batch_size < 1:
            raise ParameterError(f"batch_size must be >= 1, got {batch_size}")
        rng = np.random.default_rng(seed)
        if not self.is_lazy:
            x = self.samples()
            order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
            for s in range(0, len(x), batch_size):
                yield x[order[s : s + batch_size]]
            return
        bounds = np.cumsum((0,) + tuple(self.raster.chunks[1]))
        chunk_order = rng.permutation(len(bounds) - 1) if shuffle else range(len(bounds) - 1)
        carry = None
        for c in chunk_order:
            # rows stay compact (uint8 for counts) until a batch is handed out as float32
            block = np.asarray(self.raster[:, bounds[c] : bounds[c + 1]].compute())
            if self.encoding == "counts":
                if block.flags.writeable and block.dtype.kind == "u":
                    np.minimum(block, 1, out=block)  # binary in place: no second chunk in memory
                else:
                    block = as_binary(block)
            x = np.swapaxes(block, 0, 1)
            order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
            pos = 0
            if carry is not None:
                need = batch_size - len(carry)
                if len(x) < need:
                    carry = np.concatenate([carry, x[order]])
                    continue
                yield np.concatenate([carry, x[order[:need]]]).astype(np.float32)
                pos, carry = need, None
            while pos + batch_size <= len(x):
                yield x[order[pos : pos + batch_size]].astype(np.float32)
                pos += batch_size
            carry = x[order[pos:]] if pos < len(x) else None  # a copy: the chunk can go
            del block, x
        if carry is not None and len(carry):
            yield carry.astype(np.float32)

    # --- derived recordings --------------------------------------------------------------
    def rebin(self, bin_size: float, lazy: bool | None = None) -> "Recording":
        """The same recording at another bin size.

        From spike trains (no disk read) any bin size works; a raster without spike times
        can only merge an integer number of bins (and of bins per repeat).
        """
        bin_size = check_bin_size(bin_size, self.source or self.name)
        if self.spike_trains is not None:
            return self._from_spikes(bin_size, self.t_start, None, lazy)
        if self.bin_size is None or self.encoding not in ("binary", "counts"):
            raise ParameterError(f"{self.source or self.name}: no spike times and no bin size to re-bin from")
        if bin_size > self.n_bins * self.bin_size:
            raise ParameterError(
                f"{self.source or self.name}: bin size {bin_size} s is larger than the recording "
                f"({self.n_bins * self.bin_size:.6g} s)"
            )
        factor = bin_size / self.bin_size
        k = int(round(factor))
        if k < 1 or abs(factor - k) > 1e-6:
            raise ParameterError(
                f"{self.source or self.name}: a raster of {self.bin_size} s bins can only be "
                f"re-binned to whole multiples of {self.bin_size} s, not {bin_size} s"
            )
        per_rep = self.n_bins // (self.repeats or 1)
        if per_rep % k:
            raise ParameterError(f"{per_rep} bins per repeat are not a multiple of {k}")
        n_new = self.n_bins // k
        r = self.raster[:, : n_new * k].reshape(self.n_units, n_new, k).sum(axis=2)
        if not self.is_lazy:
            from ._binning import count_dtype

            r = r.astype(count_dtype(int(r.max(initial=0))))
        return replace(self, raster=r, bin_size=float(bin_size), encoding="counts")

    def _from_spikes(self, bin_size, t_start, t_stop, lazy) -> "Recording":
        st = self.spike_trains
        assert st is not None
        bin_size = check_bin_size(bin_size, self.source or self.name)
        if t_stop is None and self.t_stop is not None and self.bin_size is not None:
            t_stop = self.t_stop
        window = spike_window(st, bin_size, t_start, t_stop)
        if lazy is None:
            lazy = len(st) * window[2] > LAZY_CELLS
        binner = bin_spikes_lazy if lazy else bin_spikes
        raster = binner(st, bin_size, t_start, t_stop, window=window)
        return replace(self, raster=raster, bin_size=float(bin_size), t_start=float(t_start), encoding="counts",
                       spike_grid=window)

    def select(self, units=None, t_start: float | None = None, t_stop: float | None = None) -> "Recording":
        """A sub-recording: ``units`` are positions (ints) or a boolean mask; a time window in s.

        The window snaps outward to whole bins of this recording (bins, not seconds, when the
        bin size is unknown). Truth arrays with one row per unit are subset with the units.
        """
        rec = self
        if units is not None:
            idx = np.asarray(units)
            idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.int64)
            if idx.size == 0 or idx.min() < 0 or idx.max() >= self.n_units:
                raise ParameterError(f"unit selection out of range 0..{self.n_units - 1}")
            cols = {k: np.asarray(v)[idx] for k, v in self.units.items()}
            st = self.spike_trains.select(idx) if self.spike_trains is not None else None
            # truth arrays with one row per unit (e.g. Hopfield patterns (N, P)) follow the units
            truth = {
                k: (np.asarray(v)[idx] if np.ndim(v) >= 1 and np.shape(v)[0] == self.n_units else v)
                for k, v in self.truth.items()
            }
            rec = replace(rec, raster=rec.raster[idx], units=cols, spike_trains=st, truth=truth)
        if t_start is None and t_stop is None:
            return rec
        if rec.bin_size is None:
            lo = 0 if t_start is None else int(t_start)
            hi = rec.n_bins if t_stop is None else int(t_stop)
            new_t0 = float(lo)
        else:
            lo = 0 if t_start is None else int(np.floor((t_start - rec.t_start) / rec.bin_size + 1e-9))
            hi = rec.n_bins if t_stop is None else int(np.ceil((t_stop - rec.t_start) / rec.bin_size - 1e-9))
            new_t0 = rec.t_start + max(lo, 0) * rec.bin_size
        lo, hi = max(lo, 0), min(hi, rec.n_bins)
        if hi <= lo:
            raise ParameterError(f"empty time window [{t_start}, {t_stop}) for {rec.source or rec.name}")
        repeats = None
        if rec.repeats:
            per = rec.n_bins // rec.repeats
            if lo % per == 0 and hi % per == 0:
                repeats = (hi - lo) // per
        return replace(rec, raster=rec.raster[:, lo:hi], t_start=new_t0 if rec.bin_size else 0.0, repeats=repeats)

    # --- constructors ----------------------------------------------------------------------
    @classmethod
    def from_spike_trains(
        cls,
        trains: SpikeTrains,
        bin_size: float,
        t_start: float | None = None,
        t_stop: float | None = None,
        lazy: bool | None = None,
    ) -> "Recording":
        """Bin spike trains into a counts recording (lazy when the raster would be huge)."""
        first, last = trains.first_last()
        t0 = t_start if t_start is not None else (trains.t_start if trains.t_start is not None else min(0.0, first))
        proto = cls(
            raster=np.zeros((len(trains), 0), np.uint8),
            bin_size=None,
            t_start=float(t0),
            units=dict(trains.units),
            source=trains.source,
            encoding="counts",
            spike_trains=trains,
        )
        return proto._from_spikes(bin_size, float(t0), t_stop, lazy)

    @classmethod
    def from_sampleset(cls, s: Any, source: Path | None = None) -> "Recording":
        """From a :class:`napari_vaemf.core.configs.SampleSet` (configurations (T, N[, 3]))."""
        x = np.asarray(s.configurations)
        encoding = s.encoding
        if x.ndim not in (2, 3):
            raise InputError(source, f"configurations must be (T, N) or (T, N, 3), got {x.shape}")
        raster = np.ascontiguousarray(np.swapaxes(x, 0, 1))
        # a raster saved by the napari writer keeps its time base in params
        p = s.params
        bin_size = p.get("bin_size")
        ids = p.get("unit_ids")
        units = {"id": np.asarray(ids)} if isinstance(ids, list) and len(ids) == raster.shape[0] else {}
        repeats = p.get("repeats")
        if not (isinstance(repeats, int) and repeats > 0 and raster.shape[1] % repeats == 0):
            repeats = None
        return cls(
            raster=raster,
            bin_size=float(bin_size) if isinstance(bin_size, (int, float)) and bin_size > 0 else None,
            t_start=float(p["t_start"]) if isinstance(p.get("t_start"), (int, float)) else 0.0,
            units=units,
            repeats=repeats,
            source=source,
            encoding=encoding,
            model=s.model,
            params=dict(s.params),
            truth=dict(s.truth),
        )

    def to_json_meta(self) -> dict:
        """Json-able summary (what napari keeps in layer.metadata["vaemf"])."""
        return {
            "source": None if self.source is None else str(self.source),
            "bin_size": self.bin_size,
            "t_start": self.t_start,
            "unit_ids": jsonable(self.units["id"]),
            "units": {k: jsonable(v) for k, v in self.units.items()},
            "encoding": self.encoding,
            "repeats": self.repeats,
            "model": self.model,
            "params": self.params,
            "truth": {k: jsonable(v) for k, v in self.truth.items()},
        }
