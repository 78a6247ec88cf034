"""What the sub-commands share: the input options of every command that reads a recording,
and reading the time base of a run (so commands on a run use its bin size and window)."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from napari_vaemf.core.data import InputOptions, read_input
from napari_vaemf.core.errors import InputError
from napari_vaemf.core.runs import read_run
from napari_vaemf.core.settings import add_options, from_args

__all__ = ["add_input_options", "input_options", "read_recording", "run_input_options",
           "load_run", "is_run"]


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """``--variable --layout --bin-size --t-start --t-stop --units`` (from InputOptions)."""
    add_options(parser, InputOptions, title="input options")


def input_options(args: argparse.Namespace, base: InputOptions | None = None) -> InputOptions:
    """The InputOptions given on the command line, on top of ``base`` (e.g. a run's)."""
    return from_args(InputOptions, args, base)


def read_recording(path: Path, args: argparse.Namespace, base: InputOptions | None = None):
    """(Recording, InputOptions) of ``path`` read with the command line's input options."""
    options = input_options(args, base)
    return read_input(path, options), options


def is_run(path: Path) -> bool:
    """True for a run folder written by ``vaemf fit`` (it holds model.pt)."""
    return Path(path).is_dir() and (Path(path) / "model.pt").is_file()


def load_run(run_dir: Path):
    """The fit saved in ``run_dir`` (on the CPU), with a one-line error when there is none."""
    from napari_vaemf.core.fitting import load_fit

    if not is_run(run_dir):
        raise InputError(run_dir, "no model.pt here: train one with `vaemf fit`")
    # model.pt as the run committed it (older runs have no manifest)
    with read_run(run_dir, allow_unmanaged=True, only=("model.pt",)):
        return load_fit(Path(run_dir) / "model.pt", device="cpu")


def run_input_options(fit) -> InputOptions:
    """The input options a run was fitted with, its resolved bin size and window included."""
    tb = fit.time_base or {}
    stored = dict(tb.get("input_options") or {})
    names = {f.name for f in dataclasses.fields(InputOptions)}
    options = InputOptions(**{k: v for k, v in stored.items() if k in names})
    return dataclasses.replace(options, bin_size=tb.get("bin_size") or options.bin_size)
