"""The strict generalized Hopfield model as a decoder class of the exact engine.

p(x) ∝ exp(b·x + ½|Wᵀx|²) with K attractive patterns is, by the Hubbard-Stratonovich
transform, the product decoder φ(z) = b + W z (the identity map g) integrated over the
tilted node measure N(z) Π_i Z_i(φ_i(z)) (``ExactConfig.measure = "hs"``,
:meth:`~napari_vaemf.core.exact.model.QuadratureModel.node_log_weights`). Its parameters are
the exact maximum-likelihood fit of :func:`~napari_vaemf.core.baselines._strict.
strict_hopfield_job` (log Z on a lattice that follows the integrand's mass); this module puts
them into a :class:`QuadratureModel` on a lattice over that mass, so that every consumer of an
exact fit (held-out log-likelihood, statistics, sampling, the energy file, capacity) takes it.

The node posterior of a row is p(z | x) = N(Wᵀx, I) (unit width whatever the data), so a
lattice spacing of :data:`SPACING` = 1.25 units integrates it to ~1e-5 (the rectangle rule's
relative error for a Gaussian of unit width at spacing h is about 2 exp(-2π²/h²)); the ellipsoid of nodes covers the
points where the integrand is within e^-:data:`CUT` of its top (found on the box that holds
its mass, :func:`~napari_vaemf.core.baselines._strict.hs_box`) plus :data:`MARGIN`
posterior widths.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from napari_vaemf.core.baselines._strict import _box_grid, _log_g, hs_box, strict_hopfield_job
from napari_vaemf.core.exact._grid import HALF_WIDTH, Grid, lattice_grid
from napari_vaemf.core.exact.config import ExactConfig
from napari_vaemf.core.exact.model import QuadratureModel
from napari_vaemf.core.progress import Job

__all__ = ["STRICT_KEY", "hs_lattice", "strict_config", "strict_model", "fit_strict_class"]

STRICT_KEY = "hopfield"  # the strict class's name in metrics["decoder_choice"]
CUT = 20.0  # the lattice holds the nodes whose log-integrand is within CUT of the top
MARGIN = 2.0  # posterior widths (units of z) added around the ellipsoid that holds them
# most lattice spacing along any axis, in units of the posterior width: 1.25 integrates a
# row's posterior to ~1e-5 (log p within 1e-5 nats of the continuous model's) with half the
# nodes of spacing 1 (~1e-8): Hopfield N = 100, P = 3: 17,077 nodes instead of 33,401
SPACING = 1.25


def strict_config(config: ExactConfig) -> ExactConfig:
    """``config`` for the strict Hopfield class: identity decoder, H = K, the tilted measure."""
    return dataclasses.replace(config, decoder="identity", features=0, measure="hs")


def hs_lattice(b: np.ndarray, w: np.ndarray, spin: bool) -> Grid:
    """An unshifted lattice (spacing <= :data:`SPACING`) whose ball of nodes covers the mass of
    N(z) Π_i Z_i(b_i + W_i·z) (fields φ = b + W z; ``w`` (N, K))."""
    k = w.shape[1]
    lo, hi = hs_box(b, w, spin)
    z, log_w = _box_grid(lo, hi, 32)
    lf = log_w + _log_g(b[None, :] + z @ w.T, spin).sum(1)
    keep = z[lf > lf.max() - CUT]  # nodes holding all but e^-CUT of the mass
    centre = (keep.min(0) + keep.max(0)) / 2
    half = np.maximum((keep.max(0) - keep.min(0)) / 2, 1.0)
    reach = float(np.sqrt((((keep - centre) / half) ** 2).sum(1)).max())  # ellipsoid holding them
    semi = half * reach + MARGIN
    n = int(math.ceil(2 * float(semi.max()) / SPACING)) + 1
    return lattice_grid(k, n, centre, np.diag(semi / HALF_WIDTH), HALF_WIDTH)


def strict_model(n_units: int, encoding: str, config: ExactConfig, b: np.ndarray,
                 w: np.ndarray) -> QuadratureModel:
    """The strict Hopfield class with fields ``b`` (N,) and patterns ``w`` (N, K) (the strict
    fit's units: φ = b + W z, spins p(s_i | z) ∝ e^{s_i φ_i}) on its lattice (:func:`hs_lattice`)."""
    model = QuadratureModel(n_units, encoding, strict_config(config),
                            grid=hs_lattice(b, w, encoding == "spin"))
    with torch.no_grad():
        model.decoder.readout.weight.copy_(torch.as_tensor(w))
        model.decoder.readout.bias.copy_(torch.as_tensor(b))
    model.eval()
    return model


def fit_strict_class(x: np.ndarray, encoding: str, config: ExactConfig,
                     start: tuple[np.ndarray, np.ndarray] | None = None) -> Job[QuadratureModel]:
    """Exact maximum likelihood of the strict class with ``config.latents`` patterns on the
    training rows ``x`` (the data's encoding); yields the fit's Progress("strict", ...)
    records, returns the :class:`QuadratureModel`. ``start``: (b, W) to begin from."""
    strict = yield from strict_hopfield_job(x, config.latents, encoding, start=start)
    return strict_model(x.shape[1], encoding, config, strict.b, strict.w)
