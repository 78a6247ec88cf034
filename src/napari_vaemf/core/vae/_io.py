"""Checkpoints of a :class:`~napari_vaemf.core.vae.fit.Fit`: :meth:`save` writes one atomically,
:meth:`load` and :meth:`from_checkpoint` rebuild the fit (its data checked by fingerprint).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from napari_vaemf.core.configs import jsonable
from napari_vaemf.core.errors import InputError
from napari_vaemf.core.vae._checkpoint import CHECKPOINT_FORMAT, atomic_save, load_checkpoint
from napari_vaemf.core.vae.config import VAEConfig

if TYPE_CHECKING:
    from napari_vaemf.core.vae.fit import Fit

__all__ = ["FitIO"]


class FitIO:
    """Mixin of :class:`~napari_vaemf.core.vae.fit.Fit` (its model, optimiser and book-keeping)."""

    def save(self, path: str | Path) -> Path:
        """Write an atomic checkpoint that rebuilds this fit's model (:meth:`load`)."""
        ckpt = {
            "format": CHECKPOINT_FORMAT,
            "config": self.config.to_dict(),
            "n_units": self.n_units,
            "encoding": self.encoding,
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "metrics": jsonable(self.metrics),
            "history": jsonable(self.history),
            "best_test_neg_elbo": self.best_test_neg_elbo,
            "train_seconds": self.train_seconds,
            "fingerprint": self.fingerprint,
            "n_samples": 0 if self.x is None else len(self.x),
            "test_index": torch.as_tensor(self.test_index, dtype=torch.int64),
            "time_base": jsonable(self.time_base),
        }
        return atomic_save(ckpt, path)

    @classmethod
    def load(cls, path: str | Path, x: np.ndarray | None = None, device: str | None = None) -> "Fit":
        """Rebuild a fit from :meth:`save`'s file (or a run directory holding ``model.pt``).

        With ``x`` (the training data) training and evaluation can continue on the same split;
        data whose fingerprint differs from the checkpoint's raise :class:`InputError`.
        """
        return cls.from_checkpoint(load_checkpoint(path), x=x, device=device, source=path)

    @classmethod
    def from_checkpoint(cls, ckpt: dict, x: np.ndarray | None = None, device: str | None = None,
                        source: str | Path | None = None) -> "Fit":
        """Rebuild a fit from a checkpoint dict already read (what :meth:`save` writes), e.g.
        one a child process sent; ``source`` names it in errors. See :meth:`load`."""
        if ckpt.get("engine", "vae") != "vae":
            raise InputError(source, f"this checkpoint holds an {ckpt['engine']} fit, not a VAE: "
                                     "load it with napari_vaemf.core.fitting.load_fit")
        config = VAEConfig.from_dict({**ckpt["config"], "method": "vae"})
        if device is not None:
            config.device = device
        test_index = ckpt["test_index"].numpy() if x is not None else None
        fit = cls(x, ckpt["encoding"], config, test_index, n_units=ckpt["n_units"],
                  time_base=ckpt.get("time_base"))
        if x is not None and fit.fingerprint != ckpt["fingerprint"]:
            raise InputError(source, "the data given differ from the data this model was trained on")
        fit.fingerprint = ckpt["fingerprint"]
        fit.model.load_state_dict(ckpt["model"])
        fit.optimizer.load_state_dict(ckpt["optimizer"])
        fit.step, fit.epoch = int(ckpt["step"]), int(ckpt["epoch"])
        fit.metrics, fit.history = dict(ckpt["metrics"]), list(ckpt["history"])
        fit.best_test_neg_elbo = float(ckpt["best_test_neg_elbo"])
        fit.train_seconds = float(ckpt["train_seconds"])
        fit.n_samples = int(ckpt["n_samples"])
        fit.model.eval()
        return fit
