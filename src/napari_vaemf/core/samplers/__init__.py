"""Equilibrium samplers of the reference models, each a generator returning a SampleSet."""
from napari_vaemf.core.samplers._common import integrated_autocorrelation_time
from napari_vaemf.core.samplers.curie_weiss import (
    curie_weiss_log_prob,
    curie_weiss_mean_field,
    curie_weiss_mean_magnetisation,
    curie_weiss_pm,
    sample_curie_weiss,
)
from napari_vaemf.core.samplers.ising2d import BETA_C, ising2d_energy, sample_ising2d
from napari_vaemf.core.samplers.maier_saupe import (
    BETA_J_TRANSITION,
    maier_saupe_free_energy,
    maier_saupe_mean_field_S,
    nematic_order,
    sample_maier_saupe,
)
from napari_vaemf.core.samplers.hopfield import (
    hopfield_energy,
    hopfield_exact_distribution,
    hopfield_mean_field,
    hopfield_patterns,
    sample_hopfield,
)

__all__ = [
    "sample_curie_weiss",
    "curie_weiss_pm",
    "curie_weiss_log_prob",
    "curie_weiss_mean_magnetisation",
    "curie_weiss_mean_field",
    "integrated_autocorrelation_time",
    "sample_hopfield",
    "hopfield_patterns",
    "hopfield_energy",
    "hopfield_exact_distribution",
    "hopfield_mean_field",
    "sample_maier_saupe",
    "maier_saupe_mean_field_S",
    "maier_saupe_free_energy",
    "nematic_order",
    "BETA_J_TRANSITION",
    "sample_ising2d",
    "ising2d_energy",
    "BETA_C",
]
