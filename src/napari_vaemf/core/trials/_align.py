"""Latents and spike counts cut into windows around the times of a table's column, grouped.

The event time of a trial is snapped to the nearest bin edge of the recording (an error
below half a bin); the window [w0, w1) then covers whole bins, bin j of a trial spanning
[w0 + j·bin, w0 + (j+1)·bin) from the event. Trials are dropped, and counted by reason,
when their time is absent (not a number, or a placeholder: see
:attr:`AlignSettings.placeholders`), impossible (before the session start: negative times
such as a first TTL stamped -1.5e9 s), outside (the window leaves the recording) or when
their group is absent. Groups are the grouping column's stored values, sorted; the
column's description is kept beside them (files state what their codes mean there, and
sometimes state it wrong: a description naming other codes than the stored ones is a
warning, not a relabelling).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..configs import jsonable
from ..errors import ParameterError
from ..settings import setting
from ._tables import MAX_GROUPS, EventTable, _missing

__all__ = ["AlignSettings", "Aligned", "align", "DROP_REASONS"]

log = logging.getLogger(__name__)

DROP_REASONS = ("absent", "impossible", "outside", "no_group")


@dataclass
class AlignSettings:
    """Which events to align to, the window around them and the grouping of the trials."""

    table: str = setting("trials")  # interval table or event series of the NWB file: its name (trials, epochs, encoding_table, events, ...) or HDF5 path
    time: str = setting("start_time")  # column holding the time (s) each trial is aligned to ("timestamps" for an event series)
    by: str | None = setting(None)  # categorical column to group the trials by (default: one group)
    window: tuple[float, float] = setting((-1.0, 3.0), options={"min": -3600.0, "max": 3600.0, "step": 0.1})  # start and end of each trial's window, in s from its event time
    placeholders: bool = setting(True)  # in interval tables, a time equal to the row's start_time or exactly 0 (in another column) marks an absent event

    def __post_init__(self) -> None:
        if self.by is not None and not str(self.by).strip():
            self.by = None
        w = tuple(self.window)
        if len(w) != 2 or not all(np.isfinite(v) for v in w):
            raise ParameterError(f"--window takes two finite numbers of seconds (start end), got {w}")
        if not w[0] < w[1]:
            raise ParameterError(f"--window: the start ({w[0]} s) must be before the end ({w[1]} s)")
        self.window = (float(w[0]), float(w[1]))


@dataclass(eq=False)
class Aligned:
    """Trials of one table aligned to one of its time columns."""

    latents: np.ndarray | None  # (trials, bins, K) float32
    counts: np.ndarray | None  # (trials, bins, units) spike counts
    rel_time: np.ndarray  # (bins,) centre of each window bin, s from the event
    event_times: np.ndarray  # (trials,) s, as stored in the table
    rows: np.ndarray  # (trials,) the table row of each trial
    group: np.ndarray  # (trials,) index into ``groups`` of each trial
    groups: list  # the grouping column's stored values, sorted ([None] without grouping)
    labels: list[str]  # one label per group
    description: str  # the grouping column's description (what the file says the codes mean)
    dropped: dict[str, int]  # trials left out, by reason (see DROP_REASONS)
    bin_size: float  # s per bin
    settings: AlignSettings = field(default_factory=AlignSettings)
    table: str = ""  # the table's short name
    source: str | None = None  # the NWB file
    warnings: list[str] = field(default_factory=list)  # what looked wrong in the file

    @property
    def n_trials(self) -> int:
        return int(len(self.rows))

    def group_sizes(self) -> list[int]:
        return np.bincount(self.group, minlength=len(self.groups)).tolist()

    def order(self) -> np.ndarray:
        """Trial indices sorted by group (table order within a group)."""
        return np.argsort(self.group, kind="stable")

    def mean_sem(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard error over the trials of each group: (groups, bins, K) each
        (NaN for an empty group; s.e.m. 0 for a group of one trial)."""
        if self.latents is None:
            raise ParameterError("no latents were aligned")
        g, (_, b, k) = len(self.groups), self.latents.shape
        mean = np.full((g, b, k), np.nan)
        sem = np.full((g, b, k), np.nan)
        for i in range(g):
            z = self.latents[self.group == i].astype(np.float64)
            if len(z):
                mean[i] = z.mean(0)
                sem[i] = z.std(0, ddof=1) / np.sqrt(len(z)) if len(z) > 1 else 0.0
        return mean, sem

    def to_json(self) -> dict[str, Any]:
        """``align.json``: the settings, the groups and their sizes, what was dropped, and
        per trial its table row, event time and group."""
        s = self.settings
        return {
            "table": self.table, "time": s.time, "by": s.by, "window": list(s.window),
            "placeholders": s.placeholders, "source": self.source, "bin_size": self.bin_size,
            "n_trials": self.n_trials, "n_bins": int(len(self.rel_time)),
            "groups": jsonable(self.groups), "group_labels": list(self.labels),
            "group_description": self.description, "group_sizes": self.group_sizes(),
            "dropped": dict(self.dropped), "warnings": list(self.warnings),
            "rel_time": self.rel_time.tolist(),
            "trials": {"row": self.rows.tolist(), "event_time": self.event_times.tolist(),
                       "group": self.group.tolist()},
            "latents_shape": None if self.latents is None else list(self.latents.shape),
            "counts_shape": None if self.counts is None else list(self.counts.shape),
        }


def _groups(table: EventTable, by: str | None, warnings: list[str]):
    """(group index per row (-1: none), stored values, labels, description)."""
    n = table.n_rows
    if by is None:
        return np.zeros(n, np.int64), [None], ["all"], ""
    col = table.column(by, "--by")
    missing = _missing(col)
    values = np.unique(col[~missing])
    if len(values) > MAX_GROUPS:
        raise ParameterError(f"--by {by!r}: {len(values)} distinct values; a grouping column "
                             f"has at most {MAX_GROUPS} (categorical: {', '.join(table.categorical_columns()) or 'none'})")
    index = np.full(n, -1, np.int64)
    index[~missing] = np.searchsorted(values, col[~missing])
    stored = [v.item() if hasattr(v, "item") else v for v in values]
    if col.dtype.kind == "f" and all(float(v).is_integer() for v in stored):
        stored = [int(v) for v in stored]
    description = table.descriptions.get(by, "")
    codes = {int(c) for c in re.findall(r"(?<![\w.])(-?\d+)\s*=", description)}
    if codes and all(isinstance(v, (int, np.integer)) for v in stored) and not set(stored) <= codes:
        warnings.append(f"--by {by}: the stored values {sorted(stored)} are not the codes its "
                        f"description names ({sorted(codes)}); groups keep the stored values")
    return index, stored, [str(v) for v in stored], description


def _gather(raster, starts: np.ndarray, width: int) -> np.ndarray:
    """(trials, width, units) windows of a (units, bins) numpy or dask raster."""
    if isinstance(raster, np.ndarray):
        idx = starts[:, None] + np.arange(width)[None, :]  # (trials, width)
        return np.ascontiguousarray(np.moveaxis(raster[:, idx], 0, -1))
    out = [np.asarray(raster[:, a : a + width].compute()).T for a in starts]
    return np.stack(out) if out else np.zeros((0, width, raster.shape[0]), raster.dtype)


def align(table: EventTable, latents: np.ndarray | None, bin_size: float, t_start: float = 0.0,
          settings: AlignSettings | None = None, counts=None) -> Aligned:
    """Cut ``latents`` (bins, K) and ``counts`` (units, bins; numpy or dask) into windows
    around the times in ``settings.time`` of ``table``, one trial per row kept."""
    s = settings or AlignSettings()
    if latents is None and counts is None:
        raise ParameterError("nothing to align: give latents or counts")
    z = None if latents is None else np.asarray(latents)
    n_bins = len(z) if z is not None else int(counts.shape[1])
    if counts is not None and int(counts.shape[1]) != n_bins:
        raise ParameterError(f"the counts have {counts.shape[1]} bins, the latents {n_bins}")
    if not bin_size or bin_size <= 0:
        raise ParameterError("aligning to times needs the recording's bin size")
    col = table.column(s.time, "--time")
    if col.dtype.kind not in "fiu":
        raise ParameterError(f"--time {s.time!r}: column of table {table.name!r} holds no times "
                             f"(time columns: {', '.join(table.time_columns()) or 'none'})")
    times = col.astype(np.float64)
    w0, w1 = s.window
    o0, o1 = int(round(w0 / bin_size)), int(round(w1 / bin_size))
    width = o1 - o0
    if width < 1:
        raise ParameterError(f"--window {w0:g} {w1:g} is shorter than one bin ({bin_size:g} s)")
    if width > n_bins:
        raise ParameterError(f"--window {w0:g} {w1:g}: {w1 - w0:g} s is longer than the recording "
                             f"({n_bins * bin_size:g} s)")
    warnings: list[str] = []
    absent = ~np.isfinite(times)
    if s.placeholders and table.is_intervals and s.time not in ("start_time", "stop_time"):
        start = table.columns["start_time"].astype(np.float64)
        absent |= (times == 0) | (times == start)
    impossible = ~absent & (times < 0)
    if impossible.any():
        warnings.append(f"--time {s.time}: {int(impossible.sum())} time(s) before the session start "
                        f"(min {times[impossible].min():.6g} s) are impossible; dropped")
    first = np.where(absent | impossible, 0, np.round((times - t_start) / bin_size)) + o0
    outside = ~absent & ~impossible & ((first < 0) | (first + width > n_bins))
    group, stored, labels, description = _groups(table, s.by, warnings)
    no_group = ~absent & ~impossible & ~outside & (group < 0)
    keep = ~(absent | impossible | outside | no_group)
    dropped = {"absent": int(absent.sum()), "impossible": int(impossible.sum()),
               "outside": int(outside.sum()), "no_group": int(no_group.sum())}
    if not keep.any():
        raise ParameterError(f"no trial of table {table.name!r} is left: every {s.time} is absent "
                             f"or its window [{w0:g}, {w1:g}) s leaves the recording ({dropped})")
    for w in warnings:
        log.warning("%s: %s", table.source, w)
    starts = first[keep].astype(np.int64)
    rows = np.flatnonzero(keep)
    lat = None
    if z is not None:
        lat = np.ascontiguousarray(z[starts[:, None] + np.arange(width)[None, :]], dtype=np.float32)
    cnt = None if counts is None else _gather(counts, starts, width)
    return Aligned(
        latents=lat, counts=cnt, rel_time=(np.arange(o0, o1) + 0.5) * bin_size,
        event_times=times[keep], rows=rows, group=group[keep], groups=stored, labels=labels,
        description=description, dropped=dropped, bin_size=float(bin_size), settings=s,
        table=table.name, source=None if table.source is None else str(table.source),
        warnings=warnings,
    )
