"""The strict generalized Hopfield model as a class of the exact engine: its quadrature model
against enumeration of all 2^N states, its latent draws against the tilted measure, its energy
file, checkpoint and settings, and the default race keeping it on a Curie-Weiss magnet."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.exact import ExactConfig, ExactFit
from napari_vaemf.core.exact._strict_class import STRICT_KEY, strict_model
from napari_vaemf.core.extraction.energy import energy_of
from napari_vaemf.core.extraction.energy_report import energy_report
from napari_vaemf.core.progress import drive


def _states(n, encoding):
    x = np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.int8)
    return 2 * x - 1 if encoding == "spin" else x


def _strict_parameters(n, k, encoding, seed=0):
    """Fields and patterns of a strict model with real structure (binary: sparse firing)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.6, (n, k))
    b = rng.normal(-1.0 if encoding == "binary" else 0.1, 0.3, n)
    return b, w


@pytest.mark.parametrize("encoding", ["binary", "spin"])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_the_strict_class_is_the_quadratic_energy_to_enumeration(encoding, k):
    """log p(x) of the quadrature model = b·x + ½|Wᵀx|² - log Z with log Z summed over all 2^N
    states, for every state; the tilted node weights are normalised."""
    n = 10
    b, w = _strict_parameters(n, k, encoding, seed=k)
    model = strict_model(n, encoding, ExactConfig(latents=k), b, w)
    x = _states(n, encoding)
    v = x.astype(np.float64)
    energy = v @ b + 0.5 * ((v @ w) ** 2).sum(1)
    truth = energy - logsumexp(energy)
    ll = model.log_likelihood(model.prepare(x))
    # the model's parameters are float32: compare with the energy of exactly those
    w32 = model.decoder.readout.weight.detach().double().numpy()
    b32 = model.decoder.readout.bias.detach().double().numpy()
    e32 = v @ b32 + 0.5 * ((v @ w32) ** 2).sum(1)
    assert np.abs(ll - (e32 - logsumexp(e32))).max() < 1e-4  # the lattice's spacing 1.25
    assert np.abs(ll - truth).max() < 1e-4
    assert model.node_weights().sum() == pytest.approx(1.0, abs=1e-12)
    # a shifted lattice gives the same model to the rule's error; spacing 0.5: to ~1e-12
    ll_shift = model.log_likelihood(model.prepare(x), model.grid.shifted(np.zeros(k)))
    assert np.abs(ll_shift - ll).max() < 1e-4
    fine = model.grid.with_nodes(2 * model.grid.n - 1).with_nodes(4 * model.grid.n - 3)
    ll_fine = model.log_likelihood(model.prepare(x), fine)
    assert np.abs(ll_fine - (e32 - logsumexp(e32))).max() < 1e-9


@pytest.mark.parametrize("encoding", ["binary", "spin"])
def test_strict_latent_draws_follow_the_tilted_measure(encoding):
    """Draws of N(z) Π_i Z_i(φ_i(z)) / Z (x from the model, then z ~ N(Wᵀx, I)) have the
    measure's mean and covariance, computed by quadrature over the nodes."""
    n, k = 12, 2
    b, w = _strict_parameters(n, k, encoding, seed=5)
    fit = ExactFit(None, encoding, ExactConfig(latents=k, decoder="identity", measure="hs"), n_units=n)
    fit.model = strict_model(n, encoding, fit.config, b, w)
    z = fit.prior_draws(40000, seed=3)
    nodes, wt = fit.grid.nodes, fit.model.node_weights()
    mean = wt @ nodes
    cov = (nodes - mean).T @ ((nodes - mean) * wt[:, None])
    assert np.abs(z.mean(0) - mean).max() < 5 * np.sqrt(cov.diagonal().max() / len(z))
    assert np.allclose(np.cov(z.T), cov, atol=0.05 * np.abs(cov).max())


def _magnet(n=40, t=6000, beta_j=1.2, seed=0):
    from napari_vaemf.core.samplers.curie_weiss import sample_curie_weiss

    return drive(sample_curie_weiss(n, beta_j, samples=t, seed=seed), bar=False).configurations


def test_the_default_race_keeps_the_strict_class_on_a_magnet_and_it_reloads(tmp_path, one_torch_thread):
    """On Curie-Weiss spins (a quadratic energy of one projection) the default exact fit keeps
    the strict class; its held-out log-likelihood is the maximum-likelihood one's, its rates are
    the data's, its energy file gives its log p, and the checkpoint rebuilds it."""
    from napari_vaemf.core.samplers.curie_weiss import curie_weiss_log_prob

    x, x_new = _magnet(), _magnet(t=4000, seed=1)
    fit = ExactFit(x, "spin", ExactConfig(latents=1, epochs=8))
    drive(fit.train(), bar=False)
    choice = fit.metrics["decoder_choice"]
    assert set(choice) == {"0", "16", STRICT_KEY}
    assert fit.metrics["decoder_kept"] == STRICT_KEY and fit.config.measure == "hs"
    assert fit.metrics["grid_check"] == "shift" and fit.metrics["grid_converged"]
    assert fit.metrics["train_seconds"] == fit.train_seconds > fit.metrics["strict_seconds"] > 0
    assert fit.metrics["best_test_loglik"] == choice[STRICT_KEY] == fit.best_test_loglik
    gap = curie_weiss_log_prob(x_new, 1.2).mean() - fit.log_likelihood(x_new).mean()
    assert abs(gap) < 0.02  # 40 units, 5,400 training rows: k/n ~ 0.008
    train = (x[fit.train_index] + 1) / 2
    assert np.allclose(fit.stats().rates, train.mean(0), atol=1e-4)
    e = energy_of(fit)
    assert np.abs(e.log_prob(x_new[:300]) - fit.log_likelihood(x_new[:300])).max() < 1e-9
    # its quadratic share is 1: the strict model with its own log Z is the energy, no refit
    quad = energy_report(fit, x).quadratic
    assert quad["quadratic_share"] == pytest.approx(1.0, abs=1e-6) and quad["strict_seconds"] < 1.0
    back = ExactFit.load(fit.save(tmp_path / "model.pt"), x)
    assert back.config.measure == "hs" and back.grid.size == fit.grid.size
    assert np.array_equal(back.log_likelihood(x_new), fit.log_likelihood(x_new))
    drive(back.train(), bar=False)  # training again refits the strict class
    assert back.config.measure == "hs"
    assert back.evaluate()["test_loglik_nats"] == pytest.approx(fit.evaluate()["test_loglik_nats"], abs=1e-4)


def test_strict_class_settings_are_checked():
    with pytest.raises(ParameterError, match="measure"):
        ExactConfig(latents=2, measure="flat")
    with pytest.raises(ParameterError, match="identity"):
        ExactConfig(latents=2, measure="hs")  # the mlp decoder is the default
    with pytest.raises(ParameterError, match="identity"):
        ExactConfig(latents=2, decoder="identity", features=4, measure="hs")
    cfg = ExactConfig(latents=2, decoder="identity", measure="hs")
    assert cfg.features == 0 and ExactConfig.from_dict(cfg.to_dict()) == cfg
    assert ExactConfig.from_dict({"latents": 2}).measure == "prior"  # files written before it
    assert torch.get_default_dtype() == torch.float32
