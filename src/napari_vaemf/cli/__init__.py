"""The ``vaemf`` command line: one sub-command per module in this package.

Each sub-command module ``cli/_<name>.py`` defines ``register(subparsers)``, which adds
its parser and sets ``func=run`` (a callable taking the parsed ``argparse.Namespace`` and
returning an exit code). Long work runs through :func:`napari_vaemf.core.progress.drive`.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from napari_vaemf import __version__
from napari_vaemf.core.errors import VaemfError

__all__ = ["main", "build_parser"]

# Sub-command modules, in the order `vaemf --help` lists them.
SUBCOMMANDS: tuple[str, ...] = (
    "_demo",
    "_simulate",
    "_info",
    "_fit",
    "_sample",
    "_capacity",
    "_extract",
    "_validate",
    "_batch",
    "_align",
    "_decode",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vaemf",
        description="Latent mean-field theories of neural and spin recordings with "
        "product-decoder VAEs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    command = "vaemf"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        command = f"vaemf {args.command}"
        level = logging.INFO if args.verbose else logging.WARNING
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
        # the handler filters too: Dask's distributed sets its own loggers to INFO, and a
        # --scheduler local:N sweep printed ~35 lines of its start-up and shut-down (worker
        # processes forked from this one inherit the handler, so theirs too)
        for handler in logging.getLogger().handlers:
            handler.setLevel(level)
        return int(args.func(args) or 0)
    except VaemfError as err:
        sys.stderr.write(f"{command}: error: {err}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"{command}: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
