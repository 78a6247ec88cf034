"""Controls: shuffled surrogates keep rates and autocorrelations but not coordination;
restart consistency is 1 for latents related by an affine map; the shuffle control of a
Curie-Weiss sweep removes the bipartite MI and the gain over independent units."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf.core.capacity import CapacitySettings, capacity_sweep
from napari_vaemf.core.capacity._control import (
    independent_loglik,
    restart_consistency,
    shuffle_surrogate,
)
from napari_vaemf.core.progress import drive


def _circular_autocorr(v, lag):
    return float(np.mean(v * np.roll(v, lag)))


def test_surrogate_keeps_rates_and_autocorrelation_breaks_coordination():
    rng = np.random.default_rng(0)
    common = rng.random(5000) < 0.3
    x = ((rng.random((5000, 6)) < 0.1) | common[:, None]).astype(np.int8)
    s = shuffle_surrogate(x, seed=1)
    assert np.array_equal(np.sort(x, axis=0), np.sort(s, axis=0))  # same values per unit
    for i in range(6):
        for lag in (1, 5, 37):
            assert _circular_autocorr(x[:, i], lag) == pytest.approx(_circular_autocorr(s[:, i], lag))
    cx, cs = np.corrcoef(x.T), np.corrcoef(s.T)
    iu = np.triu_indices(6, 1)
    assert cx[iu].min() > 0.5 and np.abs(cs[iu]).max() < 0.1


def test_surrogate_by_whole_repeats_keeps_the_stimulus_locked_part():
    rng = np.random.default_rng(2)
    reps, per = 20, 50
    stim = rng.random(per) < 0.3  # the same stimulus response every repeat
    x = np.tile(stim, reps)[:, None] & (rng.random((reps * per, 4)) < 0.9)
    s = shuffle_surrogate(x.astype(np.int8), repeats=reps, seed=3)
    psth_x = x.reshape(reps, per, 4).mean(0)
    psth_s = s.reshape(reps, per, 4).mean(0)
    assert np.allclose(psth_x, psth_s)  # shifts by whole repeats: the PSTH is unchanged


def test_restart_consistency():
    rng = np.random.default_rng(4)
    z = rng.standard_normal((500, 2))
    a = np.array([[0.5, -2.0], [1.0, 0.3]])
    assert restart_consistency(z, z @ a + 3.0) == pytest.approx(1.0)
    assert restart_consistency(z, rng.standard_normal((500, 2))) < 0.05


def test_independent_loglik_matches_bernoulli():
    x_train = np.array([[1, 0], [1, 1], [0, 0], [1, 0]], np.int8)
    x_test = np.array([[1, 1]], np.int8)
    assert independent_loglik(x_train, x_test, "binary")[0] == pytest.approx(np.log(0.75) + np.log(0.25))
    spins = 2 * x_train - 1
    assert independent_loglik(spins, 2 * x_test - 1, "spin")[0] == pytest.approx(np.log(0.75 * 0.25))


@pytest.mark.usefixtures("one_torch_thread")
def test_shuffle_control_on_curie_weiss(cw_samples):
    x = cw_samples(16, 1.4, 4000, seed=11)
    st = CapacitySettings(k_max=2, seeds=2, epochs=20, batch_size=256, infonce=False,
                          model_mi=False, random_partitions=1, device="cpu", control="shuffle")
    report = drive(capacity_sweep(x, "spin", settings=st), bar=False)
    c = report.control
    assert c["gain_over_independent_nats"] > 0.5  # the data are strongly coordinated
    assert c["surrogate_gain_over_independent_nats"] < 0.01
    lo, hi = c["surrogate_bipartite_mi_interval"]
    assert c["surrogate_bipartite_mi_nats"] < hi - lo  # below its own interval width
    assert c["bipartite_mi_nats"] > 10 * (hi - lo)
    assert set(report.consistency) == {1, 2} and report.consistency[1] > 0.9
    out = report.to_json()
    assert out["control"] == c and "Shuffle control" in out["verdict"]
