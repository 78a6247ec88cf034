"""Reading mean-field theories off a trained product decoder.

:func:`extract` dispatches on the theory name; :func:`theory_sample` draws configurations
from an :class:`Extraction` (in the data's encoding) by exact or MCMC sampling:

- ``"curie-weiss"`` -> βJ, βh (:mod:`.curie_weiss`);
- ``"hopfield"`` -> ±1 patterns ξ (N, P), β, per-pattern confidence (:mod:`.hopfield`);
- ``"maier-saupe"`` -> βJ and the nematic order S (:mod:`.maier_saupe`);
- ``"generalized-hopfield"`` -> fields h and real patterns ξ, J = ξξᵀ/N (:mod:`.generalized_hopfield`).
"""
from __future__ import annotations

import importlib

from napari_vaemf.core.extraction._settings import THEORIES, ExtractionSettings, ValidationSettings

__all__ = [
    "THEORIES",
    "ExtractionSettings",
    "ValidationSettings",
    "Extraction",
    "extract",
    "theory_model",
    "theory_sample",
    "sample_run_dir",
    "extract_curie_weiss",
    "extract_hopfield",
    "extract_maier_saupe",
    "extract_generalized_hopfield",
    "fit_hs_density",
    "resolve_mixing",
    "nematic_order",
]

# The read-offs (and torch) load on first use, so that reading the settings stays light.
_LAZY = {
    "Extraction": "_common",
    "extract": "_api", "theory_model": "_api", "theory_sample": "_api", "sample_run_dir": "_api",
    "extract_curie_weiss": "curie_weiss", "fit_hs_density": "curie_weiss",
    "extract_hopfield": "hopfield", "resolve_mixing": "hopfield",
    "extract_maier_saupe": "maier_saupe", "nematic_order": "maier_saupe",
    "extract_generalized_hopfield": "generalized_hopfield",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
