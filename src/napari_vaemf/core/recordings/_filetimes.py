"""Spike times left in their HDF5 file: a flat float64 array read slice by slice on demand.

A Neuropixels session of 2,000 units over 4 h holds ~1.4e8 spikes, 1.1 GB as float64. The
NWB reader keeps such a ``Units.spike_times`` dataset in the file (:class:`FileTimes`) and
binning reads one unit's spikes at a time (``times[start:end]``), so memory stays at one
unit's train, however long the session.

:class:`FileTimes` behaves like the flat ``SpikeTrains.times`` array for what the binning
code asks of it: ``len``, ``size``, ``shape``, ``dtype``, slices (a contiguous read) and
integer index arrays (one small read each). ``np.asarray(times)`` reads everything (only an
error message's quantile does that). A view of some units (:meth:`FileTimes.take`) maps its
flat positions onto the file's segments. It pickles as (path, dataset, segments): a worker
process reopens the file read-only.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FileTimes"]

log = logging.getLogger(__name__)


class FileTimes:
    """The float64 dataset ``name`` of HDF5 file ``path`` as a read-only flat array.

    ``segments``: (S, 2) int64 [start, end) ranges of the dataset, concatenated in order
    (default: the whole dataset).
    """

    dtype = np.dtype(np.float64)
    ndim = 1

    def __init__(self, path: str | Path, name: str, segments: np.ndarray | None = None, size: int | None = None):
        self.path, self.name = Path(path), str(name)
        if segments is None:
            if size is None:
                with self._open() as f:
                    size = int(f[self.name].shape[0])
            segments = np.array([[0, size]], dtype=np.int64)
        self.segments = np.asarray(segments, dtype=np.int64).reshape(-1, 2)
        lengths = self.segments[:, 1] - self.segments[:, 0]
        self._vstart = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)  # flat position of each segment
        self._lock = threading.Lock()
        self._file: Any = None

    # --- the file ------------------------------------------------------------------------
    def _open(self):
        import h5py

        return h5py.File(self.path, "r")

    def _ds(self):
        if self._file is None:
            self._file = self._open()
        return self._file[self.name]

    def close(self) -> None:
        """Close the file handle (it reopens on the next read)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __getstate__(self) -> dict:
        return {"path": self.path, "name": self.name, "segments": self.segments}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], state["name"], state["segments"])

    # --- the array -------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return int(self._vstart[-1])

    @property
    def shape(self) -> tuple[int]:
        return (self.size,)

    @property
    def nbytes(self) -> int:
        return 8 * self.size  # in the file, not in memory

    def __len__(self) -> int:
        return self.size

    def _read(self, lo: int, hi: int) -> np.ndarray:
        """Flat positions [lo, hi) as float64 (reads only those bytes)."""
        if hi <= lo:
            return np.zeros(0, np.float64)
        first = int(np.searchsorted(self._vstart, lo, side="right")) - 1
        parts = []
        with self._lock:
            ds = self._ds()
            s = first
            while lo < hi:
                a = self.segments[s, 0]
                v0 = self._vstart[s]
                take = min(hi, self._vstart[s + 1]) - lo
                parts.append(ds[a + lo - v0 : a + lo - v0 + take])
                lo += take
                s += 1
        out = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return np.asarray(out, dtype=np.float64)

    def __getitem__(self, key) -> Any:
        if isinstance(key, slice):
            lo, hi, step = key.indices(self.size)
            out = self._read(lo, max(lo, hi))
            return out if step == 1 else out[::step]
        if isinstance(key, (int, np.integer)):
            i = int(key) + (self.size if key < 0 else 0)
            if not 0 <= i < self.size:
                raise IndexError(f"index {key} out of range for {self.size} spike times")
            return float(self._read(i, i + 1)[0])
        idx = np.asarray(key)
        if idx.dtype == bool or idx.dtype.kind not in "iu":
            raise TypeError("FileTimes takes slices and integer indices (spike times stay in the file)")
        flat = idx.ravel().astype(np.int64)
        flat = np.where(flat < 0, flat + self.size, flat)
        if flat.size and (flat.min() < 0 or flat.max() >= self.size):
            raise IndexError(f"index out of range for {self.size} spike times")
        out = np.array([self._read(int(i), int(i) + 1)[0] for i in flat], dtype=np.float64)
        return out.reshape(idx.shape)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        log.info("reading all %d spike times of %s into memory", self.size, self.path.name)
        out = self._read(0, self.size)
        return out if dtype is None else out.astype(dtype)

    def take(self, starts: np.ndarray, ends: np.ndarray) -> "FileTimes":
        """The flat ranges [starts[u], ends[u]) of this array, concatenated (a view: no read)."""
        segs = []
        for lo, hi in zip(np.asarray(starts, np.int64), np.asarray(ends, np.int64)):
            while lo < hi:  # a range may span several of this view's segments
                s = int(np.searchsorted(self._vstart, lo, side="right")) - 1
                take = min(hi, self._vstart[s + 1]) - lo
                a = self.segments[s, 0] + lo - self._vstart[s]
                segs.append((a, a + take))
                lo += take
        segments = np.array(segs, dtype=np.int64).reshape(-1, 2)
        if not len(segments):
            segments = np.zeros((1, 2), dtype=np.int64)
        return FileTimes(self.path, self.name, segments)
