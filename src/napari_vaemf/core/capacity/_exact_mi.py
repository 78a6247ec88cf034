"""The bipartite mutual information of an exact (grid) model, I(X_A; X_B).

The grid model is a mixture of product distributions over its nodes, so the marginal of any
subset of units is the same mixture restricted to those units, and log p(x), log p(x_A),
log p(x_B) are all exact sums over the nodes. I(X_A; X_B) = E_x [log p(x) - log p(x_A) -
log p(x_B)] is then estimated by exact draws x of the model: the only error is the Monte-Carlo
average, reported as a 95 % interval.
"""
from __future__ import annotations

import numpy as np
import torch

from napari_vaemf.core.capacity._estimate import MIEstimate
from napari_vaemf.core.errors import ParameterError

__all__ = ["exact_bipartite_mi"]


@torch.no_grad()
def exact_bipartite_mi(fit, partition, samples: int = 2000, seed: int = 0) -> MIEstimate:
    """I(X_A; X_B) of the distribution an :class:`~napari_vaemf.core.exact.ExactFit` models,
    over ``samples`` exact draws (method "grid-exact", kind "model-based")."""
    from napari_vaemf.core.exact._data import as_01
    from napari_vaemf.core.exact._rows import Rows
    from napari_vaemf.core.exact.model import softmax_rows_

    if partition.n != fit.n_units:
        raise ParameterError(f"partition covers {partition.n} units, the fit {fit.n_units}")
    if samples < 2:
        raise ParameterError(f"samples must be >= 2, got {samples}")
    model, grid = fit.model, fit.grid
    x = torch.as_tensor(as_01(fit.sample(samples, seed=seed), fit.encoding), dtype=torch.float64)
    lg = model.logits(grid).double()
    lw = model.node_log_weights(grid, torch.float64, lg)  # the model's node measure

    def log_p(cols: np.ndarray) -> np.ndarray:
        c = torch.as_tensor(np.asarray(cols, np.int64))
        return softmax_rows_(model.log_joint(Rows(x[:, c]), lg[:, c], lw))[2].numpy()

    a, b = np.asarray(partition.a), np.asarray(partition.b)
    v = log_p(np.arange(fit.n_units)) - log_p(a) - log_p(b)
    value, se = float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))
    return MIEstimate(value, value - 1.96 * se, value + 1.96 * se, "grid-exact", "model-based",
                      partition.name, {"stderr": se, "samples": samples, "nodes": grid.size})
