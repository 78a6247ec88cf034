"""``vaemf align RUN --table T --time COLUMN --by COLUMN --window -1 3 -o DIR``: latents
and spike counts of a fitted recording aligned to the trials or events of its NWB file.

RUN is a ``vaemf fit`` run folder: the latents are ``RUN/latents.npy`` and the recording is
the one the fit was made of (its source, bin size and window, from the fit's time base),
read again with the same input options; ``--data`` points to the recording when it has
moved. The table is any interval table or event series of that NWB file (``vaemf align
RUN --list`` lists them with their columns). Writes to DIR, all at once:

- ``aligned_latents.npy``: (trials, bins, K) float32;
- ``aligned_counts.npy``: (trials, bins, units) spike counts;
- ``align.json``: the groups (stored values), their labels and sizes, the grouping column's
  description, the trials dropped by reason, the bin size, the window's bin times and per
  trial its table row, event time and group;
- ``align.png``: mean ± s.e.m. of each latent per group.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from napari_vaemf.cli._common import add_input_options, load_run, read_recording, run_input_options
from napari_vaemf.core.errors import InputError
from napari_vaemf.core.settings import add_options, from_args
from napari_vaemf.core.trials import AlignSettings

__all__ = ["register", "run", "read_run_data", "run_time_base"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "align", help="latents and spike counts around the trials or events of an NWB file",
        description="Cut the latents of a fit and the recording's spike counts into windows "
        "around the times of one column of an interval table or event series of the "
        "recording's NWB file, group the trials by a categorical column, and write the "
        "aligned arrays, align.json and a figure of mean ± s.e.m. per group to DIR.")
    p.add_argument("run_dir", type=Path, help="run folder of `vaemf fit` (model.pt, latents.npy)")
    p.add_argument("-o", "--output", type=Path, default=None, help="output directory")
    p.add_argument("--data", type=Path, default=None,
                   help="the fitted recording, when it is no longer where the fit read it")
    p.add_argument("--list", action="store_true",
                   help="list the tables and event series of the recording with their columns, and exit")
    add_options(p, AlignSettings, title="alignment")
    add_input_options(p)
    p.set_defaults(func=run)


def run_time_base(run_dir: Path) -> dict:
    """The fit's time base (source, bin size, t_start, input options): as report.json states
    it (the dict model.pt keeps, read without loading torch), else from model.pt."""
    import json

    from napari_vaemf.cli._common import is_run
    from napari_vaemf.core.runs import read_run

    if not is_run(run_dir):
        raise InputError(run_dir, "no model.pt here: train one with `vaemf fit`")
    report = Path(run_dir) / "report.json"
    if report.is_file():
        with read_run(run_dir, allow_unmanaged=True, only=("report.json",)):
            data = json.loads(report.read_text()).get("data") or {}
        if data.get("bin_size") is not None and "input_options" in data:
            return data
    return dict(load_run(run_dir).time_base or {})


def read_run_data(args: argparse.Namespace):
    """(latents (T, K), Recording, time base) of the run ``args.run_dir``: the recording
    read from ``args.data`` or the fit's source with the fit's input options (under the
    command line's), checked to have one bin per latent row."""
    from types import SimpleNamespace

    from napari_vaemf.core.runs import read_run

    tb = run_time_base(args.run_dir)
    source = args.data or (Path(tb["source"]) if tb.get("source") else None)
    if source is None:
        raise InputError(args.run_dir, "the fit does not say which recording it was made of: "
                                       "give it with --data")
    latents_path = Path(args.run_dir) / "latents.npy"
    with read_run(args.run_dir, allow_unmanaged=True, only=("latents.npy",)):
        if not latents_path.is_file():
            raise InputError(latents_path, "missing: rerun `vaemf fit`")
        z = np.load(latents_path)
    base = run_input_options(SimpleNamespace(time_base=tb))
    rec, _ = read_recording(Path(source), args, base)
    if rec.bin_size is None:
        raise InputError(source, "states no bin size: aligning to times and decoding behaviour "
                                 "need a recording with a time base (spike times, or a raster "
                                 "fitted with --bin-size)")
    if rec.n_bins != len(z):
        raise InputError(source, f"has {rec.n_bins} bins of {rec.bin_size} s but the run has "
                                 f"{len(z)} latent rows: --data must be the recording the run "
                                 "was fitted to, read the same way")
    return z, rec, tb


def _list(source: Path) -> int:
    from napari_vaemf.core.trials import find_tables, read_table

    for name in find_tables(source):
        t = read_table(source, name)
        sys.stdout.write(f"{name} ({t.kind}, {t.n_rows} rows)\n"
                         f"  time columns: {', '.join(t.time_columns()) or '-'}\n"
                         f"  categorical:  {', '.join(t.categorical_columns()) or '-'}\n")
    return 0


def run(args: argparse.Namespace) -> int:
    from napari_vaemf.core.runs import RunFolder, defer_sigint
    from napari_vaemf.core.trials import align, plot_aligned, read_table

    settings = from_args(AlignSettings, args)
    if args.list:
        z, rec, _ = read_run_data(args)
        return _list(rec.source)
    if args.output is None:
        raise InputError(None, "-o/--output is required (or --list)")
    with RunFolder.open(args.output, kind="align", option="-o/--output") as folder:
        z, rec, _ = read_run_data(args)
        table = read_table(rec.source, settings.table)
        a = align(table, z, rec.bin_size, rec.t_start, settings, counts=rec.raster)
        report = {**a.to_json(), "run": str(args.run_dir), "t_start": rec.t_start,
                  "unit_ids": np.asarray(rec.units["id"]).tolist(),
                  "files": {"aligned_latents.npy": "trials x bins x latents",
                            "aligned_counts.npy": "trials x bins x units"}}
        with defer_sigint(reraise=False), folder.begin() as txn:
            txn.save_npy("aligned_latents.npy", a.latents)
            txn.save_npy("aligned_counts.npy", a.counts)
            txn.write_json("align.json", report)
            plot_aligned(a, txn.path("align.png"))
            txn.commit(keep=True)
    sizes = ", ".join(f"{lab}: {n}" for lab, n in zip(a.labels, a.group_sizes()))
    lost = sum(a.dropped.values())
    by = f" by {settings.by}" if settings.by else ""
    sys.stdout.write(
        f"{a.table}: {a.n_trials} trials around {settings.time} ({settings.window[0]:g} to "
        f"{settings.window[1]:g} s, {len(a.rel_time)} bins of {a.bin_size:g} s){by} [{sizes}]; "
        f"dropped {lost} {a.dropped if lost else ''}-> {folder.path}\n")
    return 0
