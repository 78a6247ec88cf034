"""Checkpoints of exact fits: the same file format as the VAE's (``model.pt``, written
atomically, read with ``weights_only``), marked ``"engine": "exact"``.

Beside the decoder's weights a checkpoint holds the two grids that define the fitted model:
the training lattice and the evaluation grid (nodes per axis, centre, axes, radius), so a
loaded fit reports exactly the numbers the trained one did.
"""
from __future__ import annotations

import os

import numpy as np
import torch

from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.exact._grid import MAX_LATENTS, Grid, lattice_grid

__all__ = ["grid_state", "grid_from_state", "check_exact_checkpoint"]

_FIELDS: dict[str, type | tuple[type, ...]] = {
    "config": dict, "n_units": int, "encoding": str, "model": dict, "step": int, "epoch": int,
    "metrics": dict, "history": list, "best_test_loglik": (float, int), "train_seconds": (float, int),
    "fingerprint": (str, type(None)), "test_index": torch.Tensor, "lattice": dict, "grid": dict,
}


def grid_state(grid: Grid) -> dict:
    """What rebuilds an unshifted grid: nodes per axis, centre, axes, radius (json-able)."""
    return {"n": int(grid.n), "centre": grid.centre.tolist(), "axes": grid.axes.tolist(),
            "half_width": float(grid.half_width)}


def grid_from_state(state: dict, latents: int) -> Grid:
    """The grid :func:`grid_state` describes."""
    return lattice_grid(latents, int(state["n"]), np.asarray(state["centre"], np.float64),
                        np.asarray(state["axes"], np.float64), float(state["half_width"]))


def check_exact_checkpoint(ckpt: dict, path: str | os.PathLike) -> None:
    """Refuse an exact checkpoint that could not be rebuilt: every field with its type, a
    possible config, grids that can be built, and finite weights of the right shapes."""
    from napari_vaemf.core.exact.config import EXACT_ENCODINGS, ExactConfig
    from napari_vaemf.core.exact.model import QuadratureModel
    from napari_vaemf.core.vae._checkpoint import check_fields

    check_fields(ckpt, _FIELDS, path)
    if ckpt["encoding"] not in EXACT_ENCODINGS or ckpt["n_units"] < 1:
        raise InputError(path, f"exact checkpoint with encoding {ckpt['encoding']!r} and "
                               f"{ckpt['n_units']} units")
    try:
        config = ExactConfig.from_dict(ckpt["config"])
        if config.features < 0 or not 1 <= config.latents <= MAX_LATENTS:
            raise ParameterError("the decoder class was never chosen")
        for name in ("lattice", "grid"):
            grid_from_state(ckpt[name], config.latents)
    except (ParameterError, TypeError, ValueError, KeyError) as err:
        raise InputError(path, f"the checkpoint's config or grids are impossible: {err}") from err
    with torch.device("meta"):
        expected = QuadratureModel(ckpt["n_units"], ckpt["encoding"], config,
                                   grid=grid_from_state(ckpt["grid"], config.latents)).state_dict()
    stored = ckpt["model"]
    if set(expected) != set(stored):
        raise InputError(path, "the model weights do not match the checkpoint's config")
    for name, want in expected.items():
        got = stored[name]
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(want.shape):
            raise InputError(path, f"model weight {name} does not have the shape {tuple(want.shape)}")
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            raise InputError(path, f"model weight {name} holds NaN or infinite values")
