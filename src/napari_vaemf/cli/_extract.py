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

__all__ = ["register", "run"]

log = logging.getLogger(__name__)

THEORIES = ("curie-weiss", "hopfield", "maier-saupe", "generalized-hopfield")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "extract", help="read a mean-field theory off a trained decoder",
        description="Read Curie-Weiss, Hopfield, Maier-Saupe or generalized-Hopfield "
        "parameters off the decoder of a fit saved in RUN_DIR (model.pt) and write "
        "RUN_DIR/extraction.json (+ patterns.npy, fields.npy).")
    p.add_argument("run_dir", type=Path, help="directory holding model.pt (from vaemf fit)")
    p.add_argument("--theory", choices=THEORIES, required=True, help="which theory to read off")
    p.add_argument("--prior-samples", type=int, default=50000,
                   help="samples of the prior's push-forward used by the fit (default 50000)")
    p.add_argument("--data", type=Path, default=None,
                   help="maier-saupe only: configurations to compare the S distribution with")
    p.add_argument("--seed", type=int, default=0, help="seed of the prior samples and MCMC")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from napari_vaemf.core.errors import InputError
    from napari_vaemf.core.extraction import extract
    from napari_vaemf.core.vae import Fit

    run_dir: Path = args.run_dir
    if not (run_dir / "model.pt").is_file():
        raise InputError(run_dir, "no model.pt here: train one with `vaemf fit`")
    fit = Fit.load(run_dir / "model.pt", device="cpu")
    options = {"n_samples": args.prior_samples}
    if args.theory == "maier-saupe" and args.data is not None:
        from napari_vaemf.core.recordings import load_recording

        options["data"] = load_recording(args.data).samples()
    ex = extract(fit, args.theory, seed=args.seed, **options)
    paths = ex.save(run_dir)
    params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in ex.parameters.items())
    sys.stdout.write(f"{ex.theory}: {params}; consistency {ex.consistency:.3f}\n")
    for path in paths:
        sys.stdout.write(f"wrote {path}\n")
    return 0
