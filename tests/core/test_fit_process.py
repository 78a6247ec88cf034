"""core.fit_process: a fit trained in a spawned child comes back whole (checkpoint, latents,
per-epoch rates), keeps its best model when stopped, and a diverging loss is a one-line error."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from napari_vaemf.core.data import FitData, heldout_split  # noqa: E402
from napari_vaemf.core.errors import ParameterError  # noqa: E402
from napari_vaemf.core.fit_process import ChildFit, train_in_process  # noqa: E402
from napari_vaemf.core.progress import drive  # noqa: E402
from napari_vaemf.core.vae import VAEConfig  # noqa: E402

T, N = 800, 8


@pytest.fixture(scope="module")
def data() -> FitData:
    rng = np.random.default_rng(0)
    z = rng.random(T) < 0.5  # two states: a one-latent structure
    x = (rng.random((T, N)) < np.where(z[:, None], 0.7, 0.1)).astype(np.int8)
    test_index, rule = heldout_split(T, 0.2, 0, iid=True)
    return FitData(x=x, encoding="binary", test_index=test_index, split=rule)


def test_fit_comes_back_with_rates_latents_and_checkpoint(data):
    cfg = VAEConfig(latents=2, epochs=3, batch_size=128, device="cpu", features=0)  # one decoder class
    job = train_in_process(data, cfg, threads=1)
    seen = []
    done = drive(job, bar=False, on_progress=seen.append)
    assert isinstance(done, ChildFit) and done is job.result and not done.stopped
    ends = [r.metrics for r in seen if "rate_z0" in r.metrics]
    assert [m["epoch"] for m in ends] == [1, 2, 3]  # one record per epoch end carries the rates
    assert all(np.isfinite(m["rate_z1"]) for m in ends)
    fit = done.rebuild(data)  # here, on the same data: the split and fingerprint match
    assert fit.epoch == 3 and done.epoch == 3
    assert np.array_equal(fit.test_index, data.test_index)
    assert done.latents.shape == (T, 2)
    np.testing.assert_allclose(fit.latents(), done.latents, atol=1e-5)


def heldout_monitor(fit) -> float:
    """The early-stopping monitor of the fit's current model, recomputed (either engine)."""
    return -fit.test_loglik() if fit.method == "exact" else fit._heldout_neg_elbo()


@pytest.mark.parametrize("method", ["exact", "vae"])
def test_stop_keeps_the_best_model(data, method):
    cfg = VAEConfig(latents=1, epochs=10_000, batch_size=16, device="cpu", method=method)
    job = train_in_process(data, cfg, threads=1)
    ends = 0
    for rec in job:
        ends += "rate_z0" in rec.metrics
        if ends == 2:
            break
    job.close()
    done = job.result
    assert job.stopped and done.stopped and 2 <= done.epoch < 10_000
    fit = done.rebuild(data)
    assert np.isfinite(fit.best_test_neg_elbo)
    # the model that came back is the one that scored the best held-out -ELBO (the same
    # fixed noise each time), not the last epoch's
    assert fit.method == method
    assert heldout_monitor(fit) == pytest.approx(fit.best_test_neg_elbo, rel=1e-5)


def test_a_diverging_loss_is_a_one_line_error(data):
    cfg = VAEConfig(latents=1, epochs=3, batch_size=64, lr=1e30, device="cpu")
    with pytest.raises(ParameterError, match=r"^the training loss became nan after \d+ steps; "
                                             r"lower the learning rate \(lr=1e\+30\)$"):
        drive(train_in_process(data, cfg, threads=1), bar=False)
