"""``vaemf decode RUN --behavior SOURCE -o DIR``: how well the latents tell the behaviour.

SOURCE is a path inside the run's NWB recording (``processing/behavior/Position``, a
CompassDirection, a BehavioralTimeSeries, one series) or a ``.csv``/``.tsv``/``.txt``/``.npy``
file whose first column is the time in s. The behaviour is resampled onto the recording's
bins and decoded, with k-nearest neighbours and ridge regression over blocked folds in
time, from the latents (``RUN/latents.npy``), from the raw spike counts, and from the
latents with the behaviour circularly shifted by at least ``--shift`` s (the control).
Writes ``DIR/decoding.json``: ``kind`` ("linear" or "circular"), ``metric`` (R² or circular
correlation), ``score``, ``score_counts``, ``score_shuffled`` and per regressor and
variable the details.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from napari_vaemf.cli._common import add_input_options
from napari_vaemf.core.behavior import DecodeSettings
from napari_vaemf.core.settings import add_options, from_args

__all__ = ["register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "decode", help="decode behaviour from the latents (vs raw counts and a time-shifted control)",
        description="Resample a behavioural series onto the bins of a fit's recording and report "
        "how well k-nearest neighbours and ridge regression predict it from the latents, "
        "cross-validated over blocks of time, next to the same from the raw spike counts and "
        "after shifting the behaviour in time; write DIR/decoding.json.")
    p.add_argument("run_dir", type=Path, help="run folder of `vaemf fit` (model.pt, latents.npy)")
    p.add_argument("--behavior", required=True, metavar="SOURCE",
                   help="a path inside the run's NWB recording (e.g. processing/behavior/Position) "
                   "or a .csv/.tsv/.txt/.npy file whose first column is the time (s)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output directory")
    p.add_argument("--data", type=Path, default=None,
                   help="the fitted recording, when it is no longer where the fit read it")
    add_options(p, DecodeSettings, title="decoding")
    add_input_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from napari_vaemf.cli._align import read_run_data
    from napari_vaemf.core.behavior import decode, load_behavior, resample
    from napari_vaemf.core.progress import drive
    from napari_vaemf.core.runs import RunFolder, defer_sigint

    settings = from_args(DecodeSettings, args)
    with RunFolder.open(args.output, kind="decode", option="-o/--output") as folder:
        z, rec, _ = read_run_data(args)
        series = load_behavior(args.behavior, rec.source, settings.angles)
        behavior = resample(series, rec.t_start, rec.bin_size, rec.n_bins)
        raster = rec.raster.compute() if rec.is_lazy else rec.raster
        counts = np.asarray(raster).T  # (T, N)
        out = drive(decode(behavior, z, counts, rec.bin_size, settings), desc="decode",
                    bar=sys.stderr.isatty())
        out.update(run=str(args.run_dir), source=str(args.behavior), recording=str(rec.source))
        with defer_sigint(reraise=False), folder.begin() as txn:
            txn.write_json("decoding.json", out)
            txn.commit(keep=True)
    sh = out["scores"]
    counts_txt = f"{out['score_counts']:.3f}" if out["score_counts"] is not None else "-"
    sys.stdout.write(
        f"{args.behavior} ({out['kind']}, {', '.join(behavior.columns)}): {out['metric']} "
        f"{out['score']:.3f} from the latents ({out['regressor']}; kNN {sh['latents']['knn']:.3f}, "
        f"ridge {sh['latents']['ridge']:.3f}), {counts_txt} from the counts, "
        f"{out['score_shuffled']:.3f} with the behaviour shifted >= {settings.shift:g} s "
        f"-> {folder.path}\n")
    return 0
