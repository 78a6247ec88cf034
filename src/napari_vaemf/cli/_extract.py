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
                   help="the recording (read like the run's training data): maier-saupe compares "
                   "its S distribution with it; generalized-hopfield on an exact fit descends "
                   "from its bins to the attractors (default: the recording the fit was made of)")
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
        from napari_vaemf.core.extraction.energy_report import energy_report

        x, full = _recorded(folder.path, fit, args)
        report = energy_report(full, x, full.test_index)  # the decoder's own energy, exact
        energy = report.energy
        ex.summary.update(report.summary())
        ex.diagnostics["energy_file"] = "energy.npz"
    with defer_sigint(reraise=False), folder.begin() as txn:  # added to the run, all at once
        paths = [folder.path / p.name for p in ex.save(txn.dir)]
        if energy is not None:
            paths.append(folder.path / energy.save(txn.path("energy.npz")).name)
        txn.commit(keep=True)
    if "quadratic_share" in ex.summary:
        silent = ex.summary["silent_state"]
        sys.stdout.write(f"attractors: {len(ex.summary['attractors'])} besides the silent state "
                         f"(which takes {silent['fraction']:.1%} of the bins); quadratic share "
                         f"{ex.summary['quadratic_share']:.3f}\n")
    params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in ex.parameters.items())
    sys.stdout.write(f"{ex.theory}: {params}; consistency {ex.consistency:.3f}\n")
    for path in paths:
        sys.stdout.write(f"wrote {path}\n")
    return 0


def _recorded(run_dir: Path, fit, args: argparse.Namespace):
    """(configurations (T, N), the fit with them) of the recording the fit was made of:
    ``--data`` or the fit's source, read with the fit's input options; the fit rebuilt from
    model.pt with its data (so its held-out rows and training rows are known)."""
    from napari_vaemf.core.data import prepare
    from napari_vaemf.core.fitting import load_fit
    from napari_vaemf.core.runs import read_run

    tb = fit.time_base or {}
    source = args.data or (Path(tb["source"]) if tb.get("source") else None)
    if source is None or not Path(source).exists():
        raise InputError(source or run_dir, "the recording the fit was made of is not there: "
                                            "give it with --data")
    rec, _ = read_recording(Path(source), args, run_input_options(fit))
    if rec.n_units != fit.n_units:
        raise InputError(source, f"has {rec.n_units} units but the model in {run_dir} was "
                                 f"fitted to {fit.n_units}")
    x = prepare(rec, 0.0, hash_source=False).x  # the fit's rule for data prepared for fitting
    with read_run(run_dir, allow_unmanaged=True, only=("model.pt",)):
        full = load_fit(Path(run_dir) / "model.pt", x=x, device="cpu")
    return x, full
