"""Maier-Saupe sampler: Bingham draws, mean-field S on both sides of the transition, Metropolis."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ive, logsumexp

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.progress import drive
from napari_vaemf.core.samplers import (
    BETA_J_TRANSITION,
    maier_saupe_free_energy,
    maier_saupe_mean_field_S,
    nematic_order,
    sample_maier_saupe,
)
from napari_vaemf.core.samplers._bingham import sample_bingham


def _sphere_quadrature(k):
    """<n n^T> under exp(n^T k n) by Gauss-Legendre x uniform-angle quadrature on S^2."""
    ct, w = np.polynomial.legendre.leggauss(120)
    ph = np.linspace(0, 2 * np.pi, 240, endpoint=False)
    c, p = np.meshgrid(ct, ph, indexing="ij")
    s = np.sqrt(1 - c**2)
    v = np.stack([s * np.cos(p), s * np.sin(p), c], -1).reshape(-1, 3)
    d = np.exp(np.einsum("ni,ij,nj->n", v, k, v)) * np.repeat(w, ph.size)
    return np.einsum("n,ni,nj->ij", d, v, v) / d.sum()


@pytest.mark.parametrize("scale", [-4.0, 0.7, 6.0, 25.0])
def test_bingham_moments_match_quadrature(scale):
    rng = np.random.default_rng(1)
    rot = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    k = rot @ np.diag([0.0, scale, 0.4 * scale]) @ rot.T
    x = sample_bingham(rng, np.stack([k, k]), 40000)  # (2, 40000, 3)
    np.testing.assert_allclose(np.linalg.norm(x, axis=2), 1.0, atol=1e-6)
    for i in range(2):
        emp = np.einsum("ni,nj->ij", x[i], x[i]) / len(x[i])
        np.testing.assert_allclose(emp, _sphere_quadrature(k), atol=0.012)


def test_mean_field_solution_and_transition():
    # first-order transition at beta U = 2 beta J / 3 = 4.5415 with a jump S = 0.429 (Maier-Saupe)
    assert 2 * BETA_J_TRANSITION / 3 == pytest.approx(4.5415, abs=2e-4)
    assert maier_saupe_mean_field_S(BETA_J_TRANSITION - 0.01) == 0.0
    assert maier_saupe_mean_field_S(BETA_J_TRANSITION + 0.001) == pytest.approx(0.429, abs=0.01)
    s = maier_saupe_mean_field_S(BETA_J_TRANSITION + 1e-4)
    f = maier_saupe_free_energy(np.array([0.0, s]), BETA_J_TRANSITION)
    assert f[0] == pytest.approx(f[1], abs=1e-5)
    for bj in (7.5, 9.0, 15.0):  # S = <P2> under exp(beta U S P2)
        s = maier_saupe_mean_field_S(bj)
        t = np.linspace(0, 1, 200001)
        w = np.exp(2 * bj / 3 * s * (1.5 * t**2 - 0.5))
        assert s == pytest.approx(np.trapezoid(w * (1.5 * t**2 - 0.5), t) / np.trapezoid(w, t),
                                  abs=1e-6)


@pytest.mark.slow
def test_large_n_nematic_side_matches_mean_field():
    n, bj = 400, 9.0
    res = drive(sample_maier_saupe(n, bj, samples=8 * 40, chains=8, burn_in=40, seed=3),
                bar=False)
    assert res.configurations.shape == (320, n, 3) and res.configurations.dtype == np.float32
    s, _ = nematic_order(res.configurations)
    assert s.mean() == pytest.approx(maier_saupe_mean_field_S(bj), abs=0.015)
    np.testing.assert_allclose(res.truth["S"], s, atol=1e-5)


@pytest.mark.slow
def test_large_n_isotropic_side_matches_mean_field_fluctuations():
    """Mean field: S = 0, and Gaussian fluctuations N <tr Q^2> = (3/2) / (1 - beta U / 5)."""
    n, bj = 400, 4.5
    res = drive(sample_maier_saupe(n, bj, samples=16 * 60, chains=16, burn_in=30, seed=4),
                bar=False)
    x = res.configurations.astype(np.float64)
    q = 1.5 * np.einsum("tni,tnj->tij", x, x) / n - 0.5 * np.eye(3)
    trq2 = (q * q).sum(axis=(1, 2))
    assert maier_saupe_mean_field_S(bj) == 0.0
    assert n * trq2.mean() == pytest.approx(1.5 / (1 - 2 * bj / 15), rel=0.1)
    assert res.truth["S"].mean() < 0.12


def _exact_mean_trq2(n, beta_j, radius=4.0, points=241, nodes=48):
    """Exact finite-N <tr Q^2> from the Hubbard-Stratonovich field's marginal.

    Integrating the vectors out, the traceless field L = beta J (A - tr A / 3) has density
    ~ exp(-N tr L^2 / (2 beta J)) Z_B(L)^N, Z_B the Bingham normaliser; over its eigenvalues
    (a 2-D plane, with the Vandermonde |prod (l_k - l_l)| of symmetric matrices) this is a
    2-D integral, done on a grid. Since L | n = beta J (T~ + noise) with T~ = 2Q/3 and five
    noise components of variance 1/(beta J N): <tr Q^2> = (9/4)(<tr L^2> - 5 bJ/N) / bJ^2.
    Z_B(l) = 2 pi int_-1^1 exp(l3 t^2 + (1-t^2)(l1+l2)/2) I0((1-t^2)(l1-l2)/2) dt.
    """
    x = np.linspace(-radius, radius, points)
    xx, yy = (g.ravel() for g in np.meshgrid(x, x, indexing="ij"))
    e1, e2 = np.array([1.0, -1.0, 0.0]) / np.sqrt(2), np.array([1.0, 1.0, -2.0]) / np.sqrt(6)
    l1, l2, l3 = (xx[:, None] * e1 + yy[:, None] * e2).T
    t, w = np.polynomial.legendre.leggauss(nodes)
    c = np.abs(np.multiply.outer(l1 - l2, 1 - t**2) / 2)
    expo = np.multiply.outer(l3, t**2) + np.multiply.outer((l1 + l2) / 2, 1 - t**2) + c
    log_zb = logsumexp(expo + np.log(ive(0, c)) + np.log(w), axis=1)
    vdm = np.abs((l1 - l2) * (l1 - l3) * (l2 - l3))
    r2 = xx**2 + yy**2
    lw = np.log(np.maximum(vdm, 1e-300)) - n * r2 / (2 * beta_j) + n * log_zb
    p = np.exp(lw - logsumexp(lw))
    return 9 / 4 * (p @ r2 - 5 * beta_j / n) / beta_j**2


@pytest.mark.slow
def test_through_the_transition_matches_exact_finite_n():
    """N=200 at beta J = 6.6, where isotropic and nematic states coexist: the phase weights
    (hence <tr Q^2>) must match the exact finite-N value, which needs barrier crossings."""
    n, bj, chains, records = 200, 6.6, 32, 300
    assert _exact_mean_trq2(400, 4.5) * 400 == pytest.approx(1.5 / (1 - 2 * 4.5 / 15), rel=0.02)
    res = drive(sample_maier_saupe(n, bj, samples=chains * records, chains=chains,
                                   burn_in=150, seed=2), bar=False)
    x = res.configurations.astype(np.float64)
    q = 1.5 * np.einsum("tni,tnj->tij", x, x) / n - 0.5 * np.eye(3)
    trq2 = (q * q).sum(axis=(1, 2)).reshape(records, chains)
    s = res.truth["S"]
    assert (s < 0.15).mean() > 0.1 and (s > 0.35).mean() > 0.1  # both phases are sampled
    se = trq2.mean(axis=0).std() / np.sqrt(chains)  # chains are independent
    assert abs(trq2.mean() - _exact_mean_trq2(n, bj)) < 4 * se + 0.003


def _metropolis(n, bj, chains, sweeps, seed):
    """Plain single-vector Metropolis with uniform proposals, vectorised over chains."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(chains, n, 3))
    x /= np.linalg.norm(x, axis=2, keepdims=True)
    s_rec, e_rec = [], []
    for sweep in range(sweeps):
        for i in range(n):
            new = rng.normal(size=(chains, 3))
            new /= np.linalg.norm(new, axis=1, keepdims=True)
            others = np.delete(x, i, axis=1)
            old_d = np.einsum("ci,cji->cj", x[:, i], others) ** 2
            new_d = np.einsum("ci,cji->cj", new, others) ** 2
            d_e = -(new_d - old_d).sum(axis=1) / n  # J = 1; pairs (i,j) and (j,i)
            acc = rng.random(chains) < np.exp(np.minimum(0.0, -bj * d_e))
            x[acc, i] = new[acc]
        if sweep >= sweeps // 5:
            s, _ = nematic_order(x)
            g = np.einsum("cni,cmi->cnm", x, x) ** 2
            s_rec.append(s)
            e_rec.append(-g.sum(axis=(1, 2)) / (2 * n))
    return np.array(s_rec), np.array(e_rec)


@pytest.mark.slow
@pytest.mark.parametrize("n, bj", [(5, 7.0), (16, 7.5)])  # around the transition region
def test_small_n_matches_long_metropolis(n, bj):
    s_m, e_m = _metropolis(n, bj, chains=200, sweeps=400, seed=0)
    res = drive(sample_maier_saupe(n, bj, samples=64 * 200, chains=64, seed=1), bar=False)
    x = res.configurations.astype(np.float64)
    e = -(np.einsum("tni,tmi->tnm", x, x) ** 2).sum(axis=(1, 2)) / (2 * n)
    s = res.truth["S"]
    # standard errors: Metropolis chains are independent (average over time per chain first)
    se_s = np.hypot(s_m.mean(axis=0).std() / np.sqrt(200), s.std() / np.sqrt(len(s) / 3))
    se_e = np.hypot(e_m.mean(axis=0).std() / np.sqrt(200), e.std() / np.sqrt(len(e) / 3))
    assert abs(s.mean() - s_m.mean()) < 5 * se_s + 0.005
    assert abs(e.mean() - e_m.mean()) < 5 * se_e + 0.005


def test_deterministic_stoppable_and_errors():
    a = drive(sample_maier_saupe(20, 8.0, samples=40, chains=4, burn_in=5, seed=2), bar=False)
    b = drive(sample_maier_saupe(20, 8.0, samples=40, chains=4, burn_in=5, seed=2), bar=False)
    np.testing.assert_array_equal(a.configurations, b.configurations)
    assert a.encoding == "vector" and a.params["seed"] == 2
    job = sample_maier_saupe(20, 8.0, samples=10**6)
    next(job)
    job.close()
    for bad in [dict(n=0, beta_j=1.0), dict(n=5, beta_j=-1.0), dict(n=5, beta_j=1.0, thin=0)]:
        with pytest.raises(ParameterError):
            next(sample_maier_saupe(**bad))
