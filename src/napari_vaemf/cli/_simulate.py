"""``vaemf simulate MODEL --n N --samples T --seed S -o FILE.npz``: equilibrium samples.

Models: curie-weiss (exact sampler), hopfield and maier-saupe (Hubbard-Stratonovich Gibbs
with parallel tempering), ising2d (Wolff clusters). The output is a configuration file
(see :mod:`napari_vaemf.core.configs`); the same arguments and seed give the same bytes.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from napari_vaemf.core.configs import save_configurations
from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.progress import drive

__all__ = ["register", "run", "make_job", "MODELS"]

log = logging.getLogger(__name__)

MODELS = ("curie-weiss", "hopfield", "maier-saupe", "ising2d")
# option -> models it applies to (None: all)
_APPLIES = {
    "beta_j": ("curie-weiss", "maier-saupe"),
    "beta_h": ("curie-weiss",),
    "beta": ("hopfield", "ising2d"),
    "patterns": ("hopfield",),
    "bias": ("hopfield",),
    "field": ("hopfield",),
    "length": ("ising2d",),
    "chains": ("hopfield", "maier-saupe", "ising2d"),
    "burn_in": ("hopfield", "maier-saupe", "ising2d"),
    "thin": ("hopfield", "maier-saupe", "ising2d"),
    "temperatures": ("hopfield", "maier-saupe"),
}
DEFAULT_N = {"curie-weiss": 64, "hopfield": 100, "maier-saupe": 200}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "simulate", help="draw equilibrium samples of a solvable model into a .npz",
        description="Draw equilibrium configurations of Curie-Weiss, Hopfield, Maier-Saupe or "
        "2-D Ising models and save them, with the ground truth and every parameter, as a "
        "configuration .npz (open it in napari or fit it with `vaemf fit`).")
    p.add_argument("model", choices=MODELS, help="model to sample")
    p.add_argument("--n", type=int, default=None,
                   help="units N (curie-weiss 64, hopfield 100, maier-saupe 200; ising2d: L*L)")
    p.add_argument("--samples", type=int, default=10000, help="configurations T (10000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0); same seed, same file")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .npz file")
    g = p.add_argument_group("model options")
    g.add_argument("--beta-j", type=float, default=None,
                   help="coupling beta*J (curie-weiss 1.2, maier-saupe 9.0; transition 6.81)")
    g.add_argument("--beta-h", type=float, default=None, help="field beta*h (curie-weiss, 0)")
    g.add_argument("--beta", type=float, default=None,
                   help="inverse temperature (hopfield 1.4; ising2d beta_c = 0.4407)")
    g.add_argument("--patterns", default=None,
                   help="hopfield: number of random patterns (3), or a .npy/.npz/.txt file "
                   "holding an (N, P) array of +-1")
    g.add_argument("--bias", type=float, default=None,
                   help="hopfield: pattern bias, P(xi=+1) = (1+bias)/2 (0)")
    g.add_argument("--field", type=float, default=None, help="hopfield: uniform field h (0)")
    g.add_argument("--length", type=int, default=None, help="ising2d: lattice side L (16)")
    g.add_argument("--chains", type=int, default=None, help="parallel chains (sampler default)")
    g.add_argument("--burn-in", type=int, default=None, help="burn-in sweeps (sampler default)")
    g.add_argument("--thin", type=int, default=None, help="sweeps between recorded samples (hopfield default: twice the autocorrelation time measured on the burn-in; others 1)")
    g.add_argument("--temperatures", type=int, default=None,
                   help="parallel-tempering replicas (hopfield, maier-saupe; default automatic)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _read_patterns(spec: str) -> np.ndarray | int:
    try:
        return int(spec)
    except ValueError:
        pass
    path = Path(spec)
    if not path.is_file():
        raise InputError(path, "no such file (--patterns takes a count or an (N, P) array file)")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                key = "patterns" if "patterns" in z.files else z.files[0]
                arr = z[key]
        elif path.suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            arr = np.loadtxt(path, ndmin=2)
    except (OSError, ValueError) as err:
        raise InputError(path, f"cannot read patterns ({err})") from err
    if arr.ndim != 2 or not np.isin(arr, (-1, 1)).all():
        raise InputError(path, f"patterns must be an (N, P) array of -1/+1, got shape {arr.shape}")
    return arr.astype(np.int8)


def make_job(args: argparse.Namespace):
    """The sampler generator for parsed arguments (ParameterError on impossible options)."""
    from napari_vaemf.core import samplers  # here, not at import: every vaemf command loads this module

    model = args.model
    for opt, models in _APPLIES.items():
        if getattr(args, opt, None) is not None and model not in models:
            flag = "--" + opt.replace("_", "-")
            raise ParameterError(f"{flag} does not apply to {model} (it applies to "
                                 f"{', '.join(models)})")
    extra = {k: getattr(args, k) for k in ("chains", "burn_in", "thin")
             if getattr(args, k, None) is not None}
    if model == "ising2d":
        length = args.length
        if length is None:
            length = 16 if args.n is None else int(round(args.n ** 0.5))
        if args.n is not None and args.n != length * length:
            raise ParameterError(f"ising2d has N = L*L spins; --n {args.n} is not {length}^2")
        beta = samplers.BETA_C if args.beta is None else args.beta
        return samplers.sample_ising2d(length, beta, args.samples, args.seed, **extra)
    n = DEFAULT_N[model] if args.n is None else args.n
    if args.temperatures is not None:
        extra["n_temperatures"] = args.temperatures
    if model == "curie-weiss":
        bj = 1.2 if args.beta_j is None else args.beta_j
        return samplers.sample_curie_weiss(n, bj, args.beta_h or 0.0, args.samples, args.seed)
    if model == "maier-saupe":
        bj = 9.0 if args.beta_j is None else args.beta_j
        return samplers.sample_maier_saupe(n, bj, args.samples, args.seed, **extra)
    pat = _read_patterns(args.patterns) if args.patterns is not None else 3
    kwargs = dict(beta=1.4 if args.beta is None else args.beta, samples=args.samples,
                  seed=args.seed, bias=args.bias or 0.0, h=args.field, **extra)
    if isinstance(pat, int):
        return samplers.sample_hopfield(n, n_patterns=pat, **kwargs)
    if args.n is not None and args.n != pat.shape[0]:
        raise ParameterError(f"--n {args.n} but the patterns have N = {pat.shape[0]} rows")
    if args.bias is not None:
        raise ParameterError("--bias applies to random patterns, not to a patterns file")
    return samplers.sample_hopfield(pat.shape[0], n_patterns=pat.shape[1], patterns=pat,
                                    **kwargs)


def run(args: argparse.Namespace) -> int:
    if args.output.suffix != ".npz":
        raise ParameterError(f"the output file must end in .npz, got {args.output}")
    if args.output.parent and not args.output.parent.exists():
        raise InputError(args.output.parent, "output directory does not exist")
    job = make_job(args)
    result = drive(job, desc=f"simulate {args.model}", bar=not args.no_progress)
    path = save_configurations(args.output, result)
    shape = "x".join(str(d) for d in result.configurations.shape)
    sys.stdout.write(f"wrote {path}: {args.model}, configurations {shape} "
                     f"({result.encoding}), truth: {', '.join(sorted(result.truth)) or '-'}\n")
    diag = result.params.get("diagnostics") or {}
    shown = []
    for key, value in diag.items():
        if isinstance(value, float):
            shown.append(f"{key}={value:.3g}")
        elif isinstance(value, list) and value:
            shown.append(f"min {key}={min(value):.2f}")
    if shown:
        sys.stdout.write("diagnostics: " + ", ".join(shown) + "\n")
    return 0
