"""``vaemf validate RUN_DIR --data TEST_FILE -o DIR``: model, theory and baselines vs held-out data.

Writes ``DIR/validation.json`` (the split-half noise floor of the test data, and per model:
rates relative RMS, covariance correlation, KL(P_K data ‖ P_K model), triplet correlation,
held-out log-likelihood where defined, number of parameters) and ``DIR/validation.png``
(rates, covariance scatter, P(K) on a log scale, triplets).

With ``--split odd-repeats`` the file holds the whole recording: the odd repeats are the
test data and the even repeats train the baselines.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

__all__ = ["register", "run"]

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "validate", help="compare model, theory and baselines with held-out data",
        description="Sample the VAE in RUN_DIR, the theory read off it (RUN_DIR/extraction.json "
        "when it is a Hopfield theory, else a generalized Hopfield read-off) and baselines, "
        "and compare their statistics with TEST_FILE next to the data's split-half noise floor.")
    p.add_argument("run_dir", type=Path, help="directory holding model.pt (from vaemf fit)")
    p.add_argument("--data", type=Path, required=True, help="held-out data (recording or configurations)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output directory")
    p.add_argument("--train", type=Path, default=None, help="training data for the baselines")
    p.add_argument("--split", choices=("none", "odd-repeats"), default="none",
                   help="odd-repeats: test on the odd repeats of --data, train baselines on the even")
    p.add_argument("--samples", type=int, default=100000, help="samples per model (default 100000)")
    p.add_argument("--latent-draws", type=int, default=1000000,
                   help="prior draws for the VAE's statistics exact given z (row 'vae'; 0: sampled only)")
    p.add_argument("--baselines", default="independent,cms,rbm",
                   help="comma-separated baselines: independent, cms, rbm (default all)")
    p.add_argument("--seed", type=int, default=0, help="seed of triplets, samplers and baselines")
    p.set_defaults(func=run)


def _load(path: Path) -> tuple[np.ndarray, int | None]:
    from napari_vaemf.core.recordings import load_recording

    rec = load_recording(path)
    x = rec.samples()
    return (x.astype(np.int8) if rec.encoding != "vector" else x), rec.repeats


def run(args: argparse.Namespace) -> int:
    from napari_vaemf.core.errors import InputError, ParameterError
    from napari_vaemf.core.extraction import Extraction
    from napari_vaemf.core.extraction.validation import ValidationSettings, plot_validation, validate
    from napari_vaemf.core.progress import drive
    from napari_vaemf.core.stats import split_half
    from napari_vaemf.core.vae import Fit

    if not (args.run_dir / "model.pt").is_file():
        raise InputError(args.run_dir, "no model.pt here: train one with `vaemf fit`")
    fit = Fit.load(args.run_dir / "model.pt", device="cpu")
    x, repeats = _load(args.data)
    x_train = None
    if args.split == "odd-repeats":
        if not repeats:
            raise ParameterError(f"{args.data} has no repeats: use --split none and --train")
        x_train, x = split_half(x, repeats)
        repeats = repeats // 2
    if args.train is not None:
        x_train, _ = _load(args.train)
    ex = None
    if (args.run_dir / "extraction.json").is_file():
        ex = Extraction.load(args.run_dir)
    baselines = tuple(b for b in args.baselines.split(",") if b)
    unknown = set(baselines) - {"independent", "cms", "rbm"}
    if unknown:
        raise ParameterError(f"unknown baselines {sorted(unknown)}")
    if args.samples < 1 or args.latent_draws < 0 or args.latent_draws == 1:
        raise ParameterError(f"need --samples >= 1 and --latent-draws 0 or >= 2, got {args.samples}, "
                             f"{args.latent_draws}")
    settings = ValidationSettings(samples=args.samples, latent_draws=args.latent_draws,
                                  baselines=baselines, seed=args.seed)
    v = drive(validate(fit, x, x_train, ex, settings, repeats=repeats), desc="validate")
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "validation.json").write_text(json.dumps(v.to_json(), indent=2, default=float) + "\n")
    plot_validation(v, args.output / "validation.png")
    cols = ("rates_rel_rms", "cov_corr", "kl_pk", "triplet_corr", "test_loglik_nats", "n_parameters")
    lines = [f"{'model':<18}" + "".join(f"{c:>18}" for c in cols)]
    floors = [("floor: halves", v.noise_floor)]
    if v.noise_floor_train_test:
        floors.append(("floor: train/test", v.noise_floor_train_test))
    for name, row in [*floors, *v.table.items()]:
        cells = []
        for c in cols:
            val = row.get(c)
            cells.append(f"{val:>18.4g}" if isinstance(val, (int, float)) and val is not None else f"{'-':>18}")
        lines.append(f"{name:<18}" + "".join(cells))
    sys.stdout.write("\n".join(lines) + f"\nwrote {args.output / 'validation.json'}\n")
    return 0
