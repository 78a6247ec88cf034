"""The exact few-latent engine: product-decoder models with K <= 3 latents whose prior is
integrated on a positive-weight quadrature grid, so log p(x), p(z|x), I(X;Z), the model's
statistics and its samples are exact for the grid model (no encoder, no bounds).

- :class:`ExactConfig` (``config.py``, no torch), :class:`QuadratureModel` (decoder = the
  VAE's :class:`~napari_vaemf.core.vae.model.Decoder`, plus a :class:`Grid`),
  :class:`ExactFit` (``train()`` is a :class:`~napari_vaemf.core.progress.Progress` generator
  like ``vae.Fit.train``; it offers what every fit offers, see :mod:`napari_vaemf.core.fitting`).
- :func:`lattice_grid` / :class:`Grid`: the quadrature; :func:`grid_stats`: exact mixture stats.
- :func:`exact_affordable`: whether a data set is small enough for the exact engine.
- :func:`distinct_patterns`: distinct rows with counts (what training runs over).

torch is imported on first use of a torch-backed name (the config and the affordability rule
stay light).
"""
import importlib

from napari_vaemf.core.exact._afford import Affordability, exact_affordable
from napari_vaemf.core.exact._grid import Grid, lattice_grid
from napari_vaemf.core.exact.config import ExactConfig

__all__ = ["ExactConfig", "QuadratureModel", "ExactFit", "Grid", "lattice_grid", "grid_stats",
           "exact_affordable", "Affordability", "distinct_patterns"]

_LAZY = {
    "QuadratureModel": "napari_vaemf.core.exact.model",
    "ExactFit": "napari_vaemf.core.exact.fit",
    "grid_stats": "napari_vaemf.core.exact._stats",
    "distinct_patterns": "napari_vaemf.core.exact._data",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
