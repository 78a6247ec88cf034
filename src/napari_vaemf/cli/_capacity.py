"""``vaemf capacity INPUT -o DIR``: rate vs bipartite MI, and how many latents the data need.

Writes ``DIR/capacity.json`` (bipartite_mi_nats, sweep, latents_needed, mean_field, the
verdict and every fit) and ``DIR/capacity.png``.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path

import numpy as np

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.progress import drive

__all__ = ["register", "run"]

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "capacity", help="sweep the number of latents; compare rate with bipartite MI",
        description="Fit product-decoder VAEs with K = 1..K_max latents (several seeds), "
        "estimate the bipartite mutual information of the data, and report how many latent "
        "variables the data need, or that they have no low-dimensional mean-field description.")
    p.add_argument("input", type=Path, help="recording or configuration file (.nwb .mat .npy .npz)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output directory")
    p.add_argument("--max-latents", type=int, default=4, help="largest K to fit (default 4)")
    p.add_argument("--seeds", type=int, default=2, help="fits per K (default 2)")
    p.add_argument("--epochs", type=int, default=60, help="maximum epochs per fit (default 60)")
    p.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    p.add_argument("--decoders", nargs="+", choices=("mlp", "identity"), default=["mlp"],
                   help="decoder kinds to fit per K and seed; the one with the best validation "
                   "ELBO is kept (default mlp; 'mlp identity' also catches weak couplings where "
                   "the mlp decoder collapses)")
    p.add_argument("--lr", type=float, default=3e-3, help="learning rate (default 3e-3)")
    p.add_argument("--patience", type=int, default=8,
                   help="epochs without validation improvement before a fit stops (default 8)")
    p.add_argument("--tolerance", type=float, default=0.05,
                   help="absolute held-out log-likelihood tolerance, nats/sample (default 0.05)")
    p.add_argument("--layout", choices=("auto", "none", "ordered", "lattice"), default="auto",
                   help="which cuts besides random halves: contiguous halves of ordered units, "
                   "lattice halves of a square lattice (auto: lattice for 2-D Ising files)")
    p.add_argument("--max-samples", type=int, default=None,
                   help="use at most this many samples (evenly spaced), to keep runs short")
    p.add_argument("--no-infonce", action="store_true", help="skip the InfoNCE critic bound")
    p.add_argument("--no-model-mi", action="store_true", help="skip the model-based MI of each fit")
    p.add_argument("--device", default="auto", help="torch device (default auto)")
    p.add_argument("--seed", type=int, default=0, help="seed of cuts, splits and fits")
    p.set_defaults(func=run)


def _layout(choice: str, model: str | None, n: int):
    side = int(round(math.sqrt(n)))
    if choice == "lattice" or (choice == "auto" and model == "ising2d"):
        if side * side != n:
            raise ParameterError(f"--layout lattice needs a square number of units, got {n}")
        return (side, side)
    return "ordered" if choice == "ordered" else None


def run(args: argparse.Namespace) -> int:
    from napari_vaemf.core.capacity import (
        CapacitySettings,
        capacity_sweep,
        default_partitions,
        exact_estimates,
        plot_report,
    )
    from napari_vaemf.core.recordings import load_recording
    from napari_vaemf.core.vae import VAEConfig

    rec = load_recording(args.input)
    x = rec.samples()
    encoding = "binary" if rec.encoding == "counts" else rec.encoding
    if encoding != "vector":
        x = x.astype(np.int8)
    t = x.shape[0]
    test_index = None
    if rec.repeats and rec.repeats >= 2:  # hold out whole repeats: odd ones
        bins = t // rec.repeats
        test_index = np.concatenate([np.arange(r * bins, (r + 1) * bins)
                                     for r in range(1, rec.repeats, 2)])
        log.info("holding out the %d odd repeats of %d bins", rec.repeats // 2, bins)
    if args.max_samples and t > args.max_samples:
        keep = np.linspace(0, t - 1, args.max_samples).astype(np.int64)
        if test_index is not None:
            is_test = np.zeros(t, bool)
            is_test[test_index] = True
            test_index = np.flatnonzero(is_test[keep])
        x = x[keep]
    n = x.shape[1]
    layout = _layout(args.layout, rec.model, n)
    settings = CapacitySettings(tolerance_nats=args.tolerance, layout=layout,
                                infonce=not args.no_infonce, model_mi=not args.no_model_mi,
                                seed=args.seed, decoders=tuple(args.decoders))
    parts = default_partitions(n, layout, settings.random_partitions, args.seed)
    config = VAEConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                       seed=args.seed, device=args.device, patience=args.patience)
    patterns = rec.truth.get("patterns") if rec.model == "hopfield" else None
    job = capacity_sweep(x, encoding, args.max_latents, args.seeds, config=config,
                         test_index=test_index, settings=settings, partitions=parts,
                         directions=patterns,
                         reference=exact_estimates(rec.model, rec.params, rec.truth, parts))
    report = drive(job)
    args.output.mkdir(parents=True, exist_ok=True)
    out = report.to_json()
    out["input"] = str(args.input)
    out["encoding"] = encoding
    (args.output / "capacity.json").write_text(json.dumps(out, indent=1, default=str))
    plot_report(report, args.output / "capacity.png")
    sys.stdout.write(report.verdict() + "\n")
    return 0

