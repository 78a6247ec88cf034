"""``vaemf capacity INPUT -o DIR``: rate vs bipartite MI, and how many latents the data need.

Writes ``DIR/capacity.json`` (bipartite_mi_nats, sweep, latents_needed, mean_field, the
verdict and every fit) and ``DIR/capacity.png``. Each fit is kept in DIR as it finishes
(``fit-K<k>-r<r>.json``/``.npy``), so the same command resumes an interrupted sweep without
redoing them; ``--scheduler local:N`` or a Dask scheduler address runs the fits there.
"""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from napari_vaemf.cli._common import (
    add_input_options,
    is_run,
    load_run,
    read_recording,
    run_input_options,
)
from napari_vaemf.core.capacity import CapacitySettings
from napari_vaemf.core.capacity._tasks import SweepStore, sweep_key
from napari_vaemf.core.data import prepare
from napari_vaemf.core.errors import InputError
from napari_vaemf.core.progress import drive
from napari_vaemf.core.runs import RunFolder, defer_sigint
from napari_vaemf.core.settings import add_options, from_args

__all__ = ["register", "run"]

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "capacity", help="sweep the number of latents; compare rate with bipartite MI",
        description="Fit product-decoder VAEs with K = 1..K_max latents (several seeds), "
        "estimate the bipartite mutual information of the data, and report how many latent "
        "variables the data need, or that they have no low-dimensional mean-field description. "
        "INPUT is a recording or a run folder of `vaemf fit` (its recording, at its bin size).")
    p.add_argument("input", type=Path, help="recording or configuration file (.nwb .mat .npy .npz), or a RUN_DIR")
    p.add_argument("-o", "--output", type=Path, required=True, help="output directory")
    add_input_options(p)
    add_options(p, CapacitySettings, title="sweep settings")
    p.set_defaults(func=run)


def read_sweep_input(path: Path, args: argparse.Namespace, settings: CapacitySettings):
    """(Recording, FitData) of INPUT: a file, or a run folder's recording at its time base; a
    recording too large to hold dense is packed one bit per cell (the sweep streams it)."""
    base = None
    if is_run(path):
        fit = load_run(path)
        source = (fit.time_base or {}).get("source")
        if not source:
            raise InputError(path, "this run does not record its source file; pass the recording")
        base, path = run_input_options(fit), Path(source)
    rec, options = read_recording(path, args, base)
    return rec, prepare(rec, settings.test_fraction, settings.seed, options, stream=True)


def run(args: argparse.Namespace) -> int:
    settings = from_args(CapacitySettings, args)
    with RunFolder.open(args.output, kind="capacity", option="-o/--output") as folder:
        return _sweep_into(folder, args, settings)


def _sweep_into(folder, args: argparse.Namespace, settings: CapacitySettings) -> int:
    from napari_vaemf.core.capacity import (
        capacity_sweep,
        default_partitions,
        exact_estimates,
        plot_report,
    )
    from napari_vaemf.core.capacity._partitions import resolve_layout

    rec, data = read_sweep_input(args.input, args, settings)
    x, test_index = data.x, data.test_index
    t = x.shape[0]
    repeats = rec.repeats
    if settings.max_samples and t > settings.max_samples:
        repeats = None  # evenly spaced rows: no longer whole repeats
        keep = np.linspace(0, t - 1, settings.max_samples).astype(np.int64)
        is_test = np.zeros(t, bool)
        is_test[test_index] = True
        test_index = np.flatnonzero(is_test[keep])
        x = x[keep]
    n = x.shape[1]
    settings = replace(settings, layout=resolve_layout(settings.cuts, rec.model, n))
    parts = default_partitions(n, settings.layout, settings.random_partitions, settings.seed)
    patterns = rec.truth.get("patterns") if rec.model == "hopfield" else None
    store = SweepStore(folder, sweep_key(x, test_index, data.encoding, settings,
                                         settings.vae_config()))
    job = capacity_sweep(x, data.encoding, test_index=test_index, settings=settings,
                         partitions=parts, directions=patterns, store=store, repeats=repeats,
                         reference=exact_estimates(rec.model, rec.params, rec.truth, parts))
    report = drive(job)
    out = report.to_json()
    out["input"] = str(args.input)
    out["encoding"] = data.encoding
    out["data"] = data.describe()
    out["bin_size"] = data.time_base.get("bin_size")
    with defer_sigint(reraise=False), folder.begin() as txn:  # both files at once
        txn.write_json("capacity.json", out)
        plot_report(report, txn.path("capacity.png"))
        txn.commit(keep=True)
    sys.stdout.write(report.verdict() + "\n")
    return 0
