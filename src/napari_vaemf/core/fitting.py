"""The one place a fit is made or reloaded: ``new_fit(data, config)`` and ``load_fit(path)``.

The CLI (``vaemf fit``), the Fit widget's child process, the capacity sweep and the scripts
call these, so the choice of engine is made once:

- ``exact``: :class:`~napari_vaemf.core.exact.ExactFit`, the marginal likelihood summed over a
  quadrature of the prior (log-likelihoods, posteriors, rates and statistics exact for the
  grid model); binary or spin data, K <= 3, when :func:`~napari_vaemf.core.exact.
  exact_affordable` accepts the data's size.
- ``vae``: :class:`~napari_vaemf.core.vae.Fit`, the amortized VAE (encoder, ELBO / IWAE
  bounds): vectors, many latents, or data too large for the grid.

``config.method = "auto"`` (the default) takes exact wherever it is affordable; asking for
``exact`` where it is not raises a one-line :class:`ParameterError` saying why.

What every fit offers (both engines): ``train()`` (a Progress generator), ``evaluate(x=None)``
(nats per sample: ``test_loglik_nats``, ``rate_nats``, ``rate_per_latent_nats``, ``elbo_nats``,
...; ``method`` says whether the log-likelihood is exact or a bound), ``latents(x)``,
``sample(n)``, ``fields(z)``, ``summary()``, ``save(path)``, ``rate_per_latent()``,
``prior_probabilities(n)``, attributes ``config``, ``encoding``, ``n_units``, ``x``,
``test_index``, ``epoch``, ``metrics``, ``time_base``, ``method`` and ``model`` (with the
decoder's ``W``, ``b``, ``g``).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from napari_vaemf.core.data import FitData
from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.vae.config import VAEConfig

__all__ = ["new_fit", "load_fit", "choose_engine"]

log = logging.getLogger(__name__)


def choose_engine(x: np.ndarray, encoding: str, config: VAEConfig) -> tuple[str, str]:
    """``(engine, reason)`` for data ``x`` in ``encoding`` and ``config.method``."""
    from napari_vaemf.core.exact import exact_affordable

    if config.method == "vae":
        return "vae", "asked for (--method vae)"
    from napari_vaemf.core.recordings._packed import PackedRaster

    if isinstance(x, PackedRaster):  # too large to hold densely
        why = (f"the {len(x):,} x {x.shape[1]:,} raster is streamed from bits (too large to hold "
               "densely): the amortized VAE trains on batches drawn from all of it")
    elif encoding not in ("binary", "spin"):
        why = f"{encoding} data take the amortized VAE"
    else:
        n_units, k = int(x.shape[1]), config.latents
        ok = exact_affordable(n_units, k, len(x))  # rows bound the distinct patterns
        if not ok.ok and 1 <= k <= 3 and ok.work > 0:
            from napari_vaemf.core.exact._data import distinct_patterns

            ok = exact_affordable(n_units, k, len(distinct_patterns(np.asarray(x) > 0)[1]))
        if ok.ok:
            return "exact", ok.reason
        why = ok.reason
    if config.method == "exact":
        raise ParameterError(f"--method exact is not possible here: {why}")
    return "vae", why


def new_fit(data: FitData, config: VAEConfig | None = None):
    """A fit of ``data`` with ``config`` (not trained yet: drive ``fit.train()``), by the
    engine :func:`choose_engine` picks; ``fit.metrics["engine_reason"]`` says why."""
    config = config if config is not None else VAEConfig()
    engine, reason = choose_engine(data.x, data.encoding, config)
    log.info("engine %s: %s", engine, reason)
    if engine == "exact":
        from napari_vaemf.core.exact import ExactFit

        fit = ExactFit.from_data(data, config)
    else:
        from napari_vaemf.core.vae import Fit

        fit = Fit.from_data(data, config)
    fit.metrics["engine_reason"] = reason
    return fit


def load_fit(path: str | Path, x: np.ndarray | None = None, device: str | None = None) -> Any:
    """The fit a checkpoint (``model.pt`` or a run folder) holds, of either engine; with ``x``
    (its training data, checked by fingerprint) it can be evaluated or trained further."""
    from napari_vaemf.core.vae._checkpoint import load_checkpoint, pick_device

    if device is not None:
        pick_device(device)  # a one-line error for a device that does not exist here
    ckpt = load_checkpoint(path)
    if ckpt.get("engine", "vae") == "exact":
        from napari_vaemf.core.exact import ExactFit

        return ExactFit.from_checkpoint(ckpt, x=x, device=device, source=path)
    from napari_vaemf.core.vae import Fit

    return Fit.from_checkpoint(ckpt, x=x, device=device, source=path)
