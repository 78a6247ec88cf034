"""Shared pieces of the extraction acceptance scripts: VAE fits with model selection."""
from __future__ import annotations

import time

import numpy as np
import torch

from napari_vaemf.core.progress import drive
from napari_vaemf.core.vae import Fit, VAEConfig


def fit_vae(x: np.ndarray, encoding: str, k: int, epochs: int = 40, seed: int = 0,
            decoders: tuple[str, ...] = ("mlp", "identity"), batch_size: int = 256,
            lr: float = 3e-3, warmup: float = 10.0, test_index=None,
            min_steps: int = 6000) -> tuple[Fit, dict]:
    """Train one VAE per decoder kind and keep the one with the best held-out -ELBO.

    The learned order-parameter map ("mlp") is needed for multi-modal push-forwards (ordered
    phases), the linear one ("identity") avoids posterior collapse in paramagnetic phases,
    where the signal is only in the fluctuations; the held-out ELBO decides, per data set.
    """
    torch.set_num_threads(1)
    steps_per_epoch = max(1, int(0.9 * len(x)) // batch_size)
    epochs = max(epochs, -(-min_steps // steps_per_epoch))  # small data sets need more epochs
    warmup = warmup * epochs / 40 if epochs > 40 else warmup
    best, info = None, {}
    for dec in decoders:
        cfg = VAEConfig(latents=k, epochs=epochs, batch_size=batch_size, lr=lr,
                        encoder_widths=(128,), decoder=dec, decoder_widths=(64,),
                        kl_warmup_epochs=warmup, patience=10, seed=seed)
        t0 = time.perf_counter()
        fit = Fit(x, encoding, cfg, test_index=test_index)
        drive(fit.train(), bar=False)
        info[dec] = {"test_neg_elbo": fit.best_test_neg_elbo, "epochs": fit.epoch,
                     "rate": fit.history[-1]["rate"], "seconds": time.perf_counter() - t0}
        if best is None or fit.best_test_neg_elbo < best.best_test_neg_elbo:
            best = fit
    info["chosen"] = best.config.decoder
    return best, info
