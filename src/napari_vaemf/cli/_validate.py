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

from napari_vaemf.cli._common import add_input_options, load_run, read_recording, run_input_options
from napari_vaemf.core.errors import InputError
from napari_vaemf.core.extraction import ValidationSettings
from napari_vaemf.core.runs import RunFolder, defer_sigint
from napari_vaemf.core.settings import add_options, from_args

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
    add_options(p, ValidationSettings, title="validation settings")
    add_input_options(p)
    p.set_defaults(func=run)


def _load(path: Path, args: argparse.Namespace, base, fit) -> tuple[np.ndarray, int | None, float | None]:
    """(samples, repeats, bin size) of ``path`` read with the run's input options under the
    command line's (so the data are binned as the model's training data were); the data must
    have the model's units and encoding."""
    from napari_vaemf.core.data import prepare

    rec, options = read_recording(path, args, base)
    data = prepare(rec, 0.0, options=options, hash_source=False)
    if data.x.shape[1] != fit.n_units:
        raise InputError(path, f"has {data.x.shape[1]} units but the model in {args.run_dir} was fitted "
                               f"to {fit.n_units}: compare it with data of the same units (--units)")
    if data.encoding != fit.encoding:
        raise InputError(path, f"holds {data.encoding} data but the model in {args.run_dir} was fitted "
                               f"to {fit.encoding} data")
    return data.x, rec.repeats, rec.bin_size


def run(args: argparse.Namespace) -> int:
    with RunFolder.open(args.output, kind="validate", option="-o/--output") as folder:
        return _validate_into(folder, args)


def _validate_into(folder, args: argparse.Namespace) -> int:
    from napari_vaemf.core.errors import ParameterError
    from napari_vaemf.core.extraction import Extraction
    from napari_vaemf.core.extraction.validation import plot_validation, validate
    from napari_vaemf.core.progress import drive
    from napari_vaemf.core.stats import split_half

    fit = load_run(args.run_dir)
    base = run_input_options(fit)
    x, repeats, bin_size = _load(args.data, args, base, fit)
    x_train = None
    if args.split == "odd-repeats":
        if not repeats:
            raise ParameterError(f"{args.data} has no repeats: use --split none and --train")
        x_train, x = split_half(x, repeats)
        repeats = repeats // 2
    if args.train is not None:
        x_train, _, _ = _load(args.train, args, base, fit)
    ex = None
    if (args.run_dir / "extraction.json").is_file():
        ex = Extraction.load(args.run_dir)
    settings = from_args(ValidationSettings, args)
    v = drive(validate(fit, x, x_train, ex, settings, repeats=repeats), desc="validate")
    out = {**v.to_json(), "bin_size": bin_size, "data": str(args.data)}
    with defer_sigint(reraise=False), folder.begin() as txn:  # both files at once
        txn.write_bytes("validation.json", (json.dumps(out, indent=2, default=float) + "\n").encode())
        plot_validation(v, txn.path("validation.png"))
        txn.commit(keep=True)
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
