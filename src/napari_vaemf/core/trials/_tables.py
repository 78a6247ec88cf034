"""Interval tables and event series of an NWB file, read with h5py (no pynwb, read-only).

What counts as a table of trials or events:

- every ``TimeIntervals`` table (``/intervals/trials``, ``/intervals/epochs``,
  ``/intervals/<any>`` and those inside processing modules);
- every other dynamic table with a ``start_time`` or ``timestamp`` column (ndx-events'
  ``EventsTable`` and ``TtlsTable``);
- every event series: ``AnnotationSeries``, ``IntervalSeries``, ndx-events' ``Events``,
  ``LabeledEvents`` and ``TTLs``, and plain ``TimeSeries`` in ``/acquisition`` or
  ``/stimulus`` whose data are one code per timestamp (integers or strings), such as TTL
  markers. A series is a table with the columns ``timestamps`` and ``data``.

Columns are the table's 1-D datasets; ragged columns (with an ``_index``) and references
are left out. Each column keeps its ``description`` attribute, which is how files state
what their codes mean (shown beside the groups, never used to relabel them).
:func:`find_tables` lists the tables without reading any column; :func:`read_table` reads
one table's columns.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError, ParameterError

__all__ = ["EventTable", "find_tables", "read_table", "MAX_GROUPS"]

log = logging.getLogger(__name__)

MAX_GROUPS = 24  # a grouping column has at most this many distinct values
_ROOTS = ("intervals", "acquisition", "stimulus", "processing", "events")
_SERIES = {"AnnotationSeries", "IntervalSeries", "Events", "LabeledEvents", "TTLs"}
_NOT_TABLES = {"Units", "ElectrodesTable", "DynamicTableRegion", "PlaneSegmentation"}
_MAX_DEPTH = 3  # /processing/<module>/<container>/<table>


def _text(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        return ", ".join(_text(x) for x in v.flat)
    return str(v)


@dataclass
class EventTable:
    """One table of trials or events: columns of equal length, with their descriptions."""

    name: str  # short name (the table's own name unless two tables share it)
    path: str  # HDF5 path inside the file, e.g. "/intervals/encoding_table"
    kind: str  # neurodata type: "TimeIntervals", "TimeSeries", "AnnotationSeries", ...
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (rows,) array
    descriptions: dict[str, str] = field(default_factory=dict)  # name -> the column's description
    description: str = ""  # the table's description
    source: Path | None = None  # the file

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    @property
    def is_intervals(self) -> bool:
        return "start_time" in self.columns

    def time_columns(self) -> list[str]:
        """Numeric columns that hold times in s (named *time* or *timestamp*), else all floats."""
        numeric = [k for k, v in self.columns.items() if v.dtype.kind == "f"]
        named = [k for k in numeric if "time" in k.lower() or "stamp" in k.lower()]
        # reaction times and durations are intervals, not times on the recording's clock
        named = [k for k in named if k.lower() not in ("rt", "reaction_time")]
        return named or numeric

    def categorical_columns(self) -> list[str]:
        """Columns with at most :data:`MAX_GROUPS` distinct values (codes, labels, flags)."""
        out, times = [], set(self.time_columns())
        for k, v in self.columns.items():
            if k in times:
                continue
            values = v[~_missing(v)] if v.dtype.kind == "f" else v
            if v.dtype.kind == "f" and np.any(values != np.round(values)):
                continue
            if 1 <= len(np.unique(values)) <= MAX_GROUPS:
                out.append(k)
        return out

    def column(self, name: str, option: str) -> np.ndarray:
        """The column ``name``; a one-line error naming ``option`` and the columns there are."""
        if name not in self.columns:
            raise ParameterError(
                f"{option} {name!r}: table {self.name!r} of {self.source} has no such column "
                f"(columns: {', '.join(self.columns)})")
        return self.columns[name]


def _missing(v: np.ndarray) -> np.ndarray:
    return ~np.isfinite(v) if v.dtype.kind == "f" else np.zeros(len(v), bool)


def _kind(obj) -> str:
    return _text(obj.attrs.get("neurodata_type", ""))


def _is_table(obj) -> str | None:
    """The neurodata type of an h5py group that is a table or event series, else None."""
    import h5py

    if not isinstance(obj, h5py.Group):
        return None
    kind = _kind(obj)
    if kind in _NOT_TABLES:
        return None
    if kind == "TimeIntervals":
        return kind
    if "colnames" in obj.attrs and "id" in obj:
        names = [_text(c) for c in np.atleast_1d(obj.attrs["colnames"])]
        return (kind or "DynamicTable") if {"start_time", "timestamp"} & set(names) else None
    if "timestamps" not in obj or not isinstance(obj["timestamps"], h5py.Dataset):
        return None
    if obj["timestamps"].ndim != 1:
        return None
    if kind in _SERIES:
        return kind
    parts = obj.name.strip("/").split("/")
    if kind == "TimeSeries" and parts[0] in ("acquisition", "stimulus") and "data" in obj:
        data = obj["data"]
        if data.ndim == 1 and data.dtype.kind in "iuSOb" and data.shape == obj["timestamps"].shape:
            return kind
    return None


def _walk(f) -> list[tuple[str, str]]:
    """(HDF5 path, kind) of every table and event series under the usual roots."""
    import h5py

    found: list[tuple[str, str]] = []

    def visit(group, depth: int) -> None:
        for key in group:
            try:
                obj = group[key]
            except (KeyError, OSError):  # a dangling link
                continue
            kind = _is_table(obj)
            if kind is not None:
                found.append((obj.name, kind))
            elif isinstance(obj, h5py.Group) and depth < _MAX_DEPTH and _kind(obj) != "Units":
                visit(obj, depth + 1)

    for root in _ROOTS:
        if root in f and isinstance(f[root], h5py.Group):
            visit(f[root], 1)
    return found


def _short_names(paths: list[str]) -> dict[str, str]:
    """Short name -> HDF5 path: the last part, or the whole path when two tables share it."""
    last = [p.rsplit("/", 1)[-1] for p in paths]
    return {(n if last.count(n) == 1 else p.strip("/")): p for n, p in zip(last, paths)}


def _open(path):
    from ..recordings._nwb import check_nwb2, open_hdf5

    path = Path(path)
    if path.suffix.lower() != ".nwb":
        raise InputError(path, "interval tables and events come from NWB files; this is not one")
    f = open_hdf5(path)
    try:
        check_nwb2(f, path)
    except InputError:
        f.close()
        raise
    return f


def find_tables(path) -> dict[str, str]:
    """Short name -> HDF5 path of every interval table and event series in the NWB file."""
    with _open(path) as f:
        found = _walk(f)
    return _short_names([p for p, _ in found])


def read_table(path, name: str, option: str = "--table") -> EventTable:
    """The table or event series ``name`` (a short name from :func:`find_tables` or an
    HDF5 path) of the NWB file ``path``; a one-line error naming ``option`` when absent."""
    path = Path(path)
    with _open(path) as f:
        found = dict(_walk(f))
        names = _short_names(list(found))
        target = names.get(name) or names.get(name.strip("/"))
        if target is None and "/" + name.strip("/") in found:
            target = "/" + name.strip("/")
        if target is None:
            there = ", ".join(names) or "none"
            raise InputError(path, f"{option} {name!r}: no interval table or event series of "
                             f"that name (there are: {there})")
        short = next(k for k, v in names.items() if v == target)
        try:
            return _read(f, target, found[target], short, path)
        except (OSError, KeyError, RuntimeError) as err:  # h5py read errors of a damaged file
            raise InputError(path, f"cannot read {target} (damaged file?): {err}") from err


def _read(f, target: str, kind: str, short: str, path: Path) -> EventTable:
    import h5py

    g = f[target]
    table = EventTable(short, target, kind, description=_text(g.attrs.get("description", "")),
                       source=path)
    if "timestamps" in g and "colnames" not in g.attrs:  # an event series
        ts = np.asarray(g["timestamps"][()], dtype=np.float64)
        table.columns["timestamps"] = ts
        table.descriptions["timestamps"] = "event times (s)"
        if "data" in g and g["data"].ndim == 1 and len(g["data"]) == len(ts):
            table.columns["data"] = _values(g["data"][()])
            labels = g.attrs.get("labels")  # ndx-events LabeledEvents: data index the labels
            if labels is None and "labels" in g["data"].attrs:
                labels = g["data"].attrs["labels"]
            text = table.description if labels is None else f"labels: {_text(labels)}"
            table.descriptions["data"] = text
        return table
    n = len(g["id"]) if "id" in g else None
    listed = [_text(c) for c in np.atleast_1d(g.attrs.get("colnames", []))]
    for key in [c for c in listed if c in g] + [k for k in g if k not in listed]:
        ds = g[key]
        if (key == "id" or key.endswith("_index") or f"{key}_index" in g
                or not isinstance(ds, h5py.Dataset) or ds.ndim != 1):
            continue
        if n is not None and len(ds) != n:
            continue
        data = ds[()]
        if data.dtype.kind == "V" or (data.dtype.kind == "O" and data.size
                                      and isinstance(data.flat[0], h5py.Reference)):
            continue
        table.columns[key] = _values(data)
        table.descriptions[key] = _text(ds.attrs.get("description", ""))
    return table


def _values(data) -> np.ndarray:
    data = np.asarray(data)
    if data.dtype.kind in "OSa":
        return np.array([_text(x) for x in data.flat], dtype=object)
    return data
