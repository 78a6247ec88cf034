"""``vaemf fit INPUT -o RUN_DIR --latents K``: fit a product-decoder model to a recording.

The engine is chosen by :func:`napari_vaemf.core.fitting.new_fit`: the exact quadrature
likelihood for binary/spin data with K <= 3 where affordable, else the amortized VAE;
``report.json`` states it (``method``: exact or vae, ``loglik``: exact or bound, and why).

INPUT is any file :func:`napari_vaemf.core.recordings.load_recording` reads (NWB, MATLAB,
NumPy rasters or spike lists, vaemf configuration .npz). Writes

- ``RUN_DIR/model.pt``: the checkpoint (rebuilds its own model: ``Fit.load(RUN_DIR)``);
- ``RUN_DIR/latents.npy``: (T, K) float32 posterior means of every sample / time bin;
- ``RUN_DIR/report.json``: sizes, timing, the data's split and time base, and the
  likelihood numbers (nats per sample);
- ``RUN_DIR/manifest.json``: every file of the run with its sha256 (:mod:`napari_vaemf.core.runs`).

RUN_DIR is checked and locked before the data are read: a file, a read-only place or a
folder another vaemf process holds fails at once. The model, latents and a report are
written together (a kill leaves the previous run or none), then the held-out evaluation
adds its numbers to the report. Ctrl-C stops training at the next progress record and the
best model so far is still saved; Ctrl-C while saving waits until the run is complete.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from napari_vaemf.cli._common import add_input_options, read_recording
from napari_vaemf.core.data import FitData, prepare
from napari_vaemf.core.errors import InputError
from napari_vaemf.core.fitting import new_fit
from napari_vaemf.core.progress import drive
from napari_vaemf.core.settings import add_options, from_args
from napari_vaemf.core.vae._outcome import check_trained, heldout_numbers, heldout_words
from napari_vaemf.core.vae.config import VAEConfig

__all__ = ["register", "run", "load_input"]

log = logging.getLogger(__name__)

# held-out and training numbers of Fit.evaluate() that report.json states (nats per sample)
EVAL_KEYS = ("elbo_nats", "test_elbo_nats", "test_loglik_nats", "iwae_k", "rate_nats",
             "rate_per_latent_nats", "distortion_nats", "n_train", "n_test")
# extra numbers of exact fits (the grid the numbers are exact on, and how far from continuous)
EXACT_KEYS = ("nodes", "nodes_per_axis", "grid_delta_nats", "grid_delta_abs_nats", "grid_prior_mass")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "fit", help="fit a product-decoder VAE (a latent mean-field theory) to a recording",
        description="Fit a VAE with a product decoder p(x|z) = prod_i p(x_i|z) to binary spikes, "
        "+-1 spins or 3-D unit vectors; write the model, the latent trajectories and a report "
        "with held-out likelihoods (nats per sample) to RUN_DIR.")
    p.add_argument("input", type=Path, help="recording or configuration file (.nwb .mat .npy .npz)")
    p.add_argument("-o", "--output", type=Path, required=True, help="run directory to write")
    add_input_options(p)
    add_options(p, VAEConfig, title="fit settings")
    p.set_defaults(func=run)


def load_input(path: Path, args: argparse.Namespace | None = None, stream: bool = False) -> FitData:
    """The data of ``path`` prepared for fitting with the command line's options (``stream``:
    a large raster is packed one bit per cell, :func:`napari_vaemf.core.data.prepare`)."""
    rec, options = read_recording(path, args if args is not None else argparse.Namespace())
    holdout = getattr(args, "holdout", None)
    seed = getattr(args, "seed", None)
    return prepare(rec, VAEConfig.holdout if holdout is None else holdout,
                   VAEConfig.seed if seed is None else seed, options, stream=stream)


def decoder_report(fit) -> dict:
    """The decoder class a fit ended with (H, whether it is the strict Hopfield class, and the
    held-out numbers that chose it) and the theories that can be read off it (``vaemf
    extract``)."""
    from napari_vaemf.core.extraction._settings import theories_for

    cfg = fit.config
    h = cfg.features if cfg.features > 0 else cfg.latents
    return {"decoder": cfg.decoder, "features": int(h), "curved": bool(cfg.features > cfg.latents),
            "strict_hopfield": getattr(cfg, "measure", "prior") == "hs",
            "choice_test_loglik_nats": fit.metrics.get("decoder_choice"),
            "theories": theories_for(fit.encoding, cfg.latents, cfg.features)}


def run(args: argparse.Namespace) -> int:
    from napari_vaemf.core.runs import RunFolder, defer_sigint
    config = from_args(VAEConfig, args)
    # first: -o must be a folder this process can create, lock and write (one-line error)
    with RunFolder.open(args.output, kind="fit", option="-o/--output") as folder:
        data = load_input(args.input, args, stream=True)  # the VAE streams rasters too large to hold
        if len(data.x) < 2:
            raise InputError(args.input, f"need at least 2 samples to fit, got {len(data.x)}")
        fit = new_fit(data, config)
        method = getattr(fit, "method", "vae")
        log.info("fitting %s: %d samples x %d units (%s), %s engine on %s", args.input, len(data.x),
                 fit.n_units, data.encoding, method, fit.device)
        code = 0
        try:
            drive(fit.train(), desc=f"fit K={config.latents}", bar=sys.stderr.isatty() or args.verbose)
        except KeyboardInterrupt:
            sys.stderr.write("vaemf fit: interrupted; saving the best model so far "
                             "(further Ctrl-C waits until it is saved)\n")
            code = 130
        check_trained(fit)  # a diverged fit is an error, not a run (nothing written)
        report = {
            "n_samples": int(len(data.x)), "n_units": fit.n_units, "encoding": data.encoding,
            "latents": config.latents, "device": str(fit.device), "epochs": fit.epoch,
            "train_seconds": fit.metrics.get("train_seconds"),
            "samples_per_second": fit.metrics.get("samples_per_second"),
            "units": "nats per sample", "interrupted": code != 0, "evaluated": False,
            "method": method, "loglik": "exact" if method == "exact" else "bound",
            "engine_reason": fit.metrics.get("engine_reason"),
            "restarts": fit.metrics.get("restarts"),  # VAE: seeds trained after a latent collapsed
            "config": config.to_dict(), "engine_config": fit.config.to_dict(), "input": str(args.input), "data": data.describe(),
            "bin_size": data.time_base.get("bin_size"),
        }
        latents = fit.latents()
        if data.time_base.get("repeats"):  # the share of the latent variance the stimulus locks
            from napari_vaemf.core.trials import variance_partition

            report["stimulus_locked"] = variance_partition(latents, data.time_base["repeats"])
        # save first (model, latents, a report without held-out numbers), all at once; Ctrl-C
        # is held until the run is complete on disk, a kill leaves the previous run or none
        with defer_sigint(reraise=False) as held, folder.begin() as txn:
            fit.save(txn.path("model.pt"))
            txn.save_npy("latents.npy", latents)
            txn.write_json("report.json", report)
            txn.commit()
        if held.count:
            return 130
        # then the held-out evaluation (memory-bounded chunks); Ctrl-C here keeps the saved run
        try:
            ev = fit.evaluate()
        except KeyboardInterrupt:
            sys.stderr.write("vaemf fit: interrupted during evaluation; the run is saved without "
                             "held-out numbers\n")
            return 130
        check_trained(fit, ev)
        ev = heldout_numbers(ev)  # None, not NaN, when nothing was held out
        report.update({k: ev[k] for k in EVAL_KEYS}, evaluated=True)
        report.update({k: ev[k] for k in EXACT_KEYS if k in ev})
        report["decoder"] = decoder_report(fit)
        with defer_sigint(reraise=False) as held, folder.begin() as txn:
            txn.write_json("report.json", report)
            txn.commit(keep=True)
        code = 130 if held.count else code
    sys.stdout.write(
        f"{args.input.name}: K={config.latents} ({method}, "
        f"{getattr(fit, 'decoder_label', 'H=' + str(report['decoder']['features']))}), "
        f"{fit.epoch} epochs in {report['train_seconds']:.1f} s; "
        f"{heldout_words(ev, data.split)}, rate {ev['rate_nats']:.3f} nats -> {folder.path}\n")
    return code
