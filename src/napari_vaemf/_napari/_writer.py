"""napari writer contribution: save a raster or configuration image layer as a vaemf ``.npz``.

The file is a configuration file of :mod:`napari_vaemf.core.configs` (``configurations`` (T, N)
int8 or (T, N, 3) float32, ``model``, ``params`` JSON, truth arrays), so
``load_configurations``, ``vaemf fit`` and this plugin's reader all open it. Spike counts are
saved as binary (count > 0), the encoding used for fitting; the source file, bin size and
unit ids go into ``params``.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from napari_vaemf.core.configs import SampleSet, save_configurations
from napari_vaemf.core.errors import InputError

__all__ = ["write_configurations"]

log = logging.getLogger(__name__)


def write_configurations(path: str, data: Any, meta: dict) -> list[str]:
    """Write one image layer's data (units x bins[, 3]) to ``path``; return [path]."""
    out = Path(path)
    if out.suffix.lower() != ".npz":
        out = out.with_suffix(".npz")
    if isinstance(data, (list, tuple)):  # multiscale: the full-resolution level
        data = data[0]
    info = dict((meta.get("metadata") or {}).get("vaemf") or {})
    x = np.asarray(data.compute() if hasattr(data, "compute") else data)
    if x.ndim not in (2, 3):
        raise InputError(meta.get("name"), f"layer data of shape {x.shape} is not a raster")
    x = np.swapaxes(x, 0, 1)  # (units, bins[, 3]) -> (T, N[, 3])
    encoding = info.get("encoding")
    if x.ndim == 3:
        configs = x.astype(np.float32)
    elif encoding == "spin" or (encoding is None and x.min() < 0):
        configs = np.where(x > 0, 1, -1).astype(np.int8)
    else:
        configs = (x > 0).astype(np.int8)
    params = dict(info.get("params") or {})
    for key in ("source", "bin_size", "t_start", "repeats", "unit_ids"):
        if info.get(key) is not None:
            params.setdefault(key, info[key])
    truth = {k: np.asarray(v) for k, v in (info.get("truth") or {}).items()}
    sample = SampleSet(
        model=str(info.get("model") or "recording"), configurations=configs, params=params, truth=truth
    )
    save_configurations(out, sample)
    log.info("wrote %s (%d configurations of %d units)", out, configs.shape[0], configs.shape[1])
    return [str(out)]
