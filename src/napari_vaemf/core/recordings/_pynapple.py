"""pynapple both ways: a ``TsGroup`` (or a ``TsGroup.save`` .npz) in, latents out as a ``TsdFrame``.

pynapple is an optional extra (``pip install 'napari-vaemf[pynapple]'``), imported only by
:func:`latents_to_pynapple`. Reading needs no pynapple: :func:`recording_from_tsgroup` uses
only a TsGroup's public attributes, and :func:`read_tsgroup_npz` reads the arrays a
``TsGroup.save`` .npz holds (``t``, ``index``, ``keys``, ``start``, ``end``) without
unpickling anything (its ``_metadata`` entry is a pickle and is not read).

The window is the group's time support, first start to last end. pynapple's default support
ends exactly at the last spike; a spike on the end is kept (the window then closes one bin
after it, as without a support), since [t_start, t_stop) would drop it. Bins in gaps between
the support's intervals count no spikes.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, ParameterError
from ._binning import SpikeTrains, check_bin_size
from ._recording import Recording

__all__ = ["recording_from_tsgroup", "latents_to_pynapple", "read_tsgroup_npz", "is_tsgroup_npz",
           "trains_from_tsgroup"]

log = logging.getLogger(__name__)

_NPZ_KEYS = ("t", "index", "start", "end")  # what pynapple itself requires of a saved TsGroup


def _pynapple():
    try:
        import pynapple
    except ImportError as err:
        raise ImportError(
            "pynapple is not installed; install the extra: pip install 'napari-vaemf[pynapple]'"
        ) from err
    return pynapple


def _window(times: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[float | None, float | None]:
    """(t_start, t_stop) of a time support; t_stop None when a spike sits on or after its end."""
    if len(start) == 0:
        return None, None
    if len(start) > 1:
        log.info("time support of %d intervals: bins in the gaps count no spikes", len(start))
    t0, t1 = float(np.min(start)), float(np.max(end))
    if times.size and float(times.max()) >= t1:
        return t0, None
    return t0, t1


def _trains(times, ends, units, source, start, end) -> SpikeTrains:
    t0, t1 = _window(times, np.asarray(start, float).ravel(), np.asarray(end, float).ravel())
    st = SpikeTrains(times=times, ends=ends, units=units, source=source, t_start=t0, t_stop=t1)
    st.validate()
    return st


def trains_from_tsgroup(tsgroup: Any, source: Path | None = None) -> SpikeTrains:
    """:class:`SpikeTrains` of a pynapple ``TsGroup``: unit ids are its keys, its metadata
    columns (all but the derived ``rate``) the unit table, its time support the window."""
    if not all(hasattr(tsgroup, a) for a in ("keys", "time_support", "metadata")):
        raise ParameterError(f"expected a pynapple TsGroup, got {type(tsgroup).__name__}")
    keys = list(tsgroup.keys())
    arrays = [np.asarray(tsgroup[k].t, dtype=np.float64) for k in keys]
    ends = np.cumsum([a.size for a in arrays], dtype=np.int64)
    times = np.concatenate(arrays) if arrays else np.zeros(0)
    units: dict[str, np.ndarray] = {"id": np.asarray(keys)}
    meta = tsgroup.metadata
    for column in meta.columns:
        if column not in ("rate", "id"):
            values = meta[column].to_numpy()
            units[str(column)] = values.astype(object) if values.dtype.kind in "OSUT" else values
    support = tsgroup.time_support
    return _trains(times, ends, units, source, support.start, support.end)


def recording_from_tsgroup(
    tsgroup: Any,
    bin_size: float = 0.02,
    t_start: float | None = None,
    t_stop: float | None = None,
    lazy: bool | None = None,
    source: Path | None = None,
) -> Recording:
    """A counts :class:`Recording` of a pynapple ``TsGroup`` binned at ``bin_size`` seconds
    (see :func:`trains_from_tsgroup`; ``t_start``/``t_stop`` override the time support)."""
    trains = trains_from_tsgroup(tsgroup, source)
    return Recording.from_spike_trains(trains, bin_size, t_start=t_start, t_stop=t_stop, lazy=lazy)


def is_tsgroup_npz(names) -> bool:
    """Do these .npz member names (with or without ``.npy``) look like ``TsGroup.save``?"""
    names = {n[:-4] if n.endswith(".npy") else n for n in names}
    return set(_NPZ_KEYS) <= names


def read_tsgroup_npz(arrays: dict, path: Path) -> SpikeTrains:
    """:class:`SpikeTrains` of the arrays of a ``TsGroup.save`` .npz (read without pickles)."""
    kind = str(np.asarray(arrays["type"]).ravel()[0]) if "type" in arrays else "TsGroup"
    if kind != "TsGroup":
        raise InputError(path, f"a pynapple {kind} file, not a TsGroup of spike times")
    t = np.asarray(arrays["t"], dtype=np.float64).ravel()
    index = np.asarray(arrays["index"]).ravel()
    if index.shape != t.shape:
        raise InputError(path, f"'index' has {index.size} entries but 't' has {t.size}")
    keys = np.asarray(arrays["keys"]).ravel() if "keys" in arrays else np.unique(index)
    if not np.isin(index, keys).all():
        raise InputError(path, "'index' names units that are not in 'keys'")
    if t.size == 0:
        raise InputError(path, "the TsGroup has zero spikes")
    ids = np.sort(keys)
    unit = np.searchsorted(ids, index)  # position of each spike's unit
    times = t[np.argsort(unit, kind="stable")]  # unit after unit, in time order within a unit
    ends = np.cumsum(np.bincount(unit, minlength=len(ids)), dtype=np.int64)
    return _trains(times, ends, {"id": ids}, path, arrays["start"], arrays["end"])


def latents_to_pynapple(latents, bin_size: float, t_start: float = 0.0, columns=None):
    """Latents (T, K), one row per bin, as a pynapple ``TsdFrame`` at the bin centres
    ``t_start + (i + 0.5) * bin_size`` with the bins' span as its time support."""
    nap = _pynapple()
    z = np.asarray(latents)
    if z.ndim != 2:
        raise ParameterError(f"latents must be (time bins, latents), got shape {z.shape}")
    bin_size = check_bin_size(bin_size, "latents")
    t = float(t_start) + (np.arange(z.shape[0]) + 0.5) * bin_size
    support = nap.IntervalSet(start=float(t_start), end=float(t_start) + z.shape[0] * bin_size)
    return nap.TsdFrame(t=t, d=z, columns=columns, time_support=support)
