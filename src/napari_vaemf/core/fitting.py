"""The one entry point that turns prepared data into a fit: ``new_fit(data, config)``.

The CLI (``vaemf fit``), the Fit widget and the scripts call it, so the choice of fitting
engine is made in one place.
"""
from __future__ import annotations

from napari_vaemf.core.data import FitData
from napari_vaemf.core.vae.config import VAEConfig

__all__ = ["new_fit"]


def new_fit(data: FitData, config: VAEConfig | None = None):
    """A fit of ``data`` with ``config`` (not trained yet: drive ``fit.train()``)."""
    from napari_vaemf.core.vae import Fit

    return Fit.from_data(data, config)
