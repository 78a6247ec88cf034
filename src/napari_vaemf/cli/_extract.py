"""``vaemf extract RUN_DIR --theory T``: read a mean-field theory off a trained decoder.

Writes ``RUN_DIR/extraction.json`` (``theory``, the parameters by name — ``beta_J``,
``beta_h``, ``beta``, ... —, ``consistency`` in [0, 1] and the diagnostics behind it) and,
for the Hopfield theories, ``RUN_DIR/patterns.npy`` ((N, P) float; ±1 for ``hopfield``) and
``RUN_DIR/fields.npy`` ((N,)).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from napari_vaemf.cli._common import add_input_options, load_run, read_recording, run_input_options
from napari_vaemf.core.errors import InputError
from napari_vaemf.core.extraction import ExtractionSettings
from napari_vaemf.core.runs import RunFolder, defer_sigint
from napari_vaemf.core.settings import add_options, from_args

__all__ = ["register", "run"]

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "extract", help="read a mean-field theory off a trained decoder",
        description="Read Curie-Weiss, Hopfield, Maier-Saupe or generalized-Hopfield "
        "parameters off the decoder of a fit saved in RUN_DIR (model.pt) and write "
        "RUN_DIR/extraction.json (+ patterns.npy, fields.npy; for generalized-hopfield on an "
        "exact fit also energy.npz, the decoder's energy in closed form).")
    p.add_argument("run_dir", type=Path, help="directory holding model.pt (from vaemf fit)")
    add_options(p, ExtractionSettings, title="read-off settings")
    p.add_argument("--data", type=Path, default=None,
                   help="maier-saupe only: configurations to compare the S distribution with "
                   "(read like the run's training data)")
    add_input_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    settings = from_args(ExtractionSettings, args)
    with RunFolder.open(run_dir, kind="extract", option="RUN_DIR") as folder:
        return _extract_into(folder, args, settings)


def _extract_into(folder, args: argparse.Namespace, settings: ExtractionSettings) -> int:
    from napari_vaemf.core.extraction import extract

    fit = load_run(folder.path)
    options = {"n_samples": settings.prior_samples}
    if settings.theory == "maier-saupe" and args.data is not None:
        rec, _ = read_recording(args.data, args, run_input_options(fit))
        if rec.n_units != fit.n_units:
            raise InputError(args.data, f"has {rec.n_units} units but the model in {folder.path} was "
                                        f"fitted to {fit.n_units}")
        options["data"] = rec.samples()
    ex = extract(fit, settings.theory, seed=settings.seed, **options)
    energy = None
    if settings.theory == "generalized-hopfield" and getattr(fit, "method", None) == "exact":
        from napari_vaemf.core.extraction.energy import energy_of

        energy = energy_of(fit)  # the decoder's own energy, exact (core.extraction.energy)
        ex.diagnostics["energy_file"] = "energy.npz"
    with defer_sigint(reraise=False), folder.begin() as txn:  # added to the run, all at once
        paths = [folder.path / p.name for p in ex.save(txn.dir)]
        if energy is not None:
            paths.append(folder.path / energy.save(txn.path("energy.npz")).name)
        txn.commit(keep=True)
    params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in ex.parameters.items())
    sys.stdout.write(f"{ex.theory}: {params}; consistency {ex.consistency:.3f}\n")
    for path in paths:
        sys.stdout.write(f"wrote {path}\n")
    return 0
