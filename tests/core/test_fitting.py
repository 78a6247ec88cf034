"""The one place fits are made and reloaded (core.fitting): engine choice, defaults, checkpoints."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf.core.data import FitData, heldout_split
from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.fitting import choose_engine, load_fit, new_fit
from napari_vaemf.core.progress import drive
from napari_vaemf.core.vae.config import VAE_DEFAULTS, VAEConfig


def one_factor_spins(t=3000, n=10, seed=0):
    """Spins from a one-latent product model: s_i = ±1 with field 0.9 z (Curie-Weiss-like)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((t, 1))
    p = 1 / (1 + np.exp(-2 * 0.9 * z))
    return np.where(rng.random((t, n)) < p, 1, -1).astype(np.int8)


def data_of(x, encoding="spin", holdout=0.2):
    test, rule = heldout_split(len(x), holdout, 0, iid=True)
    return FitData(x, encoding, test, rule)


def test_engine_choice_follows_the_data_and_the_method():
    x = one_factor_spins(200)
    assert choose_engine(x, "spin", VAEConfig(latents=2))[0] == "exact"
    assert choose_engine(x, "spin", VAEConfig(latents=4))[0] == "vae"  # tensor grids stop at K = 3
    assert choose_engine(x, "spin", VAEConfig(latents=1, method="vae")) == ("vae", "asked for (--method vae)")
    vectors = np.random.default_rng(0).standard_normal((50, 4, 3)).astype(np.float32)
    engine, why = choose_engine(vectors, "vector", VAEConfig(latents=1))
    assert engine == "vae" and "vector" in why
    with pytest.raises(ParameterError, match="--method exact is not possible here: K = 5"):
        choose_engine(x, "spin", VAEConfig(latents=5, method="exact"))
    wide = np.zeros((10, 1500), np.int8)
    assert "units" in choose_engine(wide, "binary", VAEConfig(latents=1))[1]


def test_auto_settings_take_each_engines_defaults():
    from napari_vaemf.core.exact.config import ExactConfig

    auto = VAEConfig(latents=2)
    vae, exact = auto.for_engine("vae"), auto.for_engine("exact")
    assert {k: getattr(vae, k) for k in VAE_DEFAULTS} == VAE_DEFAULTS and vae.method == "vae"
    assert exact.epochs == ExactConfig.epochs and exact.lr == ExactConfig.lr and exact.features == -1
    given = VAEConfig(latents=2, epochs=7, lr=0.01, features=0)  # what a user sets applies to both
    for engine in ("vae", "exact"):
        got = given.for_engine(engine)
        assert (got.epochs, got.lr, got.features) == (7, 0.01, 0)
    assert VAEConfig(decoder="identity").for_engine("exact").features == 0


def test_default_vae_fits_of_short_recordings_take_enough_steps():
    """Auto batch size and epochs follow the training rows: >= 6,000 steps on short data, the
    plain defaults on long data, and whatever a user set stays."""
    from napari_vaemf.core.vae.config import VAE_MIN_STEPS
    from napari_vaemf.core.vae import Fit

    auto = VAEConfig(latents=2)
    vae = auto.for_engine("vae")
    short = vae.sized_for(5400, auto)
    steps = short.epochs * -(-5400 // short.batch_size)
    assert short.batch_size == 337 and steps >= VAE_MIN_STEPS
    assert short.patience == round(VAE_DEFAULTS["patience"] * short.epochs / VAE_DEFAULTS["epochs"])
    assert short.kl_warmup_epochs == pytest.approx(0.1 * short.epochs)  # no early collapse
    long = vae.sized_for(200_000, auto)
    assert (long.batch_size, long.epochs, long.patience, long.kl_warmup_epochs) == (1024, 100, 8, 5.0)
    assert vae.sized_for(500, auto).batch_size == 128
    given = VAEConfig(latents=2, epochs=7, batch_size=64, patience=3, kl_warmup_epochs=2)
    assert given.for_engine("vae").sized_for(5400, given) == given.for_engine("vae")
    x = np.where(np.random.default_rng(0).random((600, 8)) < 0.5, -1, 1).astype(np.int8)
    fit = Fit(x, "spin", VAEConfig(latents=1, method="vae"))
    assert fit.config.batch_size == 128 and fit.config.epochs * -(-540 // 128) >= VAE_MIN_STEPS


def test_default_fit_is_exact_chooses_its_decoder_and_reloads(tmp_path, one_torch_thread):
    x = one_factor_spins()
    fit = new_fit(data_of(x), VAEConfig(latents=1, epochs=6))
    assert fit.method == "exact" and "multiply-adds" in fit.metrics["engine_reason"]
    recs = drive(fit.train(), bar=False)
    assert fit.config.features in (0, 16)
    choice, kept = fit.metrics["decoder_choice"], fit.metrics["decoder_kept"]
    assert set(choice) == {"0", "16", "hopfield"} and kept in choice
    # the kept class is the simplest one no richer class beats by 2 standard errors
    assert max(choice.values()) - choice[kept] < 0.05
    assert (fit.config.measure == "hs") == (kept == "hopfield")
    ev = fit.evaluate()
    assert ev["method"] == "exact" and ev["iwae_k"] is None
    assert ev["elbo_nats"] == ev["loglik_nats"] and ev["test_elbo_nats"] == ev["test_loglik_nats"]
    assert len(ev["rate_per_latent_nats"]) == 1 and ev["rate_nats"] > 0.05
    assert fit.metrics["rates_matched"]
    # the model's exact rates equal the training rates after the default moment-matching step
    train = (x[fit.train_index] + 1) / 2
    assert np.allclose(fit.stats().rates, train.mean(0), atol=1e-6)
    path = fit.save(tmp_path / "model.pt")
    back = load_fit(path, x=x)
    assert type(back) is type(fit) and back.config.features == fit.config.features
    assert np.allclose(back.log_likelihood(x[:50]), fit.log_likelihood(x[:50]))
    assert back.evaluate()["test_loglik_nats"] == pytest.approx(ev["test_loglik_nats"], abs=1e-9)
    model_only = load_fit(path)
    assert model_only.x is None and model_only.sample(5).shape == (5, x.shape[1])
    with pytest.raises(InputError, match="differ from the data"):
        load_fit(path, x=-x)
    assert recs is not None


def test_exact_and_amortized_engines_give_the_same_model(one_torch_thread):
    """Where both run, the VAE's IWAE bound approaches the exact marginal likelihood from below."""
    x = one_factor_spins(t=4000, n=12, seed=3)
    data = data_of(x)
    exact = new_fit(data, VAEConfig(latents=1, features=0, epochs=15))
    vae = new_fit(data, VAEConfig(latents=1, method="vae", features=0, epochs=60, batch_size=256))
    drive(exact.train(), bar=False)
    drive(vae.train(), bar=False)
    ll_exact = exact.evaluate()["test_loglik_nats"]
    ll_vae = vae.evaluate()["test_loglik_nats"]
    assert vae.method == "vae" if hasattr(vae, "method") else True
    assert ll_vae <= ll_exact + 0.02  # a bound (plus sampling noise of 128 draws)
    assert ll_exact - ll_vae < 0.1  # and the same model, within what the bound leaves
    # the two decoders read the same order parameter: latents agree up to sign
    r = np.corrcoef(exact.latents(x[:500])[:, 0], vae.latents(x[:500])[:, 0])[0, 1]
    assert abs(r) > 0.95


def test_damaged_exact_checkpoints_are_refused_in_one_line(tmp_path, one_torch_thread):
    import torch

    x = one_factor_spins(600, 8)
    fit = new_fit(data_of(x), VAEConfig(latents=1, epochs=2, features=0))
    drive(fit.train(), bar=False)
    good = torch.load(fit.save(tmp_path / "model.pt"), weights_only=True)

    def damaged(name, change):
        ckpt = {k: (dict(v) if isinstance(v, dict) else v) for k, v in good.items()}
        ckpt["model"] = {k: v.clone() for k, v in good["model"].items()}
        change(ckpt)
        torch.save(ckpt, tmp_path / name)
        return tmp_path / name

    nan = next(k for k, v in good["model"].items() if v.is_floating_point())
    cases = [
        ("nan.pt", lambda c: c["model"][nan].fill_(float("nan")), "NaN or infinite"),
        ("nogrid.pt", lambda c: c.pop("grid"), "has no 'grid'"),
        ("badgrid.pt", lambda c: c["grid"].update(n=1), "grids are impossible"),
        ("unchosen.pt", lambda c: c["config"].update(features=-1), "never chosen"),
        ("shape.pt", lambda c: c.update(n_units=9), "does not have the shape"),
    ]
    for name, change, words in cases:
        with pytest.raises(InputError, match=words):
            load_fit(damaged(name, change))
    with pytest.raises(InputError, match="not a VAE: load it with"):
        from napari_vaemf.core.vae import Fit

        Fit.load(tmp_path / "model.pt")
