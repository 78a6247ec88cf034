"""The strict generalized Hopfield model: log Z on the centred lattice against enumeration,
exact samples against exact probabilities, and maximum likelihood on data drawn from it."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from napari_vaemf.core.baselines._strict import (
    StrictHopfield,
    fit_strict_hopfield,
    hs_log_partition,
)


def _states(n, spin):
    return np.array(list(itertools.product([-1, 1] if spin else [0, 1], repeat=n)), float)


def _exact_log_z(b, w, spin):
    s = _states(b.size, spin)
    e = s @ b + 0.5 * ((s @ w) ** 2).sum(1)
    return float(np.log(np.exp(e - e.max()).sum()) + e.max())


@pytest.mark.parametrize("spin", [False, True])
@pytest.mark.parametrize("p", [1, 2, 3])
def test_log_partition_matches_enumeration(spin, p):
    rng = np.random.default_rng(p + 10 * spin)
    n = 12
    b = rng.normal(0, 0.3, n) if spin else rng.normal(-1, 0.5, n)
    w = rng.normal(0.3, 0.6, (n, p))  # strong couplings: several modes for spins
    assert hs_log_partition(b, w, spin, 48) == pytest.approx(_exact_log_z(b, w, spin), abs=1e-6)


def test_far_mass_is_found():
    """Fields and patterns that put the mass far from the origin (|z| ≈ 11, as on the retina)."""
    rng = np.random.default_rng(5)
    n = 14
    w = np.abs(rng.normal(0.8, 0.1, (n, 2)))
    b = -0.5 * w.sum(1) * 11 / np.sqrt(2)  # sparse activity balanced by strong couplings
    assert hs_log_partition(b, w, False, 40) == pytest.approx(_exact_log_z(b, w, False), abs=1e-6)


@pytest.mark.usefixtures("one_torch_thread")
def test_maximum_likelihood_recovers_a_strict_model():
    rng = np.random.default_rng(1)
    n, p = 10, 2
    b = rng.normal(-1.5, 0.3, n)
    w = np.abs(rng.normal(0.5, 0.2, (n, p))) * np.array([1, -1])[None, :] * np.sign(rng.normal(size=(n, 1)))
    truth = StrictHopfield(b, w, "binary", hs_log_partition(b, w, False, 48), 48)
    s = _states(n, False)
    prob = np.exp(truth.log_prob(s))
    assert prob.sum() == pytest.approx(1.0, abs=1e-9)
    weights, on = truth.mixture()  # the same distribution as a mixture of product Bernoullis
    mix = np.exp(np.log(on) @ s.T + np.log1p(-on) @ (1 - s).T)
    assert weights @ mix == pytest.approx(prob, abs=1e-9)
    x = s[rng.choice(len(s), size=20000, p=prob / prob.sum())].astype(np.int8)
    fit = fit_strict_hopfield(x, p, "binary", steps=1500)
    exact_ll = float(np.mean(truth.log_prob(x)))
    assert fit.loglik(x) >= exact_ll - 0.002  # the ML fit is at least as good on its data
    assert fit.loglik(x) <= exact_ll + 0.01  # and not better than the sampling noise allows
    j_fit, j_true = fit.w @ fit.w.T, w @ w.T
    iu = np.triu_indices(n, 1)
    assert np.corrcoef(j_fit[iu], j_true[iu])[0, 1] > 0.95


@pytest.mark.usefixtures("one_torch_thread")
def test_the_fit_ends_at_a_stationary_point_of_the_exact_likelihood():
    """After the L-BFGS polish the exact gradient (by enumeration) of the training
    log-likelihood vanishes: moments of the data = moments of the model."""
    rng = np.random.default_rng(4)
    n = 9
    b, w = rng.normal(-1.0, 0.4, n), np.abs(rng.normal(0.6, 0.2, (n, 1)))
    s = _states(n, False)
    truth = StrictHopfield(b, w, "binary", _exact_log_z(b, w, False), 48)
    prob = np.exp(truth.log_prob(s))
    x = s[rng.choice(len(s), size=8000, p=prob / prob.sum())].astype(np.int8)
    fit = fit_strict_hopfield(x, 1, "binary", steps=300)
    q = np.exp(s @ fit.b + 0.5 * ((s @ fit.w) ** 2).sum(1) - _exact_log_z(fit.b, fit.w, False))
    v = x.astype(float)
    grad_b = v.mean(0) - q @ s  # d ll / d b
    proj_data, proj_model = v @ fit.w[:, 0], s @ fit.w[:, 0]
    grad_w = (v * proj_data[:, None]).mean(0) - q @ (s * proj_model[:, None])  # d ll / d w
    assert np.abs(grad_b).max() < 1e-4 and np.abs(grad_w).max() < 1e-4


@pytest.mark.parametrize("spin", [False, True])
def test_ais_log_partition_matches_enumeration(spin):
    """The independent check is itself right where enumeration can judge it (N = 12)."""
    from napari_vaemf.core.baselines._ais import ais_log_partition

    rng = np.random.default_rng(21 + spin)
    b = rng.normal(0, 0.3, 12) if spin else rng.normal(-1, 0.5, 12)
    w = rng.normal(0.1, 0.3, (12, 2))
    est, ess = ais_log_partition(b, w, spin, chains=1000, temps=300, seed=1)
    assert est == pytest.approx(_exact_log_z(b, w, spin), abs=0.01) and ess > 500


@pytest.mark.parametrize("spin", [False, True])
def test_hs_log_partition_agrees_with_ais_at_n50(spin):
    """N = 50, beyond enumeration: the lattice's log Z and annealed importance sampling agree
    within 0.01 nats, for sparse binary units whose mass sits far from the origin (as on the
    retina) and for spins."""
    from napari_vaemf.core.baselines._ais import ais_log_partition

    rng = np.random.default_rng(50 + spin)
    if spin:
        b, w = rng.normal(0, 0.2, 50), rng.normal(0, 0.12, (50, 2))
    else:  # sparse units, |W_μ| ≈ 2.5 with mixed signs
        b, w = rng.normal(-2.5, 0.5, 50), rng.normal(0, 0.35, (50, 2))
    est, ess = ais_log_partition(b, w, spin, chains=2000, temps=800, seed=2)
    assert ess > 1000
    assert hs_log_partition(b, w, spin, 40) == pytest.approx(est, abs=0.01)


def test_strict_fit_on_the_retina_has_the_log_z_ais_finds():
    """The P = 2 fit on the retina's even repeats (mass far from the origin): its lattice log Z
    and annealed importance sampling agree within 0.01 nats."""
    from pathlib import Path

    from napari_vaemf.core import stats
    from napari_vaemf.core.baselines._ais import ais_log_partition
    from napari_vaemf.core.recordings import load_recording

    path = (Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
            / "marre2014-salamander-retina-50" / "original_data_num_neurons_50_1.mat")
    if not path.exists():
        pytest.skip(f"the salamander recording is not in ../shared/data ({path.name})")
    rec = load_recording(path)
    even, _ = stats.split_half(rec.samples().astype(np.uint8), rec.repeats)
    fit = fit_strict_hopfield(even, 2, "binary")
    est, ess = ais_log_partition(fit.b, fit.w, False, chains=2000, temps=800, seed=3)
    assert ess > 1000
    assert fit.log_z == pytest.approx(est, abs=0.01)


def test_true_hopfield_model_matches_enumeration():
    """``StrictHopfield.of_patterns`` is the sampler's model: log p(s) equals the log of the
    enumerated Hopfield distribution on every state (N = 12, P = 2, β = 1.4)."""
    from napari_vaemf.core.errors import ParameterError
    from napari_vaemf.core.samplers import hopfield_exact_distribution, hopfield_patterns

    xi = hopfield_patterns(12, 2, seed=3)
    states, prob = hopfield_exact_distribution(xi, 1.4)
    model = StrictHopfield.of_patterns(xi, 1.4)
    assert model.log_prob(states) == pytest.approx(np.log(prob), abs=1e-8)
    with pytest.raises(ParameterError, match="beta"):
        StrictHopfield.of_patterns(xi, -1.0)


def test_an_ordered_magnet_is_fitted_to_its_maximum_likelihood():
    """Curie-Weiss deep in the ordered phase (βJ = 2) is the strict model with one uniform
    pattern |w| = sqrt(βJ), its two states far out at z ≈ ±sqrt(βJ N) m*. The maximum
    likelihood's training log-likelihood is at least the true model's (the truth is in the
    class); a lattice that lags behind the fast-moving states let the pattern run away to
    |w| = 20 and 9 nats/sample below it."""
    import math

    from napari_vaemf.core.progress import drive
    from napari_vaemf.core.samplers import sample_curie_weiss

    n, beta_j = 100, 2.0
    x = drive(sample_curie_weiss(n, beta_j, samples=20000, seed=41), bar=False).configurations
    w = np.full((n, 1), math.sqrt(beta_j / n))
    truth = StrictHopfield(np.zeros(n), w, "spin", hs_log_partition(np.zeros(n), w, True, 400), nodes=400)
    fit = fit_strict_hopfield(x, 1, "spin")
    assert fit.log_z == pytest.approx(hs_log_partition(fit.b, fit.w, True, 400), abs=1e-6)
    assert fit.loglik(x) >= truth.loglik(x) - 1e-4
    assert np.linalg.norm(fit.w) == pytest.approx(math.sqrt(beta_j), rel=0.02)
