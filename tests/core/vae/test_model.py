"""ProductVAE shapes, likelihood definitions and gradient flow."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.vae import ProductVAE, VAEConfig, bingham


@pytest.mark.parametrize("encoding,decoder", [("binary", "mlp"), ("spin", "identity"), ("vector", "mlp")])
def test_shapes_and_named_tensors(encoding, decoder):
    torch.manual_seed(0)
    n, k, b = 7, 3, 5
    m = ProductVAE(n, encoding, VAEConfig(latents=k, decoder=decoder))
    if encoding == "vector":
        x = torch.nn.functional.normalize(torch.randn(b, n, 3), dim=-1)
        assert m.W.shape == (n, 5, k) and m.b.shape == (n, 5)
        assert m.fields(torch.zeros(2, k)).shape == (2, n, 3, 3)
    else:
        x = torch.randint(0, 2, (b, n)).float()
        if encoding == "spin":
            x = 2 * x - 1
        assert m.W.shape == (n, k) and m.b.shape == (n,)
        assert m.fields(torch.zeros(2, k)).shape == (2, n)
    xp = m.prepare(x)
    mu, logvar = m.encode(xp)
    assert mu.shape == logvar.shape == (b, k)
    d, r = m.neg_elbo_terms(xp)
    assert d.shape == r.shape == (b,)
    assert m.iwae(xp, 4).shape == (b,)
    assert isinstance(m.g, torch.nn.Module)


def test_spin_likelihood_is_exp_s_phi_over_2cosh():
    m = ProductVAE(3, "spin", VAEConfig(latents=1))
    s = torch.tensor([[1.0, -1.0, 1.0]])
    phi = torch.tensor([[[0.3, -1.2, 2.0]]])
    want = (s * phi - torch.log(2 * torch.cosh(phi))).sum()
    assert m.log_lik(m.prepare(s), phi).item() == pytest.approx(want.item(), abs=1e-6)


def test_vector_likelihood_normalised():
    m = ProductVAE(1, "vector", VAEConfig(latents=1))
    phi = torch.tensor([[[[1.0, -2.0, 0.5, 0.3, 3.0]]]], dtype=torch.float64)[0]  # (1, 1, 5)
    # integrate p(n|A) over the sphere on a fine Gauss-Legendre x uniform grid: must be 1
    ct, wt = np.polynomial.legendre.leggauss(200)
    ph = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    st = np.sqrt(1 - ct**2)
    n = np.stack([np.outer(st, np.cos(ph)), np.outer(st, np.sin(ph)), np.outer(ct, np.ones_like(ph))], -1)
    nt = torch.tensor(n.reshape(-1, 1, 3))
    logp = m.log_lik(bingham.features(nt), phi.expand(1, nt.shape[0], 1, 5))[0]
    total = (torch.exp(logp).reshape(200, 400) * torch.tensor(wt)[:, None]).sum() * (2 * np.pi / 400)
    assert total.item() == pytest.approx(1.0, abs=1e-9)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    m = ProductVAE(6, "binary", VAEConfig(latents=2))
    x = torch.randint(0, 2, (16, 6)).float()
    d, r = m.neg_elbo_terms(m.prepare(x))
    (d + r).mean().backward()
    for name, p in m.named_parameters():
        if name.startswith(("decoder.g.hidden", "decoder.g.log_gain")):
            continue  # behind the zero-initialised output layer of g: zero gradient at step 0
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_kl_closed_form():
    mu, logvar = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.2, -0.3]])
    want = [0.5 * (m * m + math.exp(v) - 1 - v) for m, v in zip([0.5, -1.0], [0.2, -0.3])]
    assert ProductVAE.kl(mu, logvar)[0].tolist() == pytest.approx(want)


def test_bad_config():
    with pytest.raises(ParameterError):
        VAEConfig(latents=0)
    with pytest.raises(ParameterError):
        VAEConfig(decoder="transformer")
    with pytest.raises(ParameterError):
        VAEConfig(lr_schedule="cyclic")
    with pytest.raises(ParameterError):
        ProductVAE(3, "counts", VAEConfig())
    with pytest.raises(ParameterError, match="features"):
        VAEConfig(latents=3, features=2)  # fewer map outputs than latents
    with pytest.raises(ParameterError, match="features"):
        VAEConfig(latents=2, features=4, decoder="identity")


@pytest.mark.parametrize("encoding", ["binary", "vector"])
def test_features_widen_the_readout_and_start_at_the_embedding(encoding):
    """features = H > K: W is (N, H) ((N, 5, H) for vectors) and g starts at z ↦ (z, 0)."""
    torch.manual_seed(0)
    n, k, h = 6, 2, 5
    m = ProductVAE(n, encoding, VAEConfig(latents=k, features=h))
    assert m.W.shape == ((n, h) if encoding == "binary" else (n, 5, h))
    z = torch.randn(4, k)
    g = m.g(z)
    assert g.shape == (4, h)
    torch.testing.assert_close(g[:, :k], z)
    torch.testing.assert_close(g[:, k:], torch.zeros(4, h - k))
    with torch.no_grad():  # a trained map bends: the fields leave the K-dimensional subspace
        m.decoder.g.out.weight.normal_()
    phi = m.fields(torch.randn(500, k)).reshape(500, -1)
    assert torch.linalg.matrix_rank(phi - phi.mean(0)) > k


def test_pick_device():
    from napari_vaemf.core.vae import pick_device

    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError):
            pick_device("cuda")
    with pytest.raises(ParameterError):
        pick_device("abacus")
