"""The read-off entry points: :func:`extract`, :func:`theory_model`, :func:`theory_sample`,
:func:`sample_run_dir` (re-exported lazily by the package)."""
from __future__ import annotations

from typing import Any

import numpy as np

from napari_vaemf.core.baselines import HopfieldModel
from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.extraction._common import Extraction
from napari_vaemf.core.extraction.curie_weiss import extract_curie_weiss
from napari_vaemf.core.extraction.generalized_hopfield import extract_generalized_hopfield, model_of
from napari_vaemf.core.extraction.hopfield import extract_hopfield
from napari_vaemf.core.extraction.maier_saupe import (
    extract_maier_saupe,
    sample_maier_saupe_hs,
)

__all__ = ["THEORIES", "extract", "theory_model", "theory_sample", "sample_run_dir"]

from napari_vaemf.core.extraction._settings import THEORIES

_EXTRACTORS = {
    "curie-weiss": extract_curie_weiss,
    "hopfield": extract_hopfield,
    "maier-saupe": extract_maier_saupe,
    "generalized-hopfield": extract_generalized_hopfield,
}


def extract(fit: Any, theory: str, seed: int = 0, **options: Any) -> Extraction:
    """Read ``theory`` (one of :data:`THEORIES`) off a trained :class:`~napari_vaemf.core.vae.Fit`."""
    if theory not in _EXTRACTORS:
        raise ParameterError(f"theory must be one of {THEORIES}, got {theory!r}")
    ex = _EXTRACTORS[theory](fit, seed=seed, **options)
    ex.bin_size = (getattr(fit, "time_base", None) or {}).get("bin_size")
    return ex


def theory_model(ex: Extraction) -> HopfieldModel:
    """The samplable Hopfield model of a ``hopfield`` or ``generalized-hopfield`` extraction."""
    if ex.theory == "hopfield":
        n = ex.patterns.shape[0]
        return HopfieldModel(h=np.zeros(n), xi=np.sqrt(ex.parameters["beta"]) * ex.patterns,
                             encoding="spin")
    if ex.theory == "generalized-hopfield":
        return model_of(ex)
    raise ParameterError(f"no Hopfield model for theory {ex.theory!r}")


def theory_sample(ex: Extraction, n_samples: int, seed: int = 0, n_units: int | None = None) -> np.ndarray:
    """``n_samples`` configurations of the extracted theory in the data's encoding.

    Curie-Weiss and Maier-Saupe need ``n_units`` (their read-off has no per-unit arrays).
    """
    if ex.theory in ("hopfield", "generalized-hopfield"):
        return theory_model(ex).sample(n_samples, seed=seed)
    if n_units is None:
        n_units = int(ex.diagnostics.get("n_units", 0)) or None
    if n_units is None:
        raise ParameterError(f"sampling {ex.theory} needs the number of units")
    if ex.theory == "curie-weiss":
        from napari_vaemf.core.progress import drive
        from napari_vaemf.core.samplers import sample_curie_weiss

        job = sample_curie_weiss(n_units, ex.parameters["beta_J"], ex.parameters["beta_h"],
                                 samples=n_samples, seed=seed)
        return drive(job, bar=False).configurations
    if ex.theory == "maier-saupe":
        return sample_maier_saupe_hs(n_units, ex.parameters["beta_J"], n_samples, seed=seed)
    raise ParameterError(f"unknown theory {ex.theory!r}")


def sample_run_dir(run_dir: Any, n_samples: int, seed: int = 0) -> np.ndarray:
    """Samples of the theory extracted into ``run_dir`` (``vaemf extract`` wrote
    ``extraction.json`` there), in the data's encoding; for ``vaemf sample --source theory``.
    A generalized-Hopfield read-off of an exact fit comes with its energy file
    (:mod:`.energy`), sampled exactly; other theories by their own samplers."""
    from pathlib import Path

    from napari_vaemf.core.errors import InputError

    run_dir = Path(run_dir)
    if not (run_dir / "extraction.json").is_file():
        raise InputError(run_dir, "no extraction.json here: run `vaemf extract RUN_DIR --theory ...` first")
    ex = Extraction.load(run_dir)
    energy_file = (ex.diagnostics or {}).get("energy_file")
    if ex.theory == "generalized-hopfield" and energy_file:  # the read-off energy, exactly
        from napari_vaemf.core.extraction.energy import load_energy

        return load_energy(run_dir / energy_file).sample(n_samples, seed=seed)
    return theory_sample(ex, n_samples, seed=seed)
