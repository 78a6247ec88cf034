"""A VAE fit whose latent collapsed trains other seeds and keeps the best (core/vae/fit.py)."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf.core.progress import drive
from napari_vaemf.core.samplers import sample_curie_weiss
from napari_vaemf.core.vae import Fit, VAEConfig
from napari_vaemf.core.vae.fit import collapsed

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _cw2(**kw):
    """Curie-Weiss (one latent needed) fitted with two latents: the second one collapses."""
    x = drive(sample_curie_weiss(12, 1.3, samples=1500, seed=4), bar=False).configurations
    cfg = dict(latents=2, epochs=30, patience=100, batch_size=128, encoder_widths=(32,), decoder_widths=(16,),
               iwae_k=8, device="cpu", kl_warmup_epochs=1)
    cfg.update(kw)
    return Fit(x, "spin", VAEConfig(**cfg))


def test_collapsed_rule():
    assert collapsed(np.array([1.0, 0.9, 0.1]))  # under a quarter of the median 0.9
    assert not collapsed(np.array([1.0, 0.9, 0.3]))
    assert not collapsed(np.array([0.7]))  # one latent: nothing to compare with
    assert not collapsed(np.zeros(3))  # no information anywhere


def test_collapsed_latent_restarts_and_keeps_the_best():
    fit = _cw2()
    drive(fit.train(), bar=False)
    info = fit.metrics["restarts"]
    tried = info["tried"]
    assert 2 <= len(tried) <= 3 and tried[0]["restart"] == 0 and collapsed(tried[0]["rate_per_latent_nats"])
    assert [t["seed"] for t in tried] == [1000 * t["restart"] for t in tried]
    best = min(tried, key=lambda t: t["best_test_neg_elbo"])
    assert info["kept"] == best["restart"]
    assert fit.best_test_neg_elbo == best["best_test_neg_elbo"]
    assert fit.epoch == best["epochs"]
    # the model in place is the kept one: its held-out objective is the kept value
    assert fit._heldout_neg_elbo() == pytest.approx(best["best_test_neg_elbo"], rel=1e-6)
    # without restarts the same fit is the first of them
    once = _cw2(restarts=0)
    drive(once.train(), bar=False)
    assert "restarts" not in once.metrics
    assert once.best_test_neg_elbo == tried[0]["best_test_neg_elbo"]


def test_stop_during_a_restart_keeps_the_better_model():
    fit = _cw2()
    job = fit.train()
    last = 0
    for rec in job:
        epoch = rec.metrics["epoch"]
        if epoch < last and epoch >= 2:  # the epochs started again: a restart is training
            break
        last = max(last, epoch)
    job.close()
    tried = fit.metrics["restarts"]["tried"]
    assert len(tried) == 2  # the first fit and the stopped restart
    best = min(t["best_test_neg_elbo"] for t in tried)
    assert fit.best_test_neg_elbo == best
    assert fit._heldout_neg_elbo() == pytest.approx(best, rel=1e-6)
