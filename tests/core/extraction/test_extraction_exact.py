"""Read-off maths on exact inputs: HS densities, pattern mixings and tilted push-forwards."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp

from napari_vaemf.core.extraction import Extraction, fit_hs_density, resolve_mixing
from napari_vaemf.core.extraction.curie_weiss import hs_log_density
from napari_vaemf.core.extraction.generalized_hopfield import read_off_from_pushforward
from napari_vaemf.core.extraction.hopfield import fit_beta, pattern_confidence
from napari_vaemf.core.extraction.maier_saupe import EigenGrid, fit_beta_j, nematic_order
from napari_vaemf.core.samplers import hopfield_exact_distribution
from napari_vaemf.core.stats import bits_right


def _hs_samples(n, beta_j, beta_h, size, seed):
    g = np.linspace(-4, 4, 160001)
    lg = hs_log_density(g, n, beta_j, beta_h)
    cdf = np.cumsum(np.exp(lg - logsumexp(lg)))
    return np.interp(np.random.default_rng(seed).random(size), cdf, g)


@pytest.mark.parametrize("beta_j,beta_h", [(0.5, 0.0), (1.5, 0.02), (2.0, 0.0)])
def test_hs_density_fit_recovers_couplings(beta_j, beta_h):
    phi = _hs_samples(100, beta_j, beta_h, 20000, seed=1)
    r = fit_hs_density(phi, 100)
    assert r["beta_J"] == pytest.approx(beta_j, rel=0.02)
    assert r["beta_h"] == pytest.approx(beta_h, abs=0.005)
    assert r["ks"] < 0.02
    # a Gaussian push-forward in the ferromagnetic phase is not of the HS form: KS flags it
    bad = fit_hs_density(np.random.default_rng(2).normal(0, 0.8, 20000), 100)
    assert bad["ks"] > 0.1


def test_resolve_mixing_recovers_patterns_up_to_mixing():
    rng = np.random.default_rng(3)
    xi = rng.choice([-1.0, 1.0], size=(100, 4))
    a = rng.normal(size=(4, 4))
    w = xi @ a + 0.05 * rng.normal(size=(100, 4))
    m, y = resolve_mixing(w)
    assert bits_right(y, xi)[0] == 1.0
    conf, p_right = pattern_confidence(y)
    assert conf.min() > 0.99 and p_right.shape == (100, 4)
    # heavy noise: confidence drops and predicts the errors it makes
    w2 = xi @ a + 1.0 * rng.normal(size=(100, 4)) * np.abs(a).mean()
    _, y2 = resolve_mixing(w2)
    frac, _ = bits_right(y2, xi)
    conf2, _ = pattern_confidence(y2)
    assert conf2.mean() < 0.99 and abs(conf2.mean() - frac) < 0.1


def test_beta_from_exact_hopfield_pushforward():
    rng = np.random.default_rng(4)
    n, beta = 10, 1.3
    xi = rng.choice([-1.0, 1.0], size=(n, 2))
    states, prob = hopfield_exact_distribution(xi.astype(np.int8), beta)
    s = states[rng.choice(len(states), size=30000, p=prob)].astype(float)
    u = beta * s @ xi / n + np.sqrt(beta / n) * rng.standard_normal((len(s), 2))  # exact HS u | s
    assert fit_beta(u, xi, iters=14) == pytest.approx(beta, rel=0.04)


def test_generalized_hopfield_read_off_inverts_the_tilt():
    rng = np.random.default_rng(5)
    n, k = 12, 2
    w = rng.normal(0, 0.4, (n, k))
    b = rng.normal(-1.5, 0.3, n)
    m_true = np.array([0.3, -0.2])
    s_true = np.array([[1.0, 0.3], [0.3, 0.6]])
    # push-forward samples whose tilted law (weights 1/Π(1+e^φ)) is exactly N(m, S):
    u = rng.multivariate_normal(m_true, 4 * s_true, size=400000)
    d = u - m_true
    si = np.linalg.inv(s_true)
    log_target = -0.5 * np.einsum("si,ij,sj->s", d, si, d) + np.logaddexp(0, u @ w.T + b).sum(1)
    log_prop = -0.5 * np.einsum("si,ij,sj->s", d, si / 4, d)
    lw = log_target - log_prop
    keep = rng.random(len(u)) < np.exp(lw - lw.max())
    h, xi, diag = read_off_from_pushforward(w, b, u[keep], "binary")
    np.testing.assert_allclose(h, b + w @ m_true, atol=0.03)
    np.testing.assert_allclose(xi @ xi.T / n, w @ s_true @ w.T, atol=0.03)
    assert diag["excess_kurtosis"] < 0.2


def test_maier_saupe_eigen_integral_and_fit():
    grid = EigenGrid(radius=10.0, points=241)
    # large N: E tr Λ² approaches the mean-field saddle (2/3) λ*², λ* = βJ S(λ*) (βJ = 9)
    c = np.linspace(-1, 1, 20001)

    def s_of(lam):
        wgt = np.exp(lam * c**2 - lam)
        return (wgt * (1.5 * c**2 - 0.5)).sum() / wgt.sum()

    lam = 6.0
    for _ in range(200):
        lam = 9.0 * s_of(lam)
    assert grid.mean_tr2(2000, 9.0) == pytest.approx(2 / 3 * lam**2, rel=0.02)
    # exact tr Λ² samples drawn from the grid's own density are fitted back
    n, bj = 100, 9.0
    p = np.exp(grid.log_weights(n, bj))
    tr2 = grid.r2[np.random.default_rng(6).choice(p.size, size=20000, p=p)]
    got, ks = fit_beta_j(tr2, n, grid)
    assert got == pytest.approx(bj, rel=0.01) and ks < 0.03


def test_nematic_order_extremes():
    aligned = np.tile([0.0, 0.0, 1.0], (2, 50, 1))
    assert np.allclose(nematic_order(aligned), 1.0)
    v = np.random.default_rng(7).normal(size=(1, 20000, 3))
    iso = v / np.linalg.norm(v, axis=-1, keepdims=True)
    assert nematic_order(iso)[0] < 0.03


def test_extraction_json_roundtrip(tmp_path):
    ex = Extraction("hopfield", {"beta": 1.2}, 0.9, {"x": np.arange(2)},
                    patterns=np.ones((4, 2)), fields=np.zeros(4))
    paths = ex.save(tmp_path)
    assert {p.name for p in paths} == {"extraction.json", "patterns.npy", "fields.npy"}
    back = Extraction.load(tmp_path)
    assert back.parameters["beta"] == 1.2 and back.patterns.shape == (4, 2)


def test_generalized_hopfield_calibration_recovers_fields_and_strength():
    from napari_vaemf.core.baselines import HopfieldModel
    from napari_vaemf.core.extraction.generalized_hopfield import calibrate

    rng = np.random.default_rng(8)
    n = 10
    h = rng.normal(-1.0, 0.3, n)
    xi = rng.normal(0.5, 0.5, (n, 1)) * 2.0
    target = HopfieldModel(h=h, xi=xi, chains=500).sample(20000, seed=1)
    h_fit, xi_fit, diag = calibrate(h + 0.5, 2.0 * xi, target, "binary", iters=150, seed=2)
    np.testing.assert_allclose(h_fit, h, atol=0.2)
    assert np.linalg.norm(xi_fit) == pytest.approx(np.linalg.norm(xi), rel=0.1)
    assert diag["calib_rate_rel_rms"] < 0.05


def test_maier_saupe_hs_sampler_matches_mean_field_order():
    from napari_vaemf.core.extraction.maier_saupe import sample_maier_saupe_hs
    from napari_vaemf.core.samplers import maier_saupe_mean_field_S

    x = sample_maier_saupe_hs(60, 9.0, 400, seed=0, chains=100, burn_in=100, thin=1)
    assert x.shape == (400, 60, 3)
    np.testing.assert_allclose(np.linalg.norm(x, axis=-1), 1.0, atol=1e-5)
    assert nematic_order(x).mean() == pytest.approx(maier_saupe_mean_field_S(9.0), abs=0.04)


def test_generalized_hopfield_calibration_finds_a_repulsive_pattern():
    """Target with one attractive and one repulsive pattern; the read-off starts with both
    attractive (λ > 0), and the signed max-ent calibration must flip the second one."""
    from napari_vaemf.core.baselines import HopfieldModel
    from napari_vaemf.core.extraction.generalized_hopfield import calibrate

    rng = np.random.default_rng(9)
    n = 12
    d = np.linalg.qr(rng.normal(size=(n, 2)))[0]  # orthonormal directions
    lam = np.array([2.0, -1.5])
    h = rng.normal(-0.5, 0.3, n)
    target = HopfieldModel(h=h, xi=d[:, :1] * np.sqrt(n * 2.0), xr=d[:, 1:] * np.sqrt(n * 1.5)
                           ).sample(30000, seed=1)
    start = d * np.sqrt(n * np.array([1.0, 0.5]))
    h_fit, xi_fit, diag = calibrate(h, start, target, "binary", iters=100, seed=2)
    assert diag["n_attractive"] == 1
    np.testing.assert_allclose(diag["pattern_strengths"], lam, atol=0.25)
    np.testing.assert_allclose(h_fit, h, atol=0.25)
    assert abs(xi_fit[:, 1] @ d[:, 1]) / np.linalg.norm(xi_fit[:, 1]) > 0.999  # direction kept


def test_hopfield_read_off_refuses_a_bent_decoder():
    """features > K: the fields are not linear in the order parameters, no ±1 ξ to read."""
    from napari_vaemf.core.errors import ParameterError
    from napari_vaemf.core.extraction import extract
    from napari_vaemf.core.vae import Fit, VAEConfig

    fit = Fit(None, "spin", VAEConfig(latents=2, features=4), n_units=6)
    with pytest.raises(ParameterError, match="features"):
        extract(fit, "hopfield")
