"""Behavioural time series from NWB or from a table file, resampled onto a recording's bins.

Sources:

- an NWB path (``processing/behavior/Position``, ``processing/behavior`` or one series):
  every ``TimeSeries``/``SpatialSeries`` at or below it (Position, CompassDirection,
  BehavioralTimeSeries, PupilTracking, EyeTracking, ...), matched case-insensitively; the
  time base is ``timestamps`` or ``starting_time`` + ``rate``;
- a ``.csv``/``.tsv``/``.txt`` file (an optional header line; first column the time in s)
  or a ``.npy`` array (S, 1 + V), first column the time.

A series of shape (S, d) gives d variables (``position[0]``, ``position[1]``: a 2-D
position is two variables). Angles are the variables of a ``CompassDirection`` or of a
series whose unit is radians or degrees (degrees are converted), or those named by
``angles``. Timestamps must not decrease.

:func:`resample` puts every variable on the recording's bins: the mean of the samples in a
bin (the circular mean for angles), linear interpolation at the bin centre for a bin
without samples (of cos and sin for angles), and NaN outside the span the series covers.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError, ParameterError

__all__ = ["Series", "Resampled", "load_behavior", "resample", "FILE_SUFFIXES"]

log = logging.getLogger(__name__)

FILE_SUFFIXES = (".csv", ".tsv", ".txt", ".npy")
_RADIANS = {"radian", "radians", "rad"}
_DEGREES = {"degree", "degrees", "deg"}


@dataclass
class Series:
    """One behavioural series: S samples of V variables on its own clock."""

    name: str  # where it came from, e.g. "processing/behavior/Position/position"
    times: np.ndarray  # (S,) s, not decreasing
    values: np.ndarray  # (S, V) float64 (angles in radians)
    columns: list[str]  # V variable names
    circular: list[bool]  # V flags: the variable is an angle


@dataclass
class Resampled:
    """Behaviour on a recording's bins: (bins, V) values, NaN where it is not known."""

    values: np.ndarray  # (T, V) float64
    columns: list[str]  # V variable names
    circular: np.ndarray  # (V,) bool
    source: str = ""  # what was read
    warnings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> np.ndarray:
        """(T,) bins where every variable is known."""
        return np.all(np.isfinite(self.values), axis=1)

    @property
    def kind(self) -> str:
        """"linear", "circular" or "mixed"."""
        if self.circular.all():
            return "circular"
        return "linear" if not self.circular.any() else "mixed"


def _text(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.size == 1:
        return _text(v.item())
    return str(v)


def _check_times(times: np.ndarray, where: str, path) -> None:
    if times.ndim != 1 or not np.all(np.isfinite(times)):
        raise InputError(path, f"{where}: timestamps must be finite numbers (s)")
    bad = np.flatnonzero(np.diff(times) < 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise InputError(path, f"{where}: timestamps are not monotonic: sample {i} (t={times[i]:.6g} s) "
                               f"comes after t={times[i - 1]:.6g} s")


def _wanted_angles(angles: str, columns: list[str], series_name: str) -> list[bool] | None:
    """Flags from the ``angles`` option, or None for "auto"."""
    a = (angles or "auto").strip()
    if a.lower() == "auto":
        return None
    if a.lower() == "all":
        return [True] * len(columns)
    if a.lower() == "none":
        return [False] * len(columns)
    names = {n.strip() for n in a.split(",") if n.strip()}
    return [c in names or series_name in names for c in columns]


def load_behavior(source: str | Path, recording: Path | None = None, angles: str = "auto") -> list[Series]:
    """The series of ``source``: a table file, or a path inside the NWB file ``recording``."""
    text = str(source)
    path = Path(text)
    if path.suffix.lower() in FILE_SUFFIXES or path.is_file():
        if not path.is_file():
            raise InputError(path, "--behavior: file not found")
        out = [_read_file(path)]
    else:
        if recording is None or Path(recording).suffix.lower() != ".nwb":
            raise InputError(recording, f"--behavior {text!r} is neither a file nor a path inside "
                                        "an NWB recording (the run's recording is not NWB)")
        out = _read_nwb(Path(recording), text)
    for s in out:
        flags = _wanted_angles(angles, s.columns, s.name)
        if flags is not None:
            s.circular = flags
    names = {c for s in out for c in s.columns}
    if angles and angles.strip().lower() not in ("auto", "all", "none"):
        unknown = {n.strip() for n in angles.split(",")} - names - {s.name for s in out}
        if unknown:
            raise ParameterError(f"--angles: no behaviour variable {sorted(unknown)[0]!r} "
                                 f"(variables: {', '.join(sorted(names))})")
    return out


def _read_file(path: Path) -> Series:
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise InputError(path, f"cannot read this .npy file: {err}") from err
        if arr.ndim != 2 or arr.shape[1] < 2 or arr.dtype.kind not in "fiu":
            raise InputError(path, f"expected a numeric (samples, 1 + variables) array with the "
                                   f"time in the first column, got {arr.dtype} {arr.shape}")
        header = [f"v{j}" for j in range(arr.shape[1] - 1)]
        data = arr.astype(np.float64)
    else:
        data, header = _read_text(path)
    times = data[:, 0]
    _check_times(times, "first column", path)
    return Series(name=path.name, times=times, values=data[:, 1:], columns=header,
                  circular=[False] * len(header))


def _read_text(path: Path) -> tuple[np.ndarray, list[str]]:
    try:
        lines = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"cannot read this text file: {err}") from err
    if not lines:
        raise InputError(path, "the file is empty")
    sep = "," if "," in lines[0] else ("\t" if "\t" in lines[0] else None)
    first = [c.strip() for c in lines[0].split(sep)]
    try:
        [float(c) for c in first]
        header, rows = None, lines
    except ValueError:
        header, rows = first, lines[1:]
    try:
        data = np.array([[float(c) if c.strip() else np.nan for c in ln.split(sep)] for ln in rows])
    except ValueError as err:
        raise InputError(path, f"a row is not numbers: {err}") from err
    if data.ndim != 2 or data.shape[0] < 2 or data.shape[1] < 2:
        raise InputError(path, "expected rows of a time (s) and at least one variable")
    if header is None or len(header) != data.shape[1]:
        header = ["time"] + [f"v{j}" for j in range(data.shape[1] - 1)]
    return data, header[1:]


def _series_groups(g, depth: int = 0) -> list:
    """The TimeSeries-like groups at or below h5py group ``g`` (data + a time base)."""
    import h5py

    if "data" in g and isinstance(g["data"], h5py.Dataset) and ("timestamps" in g or "starting_time" in g):
        return [g]
    out = []
    if depth < 3:
        for key in g:
            obj = g.get(key)
            if isinstance(obj, h5py.Group):
                out += _series_groups(obj, depth + 1)
    return out


def _resolve(f, text: str, path: Path):
    """The h5py object at ``text``, each part matched case-insensitively."""
    g = f
    for part in [p for p in text.strip("/").split("/") if p]:
        keys = {k.lower(): k for k in g.keys()} if hasattr(g, "keys") else {}
        key = part if part in g else keys.get(part.lower())
        if key is None:
            there = _behaviour_paths(f)
            raise InputError(path, f"--behavior {text!r}: no such object in the NWB file "
                                   f"(behavioural series there: {', '.join(there) or 'none'})")
        g = g[key]
    return g


def _behaviour_paths(f) -> list[str]:
    out = []
    if "processing" in f:
        for mod in f["processing"].values():
            if hasattr(mod, "keys"):
                out += [s.name.strip("/") for s in _series_groups(mod) if "Units" not in s.name]
    return out[:12]


def _read_nwb(path: Path, text: str) -> list[Series]:
    import h5py

    from ..recordings._nwb import check_nwb2, open_hdf5

    with open_hdf5(path) as f:
        check_nwb2(f, path)
        obj = _resolve(f, text, path)
        if not isinstance(obj, h5py.Group):
            raise InputError(path, f"--behavior {text!r} is a dataset; name its series or container")
        groups = _series_groups(obj)
        if not groups:
            raise InputError(path, f"--behavior {text!r}: no time series there (behavioural series: "
                                   f"{', '.join(_behaviour_paths(f)) or 'none'})")
        try:
            return [_read_series(g, path) for g in groups]
        except (OSError, KeyError, RuntimeError) as err:
            raise InputError(path, f"cannot read {text} (damaged file?): {err}") from err


def _read_series(g, path: Path) -> Series:
    name = g.name.strip("/")
    data = np.asarray(g["data"][()], dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise InputError(path, f"{name}: data of shape {data.shape} is not (samples, variables)")
    n = len(data)
    if "timestamps" in g:
        times = np.asarray(g["timestamps"][()], dtype=np.float64)
    else:
        st = g["starting_time"]
        rate = float(st.attrs.get("rate", 0) or 0)
        if rate <= 0:
            raise InputError(path, f"{name}: starting_time without a positive rate")
        times = float(st[()]) + np.arange(n) / rate
    if len(times) != n:
        raise InputError(path, f"{name}: {len(times)} timestamps for {n} samples")
    _check_times(times, name, path)
    unit = _text(g["data"].attrs.get("unit", "")).strip().lower()
    conversion = float(g["data"].attrs.get("conversion", 1.0) or 1.0)
    ancestors, p = [], g
    while p.name != "/":
        ancestors.append(_text(p.attrs.get("neurodata_type", "")))
        p = p.parent
    angle = "CompassDirection" in ancestors or unit in _RADIANS | _DEGREES
    if unit in _DEGREES:
        data = np.deg2rad(data * conversion)
    elif not angle:
        data = data * conversion
    short = name.rsplit("/", 1)[-1]
    cols = [short] if data.shape[1] == 1 else [f"{short}[{j}]" for j in range(data.shape[1])]
    return Series(name=name, times=times, values=data, columns=cols, circular=[angle] * len(cols))


def resample(series: list[Series], t_start: float, bin_size: float, n_bins: int) -> Resampled:
    """Every variable of ``series`` on ``n_bins`` bins of ``bin_size`` s from ``t_start``."""
    if bin_size is None or bin_size <= 0:
        raise ParameterError("resampling behaviour needs the recording's bin size")
    centres = t_start + (np.arange(n_bins) + 0.5) * bin_size
    cols, circ, out = [], [], []
    for s in series:
        idx = np.floor((s.times - t_start) / bin_size).astype(np.int64)
        inside = (idx >= 0) & (idx < n_bins)
        span = (centres >= s.times[0] - 0.5 * bin_size) & (centres <= s.times[-1] + 0.5 * bin_size)
        for j, (name, angle) in enumerate(zip(s.columns, s.circular)):
            v = s.values[:, j]
            ok = inside & np.isfinite(v)
            parts = [np.cos(v), np.sin(v)] if angle else [v]
            got = []
            for p in parts:
                count = np.bincount(idx[ok], minlength=n_bins)
                total = np.bincount(idx[ok], weights=p[ok], minlength=n_bins)
                fine = np.isfinite(v)
                filled = np.interp(centres, s.times[fine], p[fine]) if fine.any() else np.full(n_bins, np.nan)
                col = np.where(count > 0, total / np.maximum(count, 1), filled)
                got.append(np.where(span, col, np.nan))
            out.append(np.arctan2(got[1], got[0]) if angle else got[0])
            cols.append(name)
            circ.append(bool(angle))
    values = np.column_stack(out) if out else np.zeros((n_bins, 0))
    res = Resampled(values=values, columns=cols, circular=np.array(circ, bool),
                    source=", ".join(s.name for s in series))
    if not res.valid.any():
        raise InputError(res.source, "the behaviour covers none of the recording's bins "
                                     f"({t_start:g} to {t_start + n_bins * bin_size:g} s)")
    return res
