"""The exact few-latent engine: product-decoder models with K <= 3 latents whose prior is
integrated on a positive-weight quadrature grid, so log p(x), p(z|x), I(X;Z), the model's
statistics and its samples are exact for the grid model (no encoder, no bounds).

- :class:`ExactConfig`, :class:`QuadratureModel` (decoder = the VAE's :class:`~napari_vaemf.
  core.vae.model.Decoder`, plus a :class:`Grid`), :class:`ExactFit` (``train()`` is a
  :class:`~napari_vaemf.core.progress.Progress` generator like ``vae.Fit.train``).
- :func:`lattice_grid` / :class:`Grid`: the quadrature; :func:`grid_stats`: exact mixture stats.
- :func:`exact_affordable`: whether a data set is small enough for the exact engine.
- :func:`distinct_patterns`: distinct rows with counts (what training runs over).
"""
from napari_vaemf.core.exact._afford import Affordability, exact_affordable
from napari_vaemf.core.exact._data import distinct_patterns
from napari_vaemf.core.exact._grid import Grid, lattice_grid
from napari_vaemf.core.exact._stats import grid_stats
from napari_vaemf.core.exact.fit import ExactFit
from napari_vaemf.core.exact.model import ExactConfig, QuadratureModel

__all__ = ["ExactConfig", "QuadratureModel", "ExactFit", "Grid", "lattice_grid", "grid_stats",
           "exact_affordable", "Affordability", "distinct_patterns"]
