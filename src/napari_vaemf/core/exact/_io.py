"""What an :class:`~napari_vaemf.core.exact.fit.ExactFit` offers beside training, so that every
consumer of a fit (CLI, widgets, extraction, validation, capacity) takes either engine:
checkpoints (:meth:`save`, :meth:`load`, :meth:`from_checkpoint`), draws of the aggregate
posterior (:meth:`posterior_draws`) and the model's mixture components
(:meth:`prior_probabilities`).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from napari_vaemf.core.configs import jsonable
from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.exact._checkpoint import grid_from_state, grid_state
from napari_vaemf.core.exact._data import as_01, distinct_patterns
from napari_vaemf.core.exact.config import ExactConfig

__all__ = ["ExactFitIO"]

log = logging.getLogger(__name__)


class ExactFitIO:
    """Mixin of :class:`ExactFit` (uses its model, grids, data and book-keeping)."""

    # --- draws ----------------------------------------------------------------------------
    def posterior_draws(self, n: int, seed: int = 0, data: np.ndarray | None = None) -> np.ndarray | None:
        """``n`` draws z (n, K) of the aggregate posterior (1/T) Σ_t p(z | x_t) over the fit's
        data (or ``data``): a row at random, then a node by its exact posterior weight (the
        strict Hopfield class: z from its Gaussian posterior, :meth:`_hs_draws`).
        ``None`` when the fit holds no data."""
        x = data if data is not None else self.x
        if x is None:
            return None
        rng = np.random.default_rng(seed)
        rows = rng.choice(len(x), size=n, replace=len(x) < n)
        if self.config.measure == "hs":  # p(z | x) = N(Wᵀx, I) exactly: continuous draws
            return self._hs_draws(np.asarray(x)[rows], rng)
        pat, _, inv = distinct_patterns(as_01(np.asarray(x)[np.sort(rows)], self.encoding))
        post = self.model.posterior(torch.as_tensor(pat, dtype=torch.float32))  # (U, G), distinct only
        cdf = np.cumsum(post, 1)
        cdf /= cdf[:, -1:]
        cdf += np.arange(len(cdf))[:, None]  # pattern u's cdf on [u, u + 1]: one sorted array
        pick = np.searchsorted(cdf.ravel(), inv + rng.random(len(inv))) - inv * self.grid.size
        return self.grid.nodes[np.clip(pick, 0, self.grid.size - 1)]

    def prior_draws(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` draws z (n, K) of the model's latent measure: N(0, I) (the prior), or for the
        strict Hopfield class (``config.measure = "hs"``) exact draws of the tilted measure
        N(z) Π_i Z_i(φ_i(z)) / Z: x from the model, then z ~ p(z | x) = N(Wᵀx, I)."""
        rng = np.random.default_rng(seed)
        if self.config.measure != "hs":
            return rng.standard_normal((n, self.config.latents))
        return self._hs_draws(self.model.sample(n, seed=int(rng.integers(2**31))), rng)

    def _hs_draws(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """z ~ N(Wᵀx, I) for rows ``x`` (binary {0,1} or spins ±1, the data's encoding): the
        exact latent posterior of the strict Hopfield class (fields φ = b + W z)."""
        w = self.model.decoder.readout.weight.detach().double().numpy()  # (N, K)
        mean = np.asarray(x, np.float64) @ w
        return mean + rng.standard_normal(mean.shape)

    def prior_probabilities(self, n: int, seed: int | None = None, chunk: int = 65536) -> Iterator[np.ndarray]:
        """P(x_i = 1 | z) (spin: P(s_i = +1 | z)) at ``n`` nodes drawn by their weights, in chunks
        of (<= chunk, N): the grid model is the mixture of these product Bernoullis (its exact
        statistics are :meth:`stats`)."""
        rng = np.random.default_rng(self.config.seed + 7 if seed is None else int(seed))
        p, w = self.model.probabilities(), self.model.node_weights()
        for a in range(0, n, chunk):
            yield p[rng.choice(len(w), size=min(chunk, n - a), p=w / w.sum())]

    # --- checkpoints ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write an atomic checkpoint that rebuilds this fit (:meth:`load`)."""
        from napari_vaemf.core.vae._checkpoint import CHECKPOINT_FORMAT, atomic_save

        if self.config.features < 0:
            raise ParameterError("train the fit before saving it (its decoder class is not chosen)")
        ckpt = {
            "format": CHECKPOINT_FORMAT, "engine": "exact",
            "config": self.config.to_dict(),
            "settings": None if self.settings is None else self.settings.to_dict(),
            "n_units": self.n_units, "encoding": self.encoding,
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "lattice": grid_state(self.lattice), "grid": grid_state(self.model.grid),
            "step": self.step, "epoch": self.epoch,
            "metrics": jsonable(self.metrics), "history": jsonable(self.history),
            "best_test_loglik": float(self.best_test_loglik), "train_seconds": self.train_seconds,
            "fingerprint": self.fingerprint, "n_samples": 0 if self.x is None else len(self.x),
            "test_index": torch.as_tensor(self.test_index, dtype=torch.int64),
            "time_base": jsonable(self.time_base),
        }
        return atomic_save(ckpt, path)

    @classmethod
    def load(cls, path: str | Path, x: np.ndarray | None = None, device: str | None = None):
        """Rebuild a fit from :meth:`save`'s file (or a run folder holding ``model.pt``); with
        ``x`` (the training data, checked by fingerprint) it can be evaluated or trained on."""
        from napari_vaemf.core.vae._checkpoint import load_checkpoint

        return cls.from_checkpoint(load_checkpoint(path), x=x, device=device, source=path)

    @classmethod
    def from_checkpoint(cls, ckpt: dict, x: np.ndarray | None = None, device: str | None = None,
                        source: Any = None):
        """Rebuild a fit from a checkpoint dict (``device`` is ignored: the exact engine runs on
        the CPU). See :meth:`load`."""
        from napari_vaemf.core.vae.config import VAEConfig

        config = ExactConfig.from_dict(ckpt["config"])
        settings = ckpt.get("settings")
        fit = cls(x, ckpt["encoding"], config, ckpt["test_index"].numpy() if x is not None else None,
                  n_units=ckpt["n_units"], time_base=ckpt.get("time_base"),
                  settings=VAEConfig.from_dict(settings) if isinstance(settings, dict) else None)
        if x is not None and fit.fingerprint != ckpt["fingerprint"]:
            raise InputError(source, "the data given differ from the data this model was trained on")
        fit.fingerprint = ckpt["fingerprint"]
        fit.model.load_state_dict(ckpt["model"])
        fit.lattice = grid_from_state(ckpt["lattice"], config.latents)
        fit.model.grid = grid_from_state(ckpt["grid"], config.latents)
        if "optimizer" in ckpt:
            fit.optimizer.load_state_dict(ckpt["optimizer"])
        fit.step, fit.epoch = int(ckpt["step"]), int(ckpt["epoch"])
        fit.metrics, fit.history = dict(ckpt["metrics"]), list(ckpt["history"])
        fit.best_test_loglik = float(ckpt["best_test_loglik"])
        fit.train_seconds = float(ckpt["train_seconds"])
        fit.n_samples = int(ckpt.get("n_samples", 0))
        fit.model.eval()
        return fit
