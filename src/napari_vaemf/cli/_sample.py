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
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from napari_vaemf.core.errors import InputError, ParameterError

__all__ = ["register", "run", "SOURCES", "add_source"]

log = logging.getLogger(__name__)

Source = Callable[[Any, int, int, argparse.Namespace], "tuple[np.ndarray, dict]"]
SOURCES: dict[str, Source] = {}


def add_source(name: str, func: Source) -> None:
    """Make ``--source name`` call ``func(fit, samples, seed, args)``."""
    SOURCES[name] = func


def _from_model(fit, samples: int, seed: int, args: argparse.Namespace) -> tuple[np.ndarray, dict]:
    exact = getattr(fit, "method", "vae") == "exact"
    return fit.sample(samples, seed=seed), {
        "sampler": "prior on the quadrature grid + product decoder (exact draws of the grid model)"
        if exact else "VAE prior + product decoder"}


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
    p.add_argument("--samples", type=_count, required=True, help="number of configurations T (e.g. 10000 or 1e4)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .npz file")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--source", choices=sorted(SOURCES), default="model",
                   help="what to sample: the fitted VAE (model) or the theory `vaemf extract` "
                   "read off it (theory)")
    p.add_argument("--device", default="cpu", help="device to sample on (cpu)")
    p.set_defaults(func=run)


# bytes per sampled unit while sampling: fields, uniforms and probabilities in float32 plus the
# int8 result for spins and spikes; Bingham matrices in float64 for unit vectors
_BYTES_PER_CELL = {"binary": 16, "spin": 16, "vector": 200}


def _count(text: str) -> int:
    """A whole number of configurations, also written like 1e4."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value.is_integer() and value >= 1):
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}")
    return int(value)


def _check_output(path: Path) -> None:
    """-o must be a new or replaceable file in an existing, writable folder (checked first)."""
    if path.is_dir():
        raise InputError(path, f"-o/--output is a folder; give a file name, e.g. {path / 'samples.npz'}")
    if not path.parent.is_dir():
        raise InputError(path, f"-o/--output: the folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(path, "-o/--output cannot be written here (permission denied)")


def _save(path: Path, sampleset) -> None:
    """Write the configuration file next to ``path`` and rename it into place: a failure or
    Ctrl-C leaves the old file, or none, never a partial one."""
    from napari_vaemf.core.configs import save_configurations

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_configurations(tmp, sampleset)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    from napari_vaemf.core.configs import SampleSet
    from napari_vaemf.core.limits import check_alloc
    from napari_vaemf.core.fitting import load_fit

    if args.samples < 1:
        raise ParameterError(f"--samples must be >= 1, got {args.samples}")
    _check_output(args.output)
    fit = load_fit(args.run_dir, device=args.device)
    check_alloc(args.samples * fit.n_units * _BYTES_PER_CELL[fit.encoding],
                f"--samples {args.samples:,} configurations of {fit.n_units} units",
                hint="draw fewer, or several files with different --seed")
    x, extra = SOURCES[args.source](fit, args.samples, args.seed, args)
    params = {"run_dir": str(args.run_dir), "samples": args.samples, "seed": args.seed,
              "source": args.source, "encoding": fit.encoding, "latents": fit.config.latents,
              "fingerprint": fit.fingerprint, **extra}
    _save(args.output, SampleSet(f"vae-{args.source}", x, params))
    sys.stdout.write(f"{args.samples} {fit.encoding} configurations of {fit.n_units} units -> "
                     f"{args.output}\n")
    return 0
