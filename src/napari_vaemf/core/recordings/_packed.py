"""Binary samples one bit per cell: how a recording too large to hold densely is fitted.

A 2,000-unit × 4 h session at 10 ms is 1.44e6 bins × 2,000 units: 11.5 GB as the float32 a
fit trains on, 2.9 GB as int8, 360 MB as bits. :class:`PackedRaster` holds the (T, N) {0, 1}
samples as ``np.packbits`` rows (T, ceil(N / 8)) and hands out dense int8 rows on indexing, so
a fit draws each batch from anywhere in the recording (random rows, all of it every epoch)
and evaluates, encodes and hashes it chunk by chunk, never holding more than a chunk densely.

:func:`pack_recording` builds one from a :class:`~napari_vaemf.core.recordings.Recording`:
from its spike trains one unit at a time (one read of that unit's spikes, also when they stay
in the NWB file, :class:`~napari_vaemf.core.recordings._filetimes.FileTimes`) on the very
bins of its raster, or from any lazy raster one time chunk at a time.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..limits import check_alloc
from ._binning import unit_bins

__all__ = ["PackedRaster", "pack_recording", "PACK_CHUNK_BINS", "chunk_rows"]

log = logging.getLogger(__name__)

CHUNK_BYTES = 16 << 20  # dense int8 block size of PackedRaster.chunks and chunked model samples


def chunk_rows(n_units: int) -> int:
    """Rows of a ~16 MiB dense int8 block of ``n_units`` columns (at least 256)."""
    return max(256, CHUNK_BYTES // max(1, n_units))


PACK_CHUNK_BINS = 16384  # bins of a lazy raster packed at once (all units): ~32 MB at 2,000 units


class PackedRaster:
    """(T, N) binary samples stored as bits; indexing rows returns dense int8 {0, 1}.

    ``bits``: (T, ceil(N / 8)) uint8 in ``np.packbits`` order (unit u is bit 7 - u % 8 of
    byte u // 8). Supports ``len``, ``shape``, ``dtype`` (int8: what it hands out), row
    indexing by int, slice or integer array (a tuple indexes the dense rows further),
    ``take`` (rows kept packed), ``chunks`` (dense blocks in order) and ``np.asarray``
    (dense, checked against the memory budget).
    """

    dtype = np.dtype(np.int8)
    ndim = 2

    def __init__(self, bits: np.ndarray, n_units: int):
        bits = np.asarray(bits)
        if bits.dtype != np.uint8 or bits.ndim != 2 or bits.shape[1] != (n_units + 7) // 8:
            raise ParameterError(f"packed rows must be (T, {(n_units + 7) // 8}) uint8 for {n_units} units, "
                                 f"got {bits.shape} {bits.dtype}")
        self.bits, self.n_units = bits, int(n_units)

    @classmethod
    def from_dense(cls, x: Any) -> "PackedRaster":
        """Pack (T, N) {0, 1} samples (anything > 0 counts as 1)."""
        x = np.asarray(x)
        if x.ndim != 2:
            raise ParameterError(f"samples to pack must be (T, N), got {x.shape}")
        return cls(np.packbits(x > 0, axis=1), x.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.bits.shape[0]), self.n_units)

    @property
    def nbytes(self) -> int:
        return int(self.bits.nbytes)

    def __len__(self) -> int:
        return int(self.bits.shape[0])

    def _unpack(self, rows: np.ndarray) -> np.ndarray:
        return np.unpackbits(rows, axis=-1, count=self.n_units).view(np.int8)

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, tuple):
            return self[key[0]][(slice(None), *key[1:])] if not np.isscalar(key[0]) else self[key[0]][key[1:]]
        if isinstance(key, (int, np.integer)):
            return self._unpack(self.bits[int(key)])
        if isinstance(key, slice):
            return self._unpack(self.bits[key])
        idx = np.asarray(key)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return self._unpack(self.bits[idx])

    def take(self, rows) -> "PackedRaster":
        """The rows ``rows`` (integer array or boolean mask) as a PackedRaster of their own
        (a copy of their bits: 1/8 of their int8 size)."""
        idx = np.asarray(rows)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return PackedRaster(self.bits[idx], self.n_units)

    def chunks(self, rows: int | None = None):
        """The rows in order, as dense int8 blocks of ``rows`` rows (default: ~16 MiB each)."""
        rows = rows or chunk_rows(self.n_units)
        for a in range(0, len(self), rows):
            yield self[a : a + rows]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        check_alloc(len(self) * self.n_units, f"the {len(self):,} samples of {self.n_units} units as int8",
                    hint="this step needs the samples dense: fit a shorter window (--t-start/--t-stop)")
        out = self._unpack(self.bits)
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        return f"PackedRaster({len(self):,} x {self.n_units} bits, {self.nbytes / 2**20:.1f} MiB)"


def pack_recording(rec, chunk_bins: int = PACK_CHUNK_BINS) -> PackedRaster:
    """The recording's samples for fitting (count > 0 -> 1) as a :class:`PackedRaster`.

    Spike-binned recordings are packed unit by unit from their spike trains on the raster's
    own bins (bit-identical to ``rec.samples()``); other binary/count rasters chunk by chunk.
    """
    if rec.encoding not in ("binary", "counts"):
        raise ParameterError(f"only binary or count recordings can be packed, not {rec.encoding}")
    t, n = rec.n_bins, rec.n_units
    bits = np.zeros((t, (n + 7) // 8), dtype=np.uint8)
    st, grid = rec.spike_trains, rec.spike_grid
    if st is not None and grid is not None and rec.bin_size is not None:
        t0, t1, n_grid = grid
        lo = int(round((rec.t_start - t0) / rec.bin_size))  # bin 0 of the raster on the grid
        starts, ends = st.starts, st.ends
        for u in range(n):
            idx = unit_bins(st.times[starts[u] : ends[u]], t0, t1, rec.bin_size, n_grid)
            i0, i1 = np.searchsorted(idx, (lo, lo + t))
            bits[idx[i0:i1] - lo, u >> 3] |= np.uint8(0x80 >> (u & 7))
        log.info("packed %d units x %d bins from spike trains (%.1f MiB)", n, t, bits.nbytes / 2**20)
        return PackedRaster(bits, n)
    raster = rec.raster
    if hasattr(raster, "chunks"):  # a dask raster: each of its chunks computed once
        edges = np.cumsum((0,) + tuple(raster.chunks[1]))
    else:
        edges = np.array(list(range(0, t, chunk_bins)) + [t])
    for a, b in zip(edges[:-1], edges[1:]):
        block = raster[:, a:b]
        block = np.asarray(block.compute() if hasattr(block, "compute") else block)
        for c in range(0, b - a, chunk_bins):  # transpose a slice at a time: little extra memory
            part = np.ascontiguousarray((block[:, c : c + chunk_bins] > 0).T)
            bits[a + c : a + c + len(part)] = np.packbits(part, axis=1)
        del block
    log.info("packed %d units x %d bins chunk by chunk (%.1f MiB)", n, t, bits.nbytes / 2**20)
    return PackedRaster(bits, n)
