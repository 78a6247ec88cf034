"""Fit: training protocol, determinism, stopping, checkpoints, evaluation, physics on Curie-Weiss."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.progress import Progress, drive
from napari_vaemf.core.samplers import curie_weiss_log_prob, curie_weiss_pm, sample_curie_weiss
from napari_vaemf.core.vae import Fit, VAEConfig
from napari_vaemf.core.vae import _checkpoint


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _cw(n=12, beta_j=1.2, samples=3000, seed=0):
    return drive(sample_curie_weiss(n, beta_j, samples=samples, seed=seed), bar=False).configurations


def _small(**kw):
    base = dict(latents=1, epochs=3, batch_size=128, encoder_widths=(32,), decoder_widths=(16,),
                iwae_k=16, device="cpu")
    base.update(kw)
    return VAEConfig(**base)


def test_train_yields_progress_and_returns_metrics():
    fit = Fit(_cw(samples=1000), "spin", _small(epochs=2))
    records = []
    job = fit.train()
    while True:
        try:
            records.append(next(job))
        except StopIteration as stop:
            result = stop.value
            break
    assert all(isinstance(r, Progress) and r.stage == "train" for r in records)
    ends = [r for r in records if r.metrics["epoch"] > 0 and np.isfinite(r.metrics["test_neg_elbo"])]
    assert {r.metrics["epoch"] for r in ends} == {1, 2}
    keys = {"epoch", "step", "neg_elbo", "rate", "distortion", "test_neg_elbo", "samples_per_s", "elapsed"}
    assert keys <= set(records[-1].metrics)
    assert records[-1].step == records[-1].total == fit.step
    assert result["epochs"] == 2 and len(fit.history) == 2 and result["train_seconds"] > 0


def test_same_seed_same_result():
    x = _cw(samples=800)
    a, b = Fit(x, "spin", _small(seed=3)), Fit(x, "spin", _small(seed=3))
    drive(a.train(), bar=False)
    drive(b.train(), bar=False)
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(va, vb), k
    c = Fit(x, "spin", _small(seed=4))
    drive(c.train(), bar=False)
    assert not torch.equal(a.model.W, c.model.W)


def test_closing_mid_training_keeps_best_model():
    x = _cw(samples=2000)
    fit = Fit(x, "spin", _small(epochs=50, kl_warmup_epochs=0, patience=100))
    job = fit.train()
    for rec in job:
        if rec.metrics["epoch"] >= 2:
            break
    job.close()
    assert 2 <= fit.epoch < 50
    best = min(h["test_neg_elbo"] for h in fit.history)
    assert fit.best_test_neg_elbo == pytest.approx(best)
    # the model in place is the best one: recomputing its held-out -ELBO gives the best value
    assert fit._heldout_neg_elbo() == pytest.approx(best, rel=1e-6)
    assert fit.sample(5).shape == (5, x.shape[1])
    assert np.isfinite(fit.evaluate()["test_loglik_nats"])


def test_onecycle_schedule_rises_then_anneals():
    from napari_vaemf.core.vae.fit import onecycle_lr
    lrs = np.array([onecycle_lr(1e-2, s, 100) for s in range(100)])
    top = int(np.argmax(lrs))
    assert lrs[0] == pytest.approx(1e-2 / 25) and lrs[top] == pytest.approx(1e-2, rel=1e-3)
    assert 25 <= top <= 35 and np.all(np.diff(lrs[: top + 1]) >= 0) and np.all(np.diff(lrs[top:]) <= 0)
    assert lrs[-1] < 1e-2 / 1000
    fit = Fit(_cw(samples=1000), "spin", _small(epochs=2, lr=1e-2, lr_schedule="onecycle", holdout=0.0))
    drive(fit.train(), bar=False)
    steps = fit.step
    assert fit.optimizer.param_groups[0]["lr"] == pytest.approx(onecycle_lr(1e-2, steps - 1, steps))
    assert fit.optimizer.param_groups[0]["lr"] < 1e-2 / 25  # annealed below the start


def test_early_stopping_stops():
    fit = Fit(_cw(samples=600), "spin", _small(epochs=500, kl_warmup_epochs=0, patience=2, lr=3e-2))
    drive(fit.train(), bar=False)
    assert fit.epoch < 500


def test_checkpoint_round_trip(tmp_path):
    x = _cw(samples=600)
    fit = Fit(x, "spin", _small(epochs=2))
    drive(fit.train(), bar=False)
    ev = fit.evaluate()
    path = fit.save(tmp_path / "run" / "model.pt")
    back = Fit.load(path)
    assert back.config == fit.config and back.encoding == "spin" and back.step == fit.step
    for k, v in fit.model.state_dict().items():
        assert torch.equal(v, back.model.state_dict()[k]), k
    assert np.array_equal(back.latents(x), fit.latents())
    assert np.array_equal(back.sample(7, seed=1), fit.sample(7, seed=1))
    assert json.dumps(back.metrics)  # json-able
    # with the data: same split, same evaluation, and training continues
    again = Fit.load(tmp_path / "run", x=x)
    assert np.array_equal(again.test_index, fit.test_index)
    assert again.evaluate()["test_loglik_nats"] == pytest.approx(ev["test_loglik_nats"])
    drive(again.train(epochs=1), bar=False)
    assert again.epoch == fit.epoch + 1
    with pytest.raises(InputError):
        Fit.load(path, x=-x)


def test_atomic_save_leaves_old_file_on_failure(tmp_path, monkeypatch):
    fit = Fit(_cw(samples=300), "spin", _small(epochs=1))
    path = fit.save(tmp_path / "model.pt")
    before = path.read_bytes()

    def broken(obj, fh):
        fh.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(_checkpoint.torch, "save", broken)
    with pytest.raises(KeyboardInterrupt):
        fit.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.pt"]


def test_load_rejects_other_files(tmp_path):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError):
        Fit.load(bad)
    with pytest.raises(InputError):
        Fit.load(tmp_path / "missing.pt")


def test_bad_data():
    with pytest.raises(InputError):
        Fit(np.array([[0, 2], [1, 0]]), "binary")
    with pytest.raises(InputError):
        Fit(np.zeros((5, 3)), "spin")
    with pytest.raises(InputError):
        Fit(np.ones((5, 3, 3)), "vector")
    with pytest.raises(ParameterError):
        Fit(None, "spin")


def test_iwae_at_least_elbo_and_rate_per_latent():
    fit = Fit(_cw(samples=1500), "spin", _small(latents=2, epochs=3, iwae_k=64))
    drive(fit.train(), bar=False)
    ev = fit.evaluate()
    assert ev["iwae_k"] == 64
    assert ev["test_loglik_nats"] >= ev["test_elbo_nats"] - 1e-6
    assert len(ev["rate_per_latent_nats"]) == 2
    assert sum(ev["rate_per_latent_nats"]) == pytest.approx(ev["rate_nats"], rel=1e-6)
    assert ev["elbo_nats"] == pytest.approx(-(ev["rate_nats"] + ev["distortion_nats"]))
    x = _cw(samples=700, seed=4)
    one = fit.evaluate(x, per_sample=True)  # every row's bound from the same pass
    per = one.pop("test_loglik_per_sample")
    assert per.shape == (700,) and per.dtype == np.float64 and np.isfinite(per).all()
    assert per.mean() == pytest.approx(one["test_loglik_nats"], abs=1e-5)
    assert one == fit.evaluate(x)  # asking for the rows changes nothing else


@pytest.mark.parametrize("encoding", ["binary", "spin", "vector"])
def test_sample_keeps_encoding(encoding):
    rng = np.random.default_rng(0)
    if encoding == "vector":
        x = rng.standard_normal((200, 4, 3)).astype(np.float32)
        x /= np.linalg.norm(x, axis=-1, keepdims=True)
    else:
        x = rng.integers(0, 2, (200, 5)).astype(np.int8)
        x = 2 * x - 1 if encoding == "spin" else x
    fit = Fit(x, encoding, _small(epochs=1, latents=2))
    drive(fit.train(), bar=False)
    s = fit.sample(50, seed=0)
    assert s.shape == (50, *x.shape[1:])
    if encoding == "vector":
        assert np.allclose(np.linalg.norm(s, axis=-1), 1, atol=1e-5)
    else:
        allowed = {-1, 1} if encoding == "spin" else {0, 1}
        assert set(np.unique(s)) <= allowed and s.dtype == np.int8
    assert fit.latents().shape == (200, 2)
    summ = fit.summary()
    assert summ.latents.shape == (200, 2)
    assert (summ.patterns is None) == (encoding == "vector")


def test_streamed_batches_match_on_device():
    x = _cw(samples=500)
    a = Fit(x, "spin", _small(epochs=2))
    b = Fit(x, "spin", _small(epochs=2, max_device_mb=0.0))
    assert a.on_device and not b.on_device
    drive(a.train(), bar=False)
    drive(b.train(), bar=False)
    assert torch.allclose(a.model.W, b.model.W, atol=1e-5)


def test_cw_iwae_close_to_exact_log_prob():
    """A 1-latent VAE on exact finite-N Curie-Weiss samples: held-out IWAE log-lik ≈ exact <log p>."""
    n, beta_j = 12, 1.2
    x = _cw(n, beta_j, samples=6000, seed=1)
    fit = Fit(x, "spin", VAEConfig(latents=1, epochs=25, batch_size=256, kl_warmup_epochs=2,
                                   iwae_k=256, device="cpu", train_k=8, patience=100))
    drive(fit.train(), bar=False)
    held = x[fit.test_index]
    exact = curie_weiss_log_prob(held, beta_j).mean()
    got = fit.evaluate()["test_loglik_nats"]
    # independent-spin baseline is ~0.55 nats worse here, so 0.05 is a real test
    assert abs(got - exact) < 0.05, (got, exact)
    # the model's magnetisation distribution matches the exact P(M)
    m_vals, pm = curie_weiss_pm(n, beta_j)
    s = fit.sample(20000, seed=2).sum(1)
    q = np.array([(s == m).mean() for m in m_vals])
    assert 0.5 * np.abs(q - pm).sum() < 0.06  # total variation; a collapsed posterior gives ~0.5
    assert np.sum(pm * np.log(pm / np.maximum(q, 1e-9))) < 0.01  # KL(exact || model) in nats


def test_train_from_an_iterable_of_batches():
    """Streaming: batches from a callable (e.g. Recording.iter_batches), held-out from x."""
    x = _cw(samples=600)
    rng = np.random.default_rng(0)

    def batches(epoch):
        order = np.random.default_rng(epoch).permutation(len(x))
        return (x[order[i : i + 100]] for i in range(0, len(x), 100))

    fit = Fit(x, "spin", _small(epochs=2))
    drive(fit.train(batches=batches), bar=False)
    assert fit.epoch == 2 and fit.step == 12 and len(fit.history) == 2
    assert np.isfinite(fit.history[-1]["test_neg_elbo"])
    # a model-only fit trains from batches too (no held-out: keeps the latest model)
    bare = Fit(None, "spin", _small(epochs=1), n_units=x.shape[1])
    drive(bare.train(batches=batches), bar=False)
    assert bare.step == 6 and np.isfinite(bare.evaluate(x[:50])["test_loglik_nats"])
    with pytest.raises(InputError):
        drive(bare.train(batches=lambda e: [rng.integers(0, 2, (10, 3))]), bar=False)
