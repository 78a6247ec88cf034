"""``vaemf info FILE [input options]``: what a recording holds, at the chosen bin size."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from napari_vaemf.cli._common import add_input_options, read_recording
from napari_vaemf.core.recordings import Recording

__all__ = ["register", "run", "summary"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "info", help="units, duration, spikes, mean rate and bins of a recording",
        description="Read a recording or configuration file (.nwb .mat .npy .npz) and print "
        "its units, duration, spike count, mean rate and raster size at the chosen bin size.")
    p.add_argument("file", type=Path, help="recording or configuration file")
    add_input_options(p)
    p.add_argument("--per-unit", action="store_true", help="also list spikes and rate per unit")
    p.set_defaults(func=run)


def summary(rec: Recording) -> list[tuple[str, str]]:
    """(label, value) rows describing ``rec``."""
    rows = [("file", str(rec.source)), ("encoding", rec.encoding)]
    if rec.model:
        rows.append(("model", rec.model))
    rows.append(("units", str(rec.n_units)))
    bins = f"{rec.n_units} x {rec.n_bins}"
    if rec.bin_size:
        bins += f" at {rec.bin_size * 1e3:g} ms"
    rows.append(("bins", bins + (" (lazy)" if rec.is_lazy else "")))
    if rec.repeats:
        rows.append(("repeats", f"{rec.repeats} x {rec.n_bins // rec.repeats} bins"))
    if rec.encoding == "vector":
        return rows
    spikes = rec.n_spikes()
    label = "spikes" if rec.encoding in ("counts", "binary") else "up spins"
    rows.append((label, f"{spikes:,}"))
    if rec.duration:
        rows.append(("duration", f"{rec.duration:.3f} s  [{rec.t_start:g}, {rec.t_stop:g})"))
        if rec.encoding != "spin":
            rows.append(("mean rate", f"{spikes / rec.n_units / rec.duration:.4g} Hz per unit"))
    else:
        rows.append(("duration", "unknown (no bin size; pass --bin-size)"))
    if rec.encoding in ("counts", "binary") and not rec.is_lazy:
        rows.append(("mean p(active) per bin", f"{float((rec.raster > 0).mean()):.4f}"))
    return rows


def run(args: argparse.Namespace) -> int:
    rec, _ = read_recording(args.file, args)
    try:
        _write(rec, args.per_unit, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:  # `vaemf info FILE | head`: the reader left early, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not fail again
    return 0


def _write(rec: Recording, per_unit: bool, out) -> None:
    rows = summary(rec)
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        out.write(f"{key:<{width}}  {value}\n")
    if per_unit and rec.encoding != "vector":
        counts = np.asarray(rec.raster.sum(axis=1))
        counts = counts.compute() if hasattr(counts, "compute") else counts
        out.write("\nunit\tspikes\trate (Hz)\n")
        for uid, c in zip(rec.units["id"], counts):
            rate = f"{c / rec.duration:.4g}" if rec.duration else "-"
            out.write(f"{uid}\t{int(c)}\t{rate}\n")
