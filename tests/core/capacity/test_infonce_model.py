import numpy as np
import pytest
import torch
from scipy.special import gammaln, log_expit

from napari_vaemf.core.capacity import (
    InfoNCEConfig,
    contiguous_halves,
    curie_weiss_bipartite_mi,
    fit_rate,
    infonce_bipartite_mi,
    model_bipartite_mi,
    mutual_information_from_log_joint,
)
from napari_vaemf.core.progress import drive
from napari_vaemf.core.vae import Fit, VAEConfig


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("beta_j", [0.8, 1.5])
def test_infonce_is_a_lower_bound_on_exact_curie_weiss(beta_j, cw_samples):
    n = 40
    x = cw_samples(n, beta_j, 6000, seed=3)
    est = drive(infonce_bipartite_mi(x, "spin", contiguous_halves(n),
                                     InfoNCEConfig(steps=1500, seed=1)), bar=False)
    exact = curie_weiss_bipartite_mi(n, beta_j)
    assert est.kind == "lower bound" and est.details["cap_nats"] == pytest.approx(np.log(256))
    assert est.value <= exact + 2 * est.details["stderr"] + 0.02
    assert est.value >= 0.5 * exact  # and the critic did learn the dependence


def _exact_mixture_mi(n, n_a, w, b):
    """I(X_A; X_B) of p(s) = ∫ N(z) Π_i e^{s_i φ}/(2 cosh φ) dz with φ = w z + b (quadrature)."""
    z, wq = np.polynomial.hermite_e.hermegauss(200)
    lw = np.log(wq / wq.sum())
    lp_up, lp_dn = log_expit(2 * (w * z + b)), log_expit(-2 * (w * z + b))

    def half(m):
        k = np.arange(m + 1)[:, None]
        return gammaln(m + 1) - gammaln(k + 1) - gammaln(m - k + 1) + k * lp_up + (m - k) * lp_dn

    la, lb = half(n_a), half(n - n_a)
    joint = np.logaddexp.reduce(la[:, None, :] + lb[None, :, :] + lw, axis=2)
    return mutual_information_from_log_joint(joint)


@pytest.mark.parametrize("w", [0.15, 0.4])
def test_model_mi_matches_quadrature_for_a_known_decoder(w):
    n, b = 30, 0.1
    fit = Fit(None, "spin", VAEConfig(latents=1, decoder="identity", device="cpu"), n_units=n)
    with torch.no_grad():  # a decoder whose model MI is known exactly; untrained encoder
        fit.model.decoder.readout.weight.fill_(w)
        fit.model.decoder.readout.bias.fill_(b)
    part = contiguous_halves(n)
    est = drive(model_bipartite_mi(fit, part, samples=1500, draws=512, seed=2), bar=False)
    exact = _exact_mixture_mi(n, part.a.size, w, b)
    assert est.kind == "model-based"
    assert abs(est.value - exact) < 3 * est.details["stderr"] + 0.01


def test_rate_of_a_trained_fit(cw_samples):
    x = cw_samples(20, 1.5, 1500, seed=0)
    fit = Fit(x, "spin", VAEConfig(latents=2, epochs=15, batch_size=128, device="cpu"))
    drive(fit.train(), bar=False)
    r = fit_rate(fit)
    assert r.total_nats == pytest.approx(sum(r.per_latent_nats), rel=1e-6)
    assert r.active >= 1  # the magnetisation needs at least one informative latent
    # any fit that captures the halves' dependence needs rate >= the bipartite MI
    assert r.total_nats > 0.5 * curie_weiss_bipartite_mi(20, 1.5)
