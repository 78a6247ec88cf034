"""Read ``Units`` spike times from NWB 2 files, read-only, with one bulk read through h5py.

``Units.spike_times`` is a ragged array: one flat dataset plus ``spike_times_index`` (the end
offset of each unit). We read both whole and keep them flat (:class:`SpikeTrains`), never
going through pynwb's per-row accessors, so a file with millions of spikes opens in about
the time it takes to read the bytes; a table of more than :data:`IN_FILE_SPIKES` spikes
(and no ``obs_intervals``) keeps its times in the file (:class:`FileTimes`, read one unit at
a time), so a long Neuropixels session never holds its spike times in memory. No electrodes table is needed; when a unit column
refers to one (``electrodes``) its ``location`` is copied into the unit table.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..limits import check_dataset
from ._binning import SpikeTrains
from ._filetimes import FileTimes

__all__ = ["read_nwb_units", "open_hdf5"]

log = logging.getLogger(__name__)

# Units tables with more spikes than this keep them in the file (FileTimes: 256 MB as float64)
IN_FILE_SPIKES = 1 << 25
# datasets of a Units table that are not per-unit metadata columns
_SKIP = {"id", "spike_times", "spike_times_index", "obs_intervals", "obs_intervals_index"}


def open_hdf5(path: Path):
    """Open an HDF5 file read-only; InputError (naming the file) when it is not readable."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise InputError(path, f"not a readable HDF5 file (truncated or corrupt?): {err}") from err


def _attr_str(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.size == 1:
        return _attr_str(v.item())
    return str(v)


def check_nwb2(f, path: Path) -> str:
    """Return the NWB version, or raise InputError for NWB 1.x and non-NWB HDF5 files."""
    version = f.attrs.get("nwb_version")
    if version is None:
        legacy = f.get("nwb_version")
        if legacy is not None and hasattr(legacy, "shape"):
            v = _attr_str(legacy[()])
            raise InputError(
                path,
                f"this is an NWB 1.x file ({v}); only NWB 2.x is supported. Convert it to NWB 2 "
                "(e.g. with the Allen SDK or NWB conversion tools) and open the result.",
            )
        raise InputError(path, "not an NWB 2 file (the HDF5 root has no 'nwb_version' attribute)")
    version = _attr_str(version)
    if version.lstrip("NWB-").startswith("1"):
        raise InputError(path, f"this is an NWB 1.x file ({version}); only NWB 2.x is supported")
    return version


def find_units(f, path: Path, units_path: str | None = None) -> str:
    """HDF5 path of the Units table: /units, else the first one inside /processing/*."""
    import h5py

    def is_units(obj) -> bool:
        return isinstance(obj, h5py.Group) and _attr_str(obj.attrs.get("neurodata_type", "")) == "Units"

    if units_path is not None:
        if units_path not in f or not is_units(f[units_path]):
            raise InputError(path, f"no Units table at {units_path!r}")
        return units_path
    if "units" in f and is_units(f["units"]):
        return "/units"
    found = []
    if "processing" in f:
        for mod_name, mod in f["processing"].items():
            if isinstance(mod, h5py.Group):
                found += [f"/processing/{mod_name}/{k}" for k, v in mod.items() if is_units(v)]
    if not found:
        raise InputError(path, "NWB file has no Units table (looked at /units and /processing/*)")
    if len(found) > 1:
        log.warning("%s: several Units tables %s; using %s (choose with units_path=)", path, found, found[0])
    return found[0]


def _column(f, ds, n: int, electrodes_cache: dict) -> dict[str, np.ndarray]:
    """One per-unit column as {name: (n,) array}; empty dict when it is not per-unit."""
    import h5py

    name = ds.name.rsplit("/", 1)[-1]
    if not isinstance(ds, h5py.Dataset) or ds.shape[:1] != (n,):
        return {}
    check_dataset(ds, f.filename, f"the unit column {ds.name}")
    data = ds[()]
    if data.dtype.kind == "O" and data.size and isinstance(data.flat[0], h5py.Reference):
        data = np.array([f[r].name.rsplit("/", 1)[-1] if r else "" for r in data.flat], dtype=object)
    elif data.dtype.kind in "OSa":
        data = np.array([_attr_str(x) for x in data.flat], dtype=object)
    if data.ndim != 1 or data.dtype.kind == "V":
        return {}
    out = {name: data}
    ref = ds.attrs.get("table")
    if _attr_str(ds.attrs.get("neurodata_type", "")) == "DynamicTableRegion" and ref is not None:
        try:
            table = f[ref]
        except (KeyError, ValueError):
            return out
        if "location" in table and "location" not in electrodes_cache:
            loc = table["location"][()]
            electrodes_cache["location"] = np.array([_attr_str(x) for x in loc], dtype=object)
        if "location" in electrodes_cache and data.dtype.kind in "iu" and data.size:
            loc = electrodes_cache["location"]
            if data.max() < len(loc) and data.min() >= 0:
                out["location"] = loc[data]
    return out


def _numeric(ds, path: Path, name: str, kinds: str, dtype, ndim: int = 1, read: bool = True) -> np.ndarray | None:
    """A numeric dataset read whole, after checking its type, rank and declared size
    (``read=False``: the checks only, None)."""
    import h5py

    if not isinstance(ds, h5py.Dataset):
        raise InputError(path, f"{name} is not a dataset")
    kind = ds.dtype.kind
    allowed = kinds + ("iu" if "f" in kinds else "")  # integer spike times are fine too
    if kind not in allowed:
        what = {"S": "strings", "U": "strings", "O": "strings or objects", "V": "compound records"}
        raise InputError(path, f"{name} holds {what.get(kind, ds.dtype)} ({ds.dtype}), not "
                               f"{'numbers (seconds)' if 'f' in kinds else 'integers'}")
    if ds.ndim != ndim:
        raise InputError(path, f"{name} has shape {ds.shape}, expected {ndim} dimension{'s' * (ndim > 1)}")
    check_dataset(ds, path, name)
    if not read:
        return None
    data = ds[()]
    return np.asarray(data, dtype=dtype) if dtype is not None else np.asarray(data)


def read_nwb_units(path, units_path: str | None = None) -> SpikeTrains:
    """Spike trains and the unit table of an NWB 2 file's Units table (opened read-only).

    Returns a :class:`SpikeTrains` whose ``units`` dict holds ``id`` plus every per-unit
    column (``location``, ``quality``, ``electrode_group`` names, ...). When the table has
    ``obs_intervals``, spikes outside a unit's observed intervals are dropped, the window is
    the span of all intervals, and each unit's intervals are kept in ``units["obs_intervals"]``.
    """
    path = Path(path)
    try:
        return _read_units(path, units_path)
    except (OSError, KeyError, RuntimeError) as err:  # h5py read errors of a damaged file
        raise InputError(path, f"cannot read the Units table (damaged file?): {err}") from err


def _read_units(path: Path, units_path: str | None) -> SpikeTrains:
    import h5py

    with open_hdf5(path) as f:
        check_nwb2(f, path)
        upath = find_units(f, path, units_path)
        g = f[upath]
        if "spike_times" not in g or "spike_times_index" not in g:
            raise InputError(path, f"the Units table {upath} has no spike_times")
        has_obs = "obs_intervals" in g and "obs_intervals_index" in g
        # a long session's spike times stay in the file (read per unit); else one bulk read
        in_file = (not has_obs and isinstance(g["spike_times"], h5py.Dataset)
                   and g["spike_times"].ndim == 1 and g["spike_times"].shape[0] > IN_FILE_SPIKES)
        times = _numeric(g["spike_times"], path, f"{upath}/spike_times", "f", np.float64, read=not in_file)
        if in_file:
            times = FileTimes(path, g["spike_times"].name, size=g["spike_times"].shape[0])
        ends = _numeric(g["spike_times_index"], path, f"{upath}/spike_times_index", "iu", np.int64)
        n = len(ends)
        ids = _numeric(g["id"], path, f"{upath}/id", "iu", None) if "id" in g else np.arange(n)
        if len(ids) != n:
            raise InputError(path, f"Units table has {len(ids)} ids but {n} spike-train index entries")
        if n == 0 or times.size == 0:
            raise InputError(path, "the Units table has zero spikes")
        units: dict[str, np.ndarray] = {"id": ids}
        cache: dict = {}
        for key in g:
            if key in _SKIP or key.endswith("_index") or f"{key}_index" in g:
                continue
            for k, v in _column(f, g[key], n, cache).items():
                units.setdefault(k, v)
        obs = None
        if has_obs:
            iv = _numeric(g["obs_intervals"], path, f"{upath}/obs_intervals", "f", np.float64, ndim=2)
            iv = iv.reshape(-1, 2)
            iv_end = _numeric(g["obs_intervals_index"], path, f"{upath}/obs_intervals_index", "iu", np.int64)
            obs = [iv[a:b] for a, b in zip(np.concatenate([[0], iv_end[:-1]]), iv_end)]
    st = SpikeTrains(times=times, ends=ends, units=units, source=path)
    st.validate()
    if obs is not None and any(len(o) for o in obs):
        st = _apply_obs_intervals(st, obs)
    log.info("%s: %d units, %d spikes from %s%s", path.name, n, st.times.size, upath,
             " (left in the file, read per unit)" if st.in_file else "")
    return st


def _apply_obs_intervals(st: SpikeTrains, obs: list[np.ndarray]) -> SpikeTrains:
    keep = np.ones(st.times.size, dtype=bool)
    for u, (a, b) in enumerate(zip(st.starts, st.ends)):
        iv = obs[u]
        if len(iv) == 0:
            continue
        seg = st.times[a:b]
        inside = np.zeros(seg.size, dtype=bool)
        for lo, hi in iv:
            inside |= (seg >= lo) & (seg < hi)
        keep[a:b] = inside
    dropped = int((~keep).sum())
    if dropped:
        log.warning("%s: dropped %d spikes outside the units' obs_intervals", st.source, dropped)
    unit_of = np.repeat(np.arange(len(st)), st.counts())
    ends = np.cumsum(np.bincount(unit_of[keep], minlength=len(st)), dtype=np.int64)
    all_iv = np.concatenate([o for o in obs if len(o)])
    units = dict(st.units)
    units["obs_intervals"] = np.array([o.tolist() for o in obs] + [None], dtype=object)[:-1]
    return SpikeTrains(
        times=st.times[keep], ends=ends, units=units, source=st.source,
        t_start=float(all_iv[:, 0].min()), t_stop=float(all_iv[:, 1].max()),
    )
