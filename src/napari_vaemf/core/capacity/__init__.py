"""Capacity: the VAE's rate against the data's bipartite mutual information.

A product decoder p(x|z) = Π_i p(x_i|z) makes the halves of x independent given z, so the
model's I(X_A; X_B) <= I(X; Z) <= rate. The data need rate >= I(X_A; X_B) for every
bipartition. This package estimates both, sweeps the number of latents and says how many
collective variables the data need — or that there is no low-dimensional mean-field
description.
"""
from napari_vaemf.core.capacity._estimate import (
    MIEstimate,
    half_statistics,
    plugin_bipartite_mi,
    plugin_mi,
)
from napari_vaemf.core.capacity._exact import (
    curie_weiss_bipartite_mi,
    curie_weiss_half_joint,
    enumerate_bipartite_mi,
    exact_estimates,
    hopfield_bipartite_mi,
    hopfield_half_states,
    mutual_information_from_log_joint,
)
from napari_vaemf.core.capacity._partitions import (
    Bipartition,
    contiguous_halves,
    default_partitions,
    lattice_halves,
    random_halves,
)
from napari_vaemf.core.capacity._report import (
    CapacityReport,
    SweepPoint,
    draw_report,
    headline_mi,
    plot_report,
)
from napari_vaemf.core.capacity._settings import CapacitySettings

__all__ = [
    "per_sample_loglik",
    "Bipartition",
    "random_halves",
    "contiguous_halves",
    "lattice_halves",
    "default_partitions",
    "MIEstimate",
    "plugin_mi",
    "half_statistics",
    "plugin_bipartite_mi",
    "mutual_information_from_log_joint",
    "curie_weiss_half_joint",
    "curie_weiss_bipartite_mi",
    "hopfield_half_states",
    "hopfield_bipartite_mi",
    "enumerate_bipartite_mi",
    "exact_estimates",
    "InfoNCEConfig",
    "infonce_bipartite_mi",
    "RateSummary",
    "fit_rate",
    "model_bipartite_mi",
    "SweepPoint",
    "CapacityReport",
    "headline_mi",
    "plot_report",
    "draw_report",
    "CapacitySettings",
    "capacity_sweep",
    "compare_sizes",
    "data_bipartite_mi",
    "decide",
]

# torch-backed parts load on first use, so that reading CapacitySettings (the CLI's option
# parser, the widget form) stays light.
_LAZY = {
    "InfoNCEConfig": "_infonce", "infonce_bipartite_mi": "_infonce",
    "RateSummary": "_model", "fit_rate": "_model", "model_bipartite_mi": "_model",
    "capacity_sweep": "_sweep", "compare_sizes": "_sizes", "data_bipartite_mi": "_sweep",
    "decide": "_sweep", "per_sample_loglik": "_sweep",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
