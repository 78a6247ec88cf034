"""Impossible settings, damaged checkpoints and diverged fits are refused in one line."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.progress import drive
from napari_vaemf.core.vae import Fit, VAEConfig
from napari_vaemf.core.vae._checkpoint import load_checkpoint, pick_device
from napari_vaemf.core.vae._outcome import check_trained, heldout_numbers, heldout_words


def spins(n=200, units=12, seed=0):
    rng = np.random.default_rng(seed)
    return np.where(rng.random((n, units)) < 0.5, 1, -1).astype(np.int8)


@pytest.mark.parametrize("kw, words", [
    ({"latents": 10_000}, r"--latents must be at most 1024"),
    ({"lr": math.inf}, r"--lr must be a finite number"),
    ({"lr": math.nan}, r"--lr must be a finite number"),
    ({"lr": -1e-3}, r"--lr must be > 0"),
    ({"device": "meta"}, r"--device must be auto, cpu, cuda, cuda:N or mps, got 'meta'"),
    ({"epochs": -1}, r"--epochs must be >= 1 \(0: the engine's default\)"),
    ({"batch_size": -5}, r"--batch-size must be >= 1"),
    ({"method": "mcmc"}, r"--method must be auto, exact or vae"),
    ({"features": -2}, r"--features must be -1 \(auto\), 0 or >= latents"),
    ({"encoder_widths": (100_000, 100_000)}, r"10,000,2[0-9,]+ weights between hidden layers"),
])
def test_impossible_settings(kw, words):
    """Impossible values fail with the option's name (0 / -1 are the engine's "auto")."""
    with pytest.raises(ParameterError, match=words):
        VAEConfig(**kw)


def test_possible_settings_still_pass():
    VAEConfig(latents=64, device="cuda:1", holdout=0.0, epochs=1)
    with pytest.raises(ParameterError, match="--device must be"):
        pick_device("meta")


@pytest.fixture(scope="module")
def saved(tmp_path_factory, ):
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("run") / "model.pt"
    fit = Fit(spins(), "spin", VAEConfig(latents=2, epochs=1, batch_size=64, device="cpu"))
    drive(fit.train(), bar=False)
    fit.save(path)
    return path, torch.load(path, weights_only=True)


def _write(tmp_path, ckpt, name="bad.pt"):
    path = tmp_path / name
    torch.save(ckpt, path)
    return path


def test_a_good_checkpoint_loads(saved):
    path, _ = saved
    assert Fit.load(path).n_units == 12


def test_a_checkpoint_without_its_model(saved, tmp_path):
    _, ckpt = saved
    bad = {k: v for k, v in ckpt.items() if k != "model"}
    with pytest.raises(InputError, match=r"bad\.pt: checkpoint has no 'model'"):
        load_checkpoint(_write(tmp_path, bad))


def test_wrong_tensor_shapes_or_unit_count(saved, tmp_path):
    _, ckpt = saved
    wrong = dict(ckpt, model=dict(ckpt["model"]))
    wrong["model"]["decoder.readout.weight"] = torch.zeros(5, 2)
    with pytest.raises(InputError, match=r"model weight decoder\.readout\.weight is \(5, 2\), but n_units=12 "
                                         r"and 2 latents make it \(12, 2\)"):
        load_checkpoint(_write(tmp_path, wrong))
    with pytest.raises(InputError, match=r"model weight .* but n_units=100"):
        load_checkpoint(_write(tmp_path, dict(ckpt, n_units=100)))
    with pytest.raises(InputError, match=r"checkpoint field 'n_units' is a str, not a int"):
        load_checkpoint(_write(tmp_path, dict(ckpt, n_units="12")))


def test_a_config_claiming_1e8_latents_allocates_nothing(saved, tmp_path):
    _, ckpt = saved
    bad = dict(ckpt, config=dict(ckpt["config"], latents=100_000_000))
    with pytest.raises(InputError, match=r"bad\.pt: the checkpoint's config is impossible: --latents must be at most"):
        load_checkpoint(_write(tmp_path, bad))
    bad = dict(ckpt, n_units=10**12)  # a possible config, an impossible size
    with pytest.raises(InputError, match=r"the model of its config \(.* weights for 1,000,000,000,000 units.*\) "
                                         r"would take"):
        load_checkpoint(_write(tmp_path, bad))


def test_nan_weights_are_refused_before_sampling(saved, tmp_path):
    _, ckpt = saved
    bad = dict(ckpt, model=dict(ckpt["model"]))
    bad["model"]["decoder.readout.bias"] = torch.full((12,), float("nan"))
    with pytest.raises(InputError, match=r"model weight decoder\.readout\.bias holds NaN or infinite values: "
                                         r"the fit diverged; fit again with a lower --lr"):
        Fit.load(_write(tmp_path, bad))


@pytest.mark.parametrize("holdout", [0.2, 0.0])
def test_a_diverged_fit_is_reported_as_failed(holdout):
    torch.set_num_threads(1)
    fit = Fit(spins(400), "spin", VAEConfig(latents=1, epochs=3, lr=1e6, holdout=holdout, device="cpu"))
    drive(fit.train(), bar=False)
    with pytest.raises(ParameterError, match=r"the fit diverged: .* nats per sample \(a coin flip scores 8\.318 "
                                             r"on these 12 units\); fit again with a lower --lr \(now 1e\+06\)"):
        check_trained(fit)


def test_a_sane_fit_passes_and_nothing_held_out_is_said_in_words():
    torch.set_num_threads(1)
    fit = Fit(spins(400), "spin", VAEConfig(latents=1, epochs=2, holdout=0.0, device="cpu"))
    drive(fit.train(), bar=False)
    ev = fit.evaluate(iwae_k=4)
    check_trained(fit, ev)
    assert ev["n_test"] == 0 and math.isnan(ev["test_loglik_nats"])
    assert heldout_numbers(ev)["test_loglik_nats"] is None
    assert heldout_words(ev, "none") == "nothing held out (--holdout 0), so no held-out log-likelihood"
