"""What the read-off energy says about a recording: its attractors and its quadratic share.

:func:`energy_report` takes an exact fit and the configurations it was fitted to (with the
fit's held-out rows) and returns the numbers ``vaemf extract --theory generalized-hopfield``
and the Theory widget add to ``extraction.json``:

- ``attractors`` / ``silent_state``: zero-temperature descent of the energy from every
  recorded bin (:func:`~napari_vaemf.core.extraction.attractors.attractor_summary`);
- ``quadratic_share`` = (ℓ_strict − ℓ_ind) / (ℓ_energy − ℓ_ind), held-out log-likelihoods
  per bin of the strict generalized Hopfield model with K attractive patterns (exact
  maximum likelihood, :func:`~napari_vaemf.core.baselines.fit_strict_hopfield`), of the
  independent model, and of the read-off energy: how much of the energy's gain over
  independent units a quadratic energy keeps.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_vaemf.core.extraction.attractors import attractor_summary
from napari_vaemf.core.extraction.energy import Energy, energy_of

__all__ = ["EnergyReport", "energy_report", "quadratic_share"]

log = logging.getLogger(__name__)


@dataclass
class EnergyReport:
    """The read-off energy of a fit and what it says about the recording."""

    energy: Energy
    attractors: list[dict]  # non-silent attractors, sorted by basin fraction
    silent_state: dict  # {"is_attractor", "fraction"} of the all-silent configuration
    basin: np.ndarray  # (T,) attractor index per bin (-1: the silent state)
    quadratic: dict  # quadratic_share and the held-out log-likelihoods behind it

    def summary(self) -> dict[str, Any]:
        """The top-level entries of ``extraction.json``."""
        return {"attractors": self.attractors, "silent_state": self.silent_state,
                "quadratic_share": self.quadratic.get("quadratic_share"),
                "quadratic": self.quadratic}


def quadratic_share(energy: Energy, x_train: np.ndarray, x_test: np.ndarray,
                    patterns: int, strict: Any = None) -> dict[str, float]:
    """``{"quadratic_share", "strict_loglik", "independent_loglik", "energy_loglik",
    "strict_seconds", "patterns"}``, log-likelihoods in nats per held-out row. ``strict``: the
    strict model already fitted to ``x_train`` (a :class:`StrictHopfield`), else it is fitted."""
    from napari_vaemf.core.baselines import IndependentModel
    from napari_vaemf.core.baselines._strict import fit_strict_hopfield

    t0 = time.perf_counter()
    if strict is None:
        strict = fit_strict_hopfield(x_train, patterns, energy.encoding)
    seconds = time.perf_counter() - t0
    ind = IndependentModel.fit(x_train)
    l_s, l_i = strict.loglik(x_test), ind.loglik(x_test)
    l_e = float(np.mean(energy.log_prob(x_test)))
    share = (l_s - l_i) / (l_e - l_i) if l_e - l_i > 1e-9 else float("nan")
    log.info("quadratic share %.3f (strict %.4f, independent %.4f, energy %.4f nats)",
             share, l_s, l_i, l_e)
    return {"quadratic_share": share, "strict_loglik": l_s, "independent_loglik": l_i,
            "energy_loglik": l_e, "strict_seconds": seconds, "patterns": patterns}


def energy_report(fit: Any, x: np.ndarray, test_index: np.ndarray | None = None
                  ) -> EnergyReport:
    """The energy of the exact ``fit`` (:func:`energy_of`), the attractors of every row of
    ``x`` (the recording it was fitted to) and the quadratic share judged on ``test_index``
    (default: the fit's own held-out rows; none: the share is left out)."""
    energy = energy_of(fit)
    attractors, silent, basin = attractor_summary(energy, x)
    if test_index is None:
        test_index = getattr(fit, "test_index", None)
    quad: dict = {}
    if test_index is not None and len(test_index) and len(test_index) < len(x):
        train = np.ones(len(x), bool)
        train[test_index] = False
        k = int(fit.config.latents)
        quad = quadratic_share(energy, x[train], x[test_index], min(k, 3), _own_strict(fit, test_index))
    return EnergyReport(energy, attractors, silent, basin, quad)


def _own_strict(fit: Any, test_index: np.ndarray):
    """The fit itself as a :class:`StrictHopfield` when it is the strict class (``measure =
    "hs"``) trained on exactly the rows outside ``test_index``: its quadratic share is 1 and
    needs no second fit. None otherwise."""
    from napari_vaemf.core.baselines._strict import FIT_NODES, StrictHopfield, hs_log_partition

    own = getattr(fit, "test_index", None)
    if getattr(fit.config, "measure", "prior") != "hs" or own is None or not np.array_equal(
            np.sort(own), np.sort(np.asarray(test_index))):
        return None
    w = fit.model.decoder.readout.weight.detach().double().numpy()
    b = fit.model.decoder.readout.bias.detach().double().numpy()
    nodes = 2 * FIT_NODES[w.shape[1]]  # the lattice fit_strict_hopfield's log Z uses
    return StrictHopfield(b, w, fit.encoding, hs_log_partition(b, w, fit.encoding == "spin", nodes), nodes)
