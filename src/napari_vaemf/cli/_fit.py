"""``vaemf fit INPUT -o RUN_DIR --latents K``: fit a product-decoder VAE to a recording.

INPUT is any file :func:`napari_vaemf.core.recordings.load_recording` reads (NWB, MATLAB,
NumPy rasters or spike lists, vaemf configuration .npz). Writes

- ``RUN_DIR/model.pt``: the checkpoint (rebuilds its own model: ``Fit.load(RUN_DIR)``);
- ``RUN_DIR/latents.npy``: (T, K) float32 posterior means of every sample / time bin;
- ``RUN_DIR/report.json``: sizes, timing and the likelihood numbers (nats per sample).

Ctrl-C stops training at the next progress record; the best model so far is still saved.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from napari_vaemf.core.errors import InputError
from napari_vaemf.core.progress import drive

__all__ = ["register", "run", "load_input"]

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "fit", help="fit a product-decoder VAE (a latent mean-field theory) to a recording",
        description="Fit a VAE with a product decoder p(x|z) = prod_i p(x_i|z) to binary spikes, "
        "+-1 spins or 3-D unit vectors; write the model, the latent trajectories and a report "
        "with held-out likelihoods (nats per sample) to RUN_DIR.")
    p.add_argument("input", type=Path, help="recording or configuration file (.nwb .mat .npy .npz)")
    p.add_argument("-o", "--output", type=Path, required=True, help="run directory to write")
    p.add_argument("--latents", type=int, default=1, help="number of latents K (1)")
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs (100; early stopping)")
    p.add_argument("--device", default="auto", help="auto (CUDA, MPS, CPU), cpu, cuda, mps (auto)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0); same seed, same fit on CPU")
    p.add_argument("--bin-size", type=float, default=None,
                   help="bin width in seconds for spike times (20 ms) or to re-bin a raster")
    p.add_argument("--holdout", type=float, default=None,
                   help="fraction of samples held out for early stopping and the report (0.1)")
    g = p.add_argument_group("training options")
    g.add_argument("--batch-size", type=int, default=None, help="samples per step (1024)")
    g.add_argument("--lr", type=float, default=None, help="Adam learning rate (3e-3)")
    g.add_argument("--decoder", choices=("mlp", "identity"), default=None,
                   help="order-parameter map g (mlp)")
    g.add_argument("--features", type=int, default=None,
                   help="outputs H of g = columns of the patterns W (0: H = K, fields linear in "
                   "g; H > K lets the fields bend on a K-dimensional manifold; mlp only)")
    g.add_argument("--lr-schedule", choices=("plateau", "onecycle"), default=None,
                   help="plateau: decay on held-out stalls (default); onecycle: warm-up, cosine down")
    g.add_argument("--train-k", type=int, default=None,
                   help="importance samples in the training bound (1 = ELBO)")
    g.add_argument("--iwae-k", type=int, default=None,
                   help="importance samples for the held-out log-likelihood (128)")
    p.set_defaults(func=run)


def load_input(path: Path, bin_size: float | None = None) -> tuple[np.ndarray, str, dict]:
    """(samples (T, N[, 3]), encoding, info) from any supported input file."""
    from napari_vaemf.core.recordings import load_recording

    rec = load_recording(path, bin_size=bin_size)
    if bin_size is not None and rec.bin_size is not None and rec.bin_size != bin_size:
        rec = rec.rebin(bin_size)
    x = rec.samples()
    encoding = "binary" if rec.encoding == "counts" else rec.encoding
    info = {"input": str(path), "bin_size": rec.bin_size, "recording_encoding": rec.encoding,
            "repeats": rec.repeats, "model": rec.model}
    return x, encoding, info


def _config(args: argparse.Namespace):
    from napari_vaemf.core.vae import VAEConfig

    opts = {"latents": args.latents, "device": args.device, "seed": args.seed}
    for name in ("epochs", "holdout", "batch_size", "lr", "decoder", "features", "lr_schedule",
                 "train_k", "iwae_k"):
        value = getattr(args, name)
        if value is not None:
            opts[name] = value
    return VAEConfig(**opts)


def run(args: argparse.Namespace) -> int:
    from napari_vaemf.core.vae import Fit

    config = _config(args)
    x, encoding, info = load_input(args.input, args.bin_size)
    if len(x) < 2:
        raise InputError(args.input, f"need at least 2 samples to fit, got {len(x)}")
    fit = Fit(x, encoding, config)
    log.info("fitting %s: %d samples x %d units (%s) on %s", args.input, len(x), fit.n_units,
             encoding, fit.device)
    code = 0
    try:
        drive(fit.train(), desc=f"fit K={config.latents}", bar=sys.stderr.isatty() or args.verbose)
    except KeyboardInterrupt:
        sys.stderr.write("vaemf fit: interrupted; saving the best model so far\n")
        code = 130
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    ev = fit.evaluate()
    fit.save(out / "model.pt")
    np.save(out / "latents.npy", fit.latents())
    report = {
        "n_samples": int(len(x)), "n_units": fit.n_units, "encoding": encoding,
        "latents": config.latents, "device": str(fit.device), "epochs": fit.epoch,
        "train_seconds": fit.metrics.get("train_seconds"),
        "samples_per_second": fit.metrics.get("samples_per_second"),
        **{k: ev[k] for k in ("elbo_nats", "test_elbo_nats", "test_loglik_nats", "iwae_k",
                              "rate_nats", "rate_per_latent_nats", "distortion_nats",
                              "n_train", "n_test")},
        "units": "nats per sample", "interrupted": code != 0,
        "config": config.to_dict(), **info,
    }
    tmp = out / ".report.json.tmp"
    tmp.write_text(json.dumps(report, indent=1, default=str))
    tmp.replace(out / "report.json")
    sys.stdout.write(
        f"{args.input.name}: K={config.latents}, {fit.epoch} epochs in {report['train_seconds']:.1f} s; "
        f"held-out log-likelihood {ev['test_loglik_nats']:.4f} nats/sample (IWAE k={ev['iwae_k']}), "
        f"rate {ev['rate_nats']:.3f} nats -> {out}\n")
    return code
