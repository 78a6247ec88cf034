"""Data checks and the fit summary handed to writers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.vae.model import ENCODINGS

__all__ = ["FitSummary", "check_data"]


@dataclass
class FitSummary:
    """What a saved fit is made of, for writers such as ``save_fit_to_nwb`` (duck-typed)."""

    latents: np.ndarray  # (T, K) posterior means of every sample / time bin
    patterns: np.ndarray | None  # (N, H) decoder W for binary/spin data (H = config.features or K), None for vectors
    fields: np.ndarray | None  # (N,) decoder b for binary/spin data, None for vectors
    encoding: str  # "binary" | "spin" | "vector"
    config: dict = field(default_factory=dict)  # VAEConfig.to_dict()
    metrics: dict = field(default_factory=dict)  # evaluate() + training metrics


def check_data(x: Any, encoding: str, min_rows: int = 2) -> np.ndarray:
    """Validate configurations in ``encoding``; int8 for binary/spin, float32 vectors.

    A :class:`~napari_vaemf.core.recordings.PackedRaster` (binary by construction) is returned
    as it is: the fit reads its rows chunk by chunk."""
    if encoding not in ENCODINGS:
        raise ParameterError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
    from napari_vaemf.core.recordings._packed import PackedRaster

    if isinstance(x, PackedRaster):
        if encoding != "binary":
            raise InputError(None, f"bit-packed samples are binary, not {encoding}")
        if len(x) < min_rows or x.n_units < 1:
            raise InputError(None, f"need at least {min_rows} samples and 1 unit, got shape {x.shape}")
        return x
    x = np.asarray(x)
    want = 3 if encoding == "vector" else 2
    if x.ndim != want or (encoding == "vector" and x.shape[-1] != 3):
        shape = "(T, N, 3)" if encoding == "vector" else "(T, N)"
        raise InputError(None, f"{encoding} data must have shape {shape}, got {x.shape}")
    if x.shape[0] < min_rows or x.shape[1] < 1:
        raise InputError(None, f"need at least {min_rows} samples and 1 unit, got shape {x.shape}")
    if encoding == "vector":
        x = x.astype(np.float32, copy=False)
        if not np.all(np.isfinite(x)) or np.abs(np.linalg.norm(x, axis=-1) - 1).max() > 1e-3:
            raise InputError(None, "vector data must be finite unit vectors")
        return x
    allowed = (0, 1) if encoding == "binary" else (-1, 1)
    bad = ~np.isin(x, allowed)
    if bad.any():
        raise InputError(None, f"{encoding} data must hold only {allowed}; found {x[bad][0]!r}")
    return x.astype(np.int8, copy=False)
