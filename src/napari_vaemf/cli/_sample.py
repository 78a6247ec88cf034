"""``vaemf sample RUN_DIR --samples T -o OUT.npz``: new configurations from a fitted model.

The output is a configuration file (:mod:`napari_vaemf.core.configs`) in the encoding of the
training data: {0, 1} spikes stay {0, 1} (int8), ±1 spins stay ±1 (int8), unit vectors stay
(T, N, 3) float32.

Extension point: :data:`SOURCES` maps ``--source`` names to functions
``(fit, samples, seed, args) -> (configurations, params)``; ``"model"`` samples the VAE
(z ~ N(0, I), then the product decoder). Other sources (e.g. ``"theory"``, the mean-field
theory read off the decoder) register themselves here with :func:`add_source`.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

from napari_vaemf.core.errors import ParameterError

__all__ = ["register", "run", "SOURCES", "add_source"]

log = logging.getLogger(__name__)

Source = Callable[[Any, int, int, argparse.Namespace], "tuple[np.ndarray, dict]"]
SOURCES: dict[str, Source] = {}


def add_source(name: str, func: Source) -> None:
    """Make ``--source name`` call ``func(fit, samples, seed, args)``."""
    SOURCES[name] = func


def _from_model(fit, samples: int, seed: int, args: argparse.Namespace) -> tuple[np.ndarray, dict]:
    return fit.sample(samples, seed=seed), {"sampler": "VAE prior + product decoder"}


add_source("model", _from_model)


def _from_theory(fit, samples: int, seed: int, args: argparse.Namespace) -> tuple[np.ndarray, dict]:
    from napari_vaemf.core.extraction import sample_run_dir

    run_dir = args.run_dir if args.run_dir.is_dir() else args.run_dir.parent
    return sample_run_dir(run_dir, samples, seed), {"sampler": "extracted theory (vaemf extract), MCMC"}


add_source("theory", _from_theory)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sample", help="draw new configurations from a fitted VAE",
        description="Sample configurations from a run directory written by `vaemf fit` into a "
        "configuration .npz in the training data's encoding.")
    p.add_argument("run_dir", type=Path, help="run directory (or its model.pt)")
    p.add_argument("--samples", type=int, required=True, help="number of configurations T")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .npz file")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--source", choices=sorted(SOURCES), default="model",
                   help="what to sample: the fitted VAE (model) or the theory `vaemf extract` "
                   "read off it (theory)")
    p.add_argument("--device", default="cpu", help="device to sample on (cpu)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from napari_vaemf.core.configs import SampleSet, save_configurations
    from napari_vaemf.core.vae import Fit

    if args.samples < 1:
        raise ParameterError(f"--samples must be >= 1, got {args.samples}")
    fit = Fit.load(args.run_dir, device=args.device)
    x, extra = SOURCES[args.source](fit, args.samples, args.seed, args)
    params = {"run_dir": str(args.run_dir), "samples": args.samples, "seed": args.seed,
              "source": args.source, "encoding": fit.encoding, "latents": fit.config.latents,
              "fingerprint": fit.fingerprint, **extra}
    save_configurations(args.output, SampleSet(f"vae-{args.source}", x, params))
    sys.stdout.write(f"{args.samples} {fit.encoding} configurations of {fit.n_units} units -> "
                     f"{args.output}\n")
    return 0
