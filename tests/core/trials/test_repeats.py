"""The stimulus-locked share of the latent variance, on repeated stimuli whose share is known."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.trials import stimulus_locked_share, stimulus_locked_text, variance_partition


def _repeated(r: int, p: int, amplitude: float, sigma: float, seed: int = 0) -> np.ndarray:
    """(r*p, 2) latents: a circle of radius ``amplitude`` traced once per repeat (variance
    amplitude²/2 per axis, amplitude² in all) plus isotropic noise of s.d. ``sigma`` per axis
    (2 sigma² in all): the stimulus-locked share is amplitude² / (amplitude² + 2 sigma²)."""
    rng = np.random.default_rng(seed)
    phase = 2 * np.pi * np.arange(p) / p
    locked = amplitude * np.column_stack([np.cos(phase), np.sin(phase)])  # (p, 2)
    return (locked[None] + sigma * rng.standard_normal((r, p, 2))).reshape(r * p, 2)


@pytest.mark.parametrize("amplitude, sigma", [(1.0, 0.5), (2.0, 0.5), (0.5, 1.0)])
def test_the_share_matches_the_analytic_value(amplitude, sigma):
    z = _repeated(r=60, p=200, amplitude=amplitude, sigma=sigma)
    expected = amplitude**2 / (amplitude**2 + 2 * sigma**2)
    assert stimulus_locked_share(z, 60) == pytest.approx(expected, abs=0.01)


def test_few_repeats_are_corrected_for_the_noise_their_average_keeps():
    # 4 repeats: the plain average keeps 1/4 of the noise variance, the share removes it
    z = _repeated(r=4, p=5000, amplitude=1.0, sigma=1.0)
    d = variance_partition(z, 4)
    assert d["stimulus_locked_share"] == pytest.approx(1 / 3, abs=0.01)
    assert d["uncorrected_share"] == pytest.approx((1 + 2 / 4) / 3, abs=0.01)
    assert d["stimulus_locked_share"] + d["trial_to_trial_share"] == pytest.approx(1.0)
    assert d["repeats"] == 4 and d["bins_per_repeat"] == 5000


def test_pure_noise_locks_nothing_and_a_pure_stimulus_everything():
    assert stimulus_locked_share(_repeated(50, 200, 0.0, 1.0), 50) == pytest.approx(0.0, abs=0.01)
    assert stimulus_locked_share(_repeated(50, 200, 1.0, 0.0), 50) == pytest.approx(1.0)


def test_the_share_does_not_depend_on_how_the_latent_axes_are_rotated_or_scaled_together():
    z = _repeated(r=30, p=100, amplitude=1.0, sigma=0.7, seed=3)
    z = np.column_stack([z, 0.3 * np.random.default_rng(4).standard_normal(len(z))])  # K = 3
    q, _ = np.linalg.qr(np.random.default_rng(5).standard_normal((3, 3)))
    assert stimulus_locked_share(z @ q * 5.0, 30) == pytest.approx(stimulus_locked_share(z, 30), rel=1e-9)


@pytest.mark.parametrize("repeats, match", [(1, "at least 2 repeats"), (7, "cannot be split into 7")])
def test_bad_repeats_are_refused(repeats, match):
    with pytest.raises(ParameterError, match=match):
        stimulus_locked_share(np.zeros((100, 2)), repeats)


def test_the_status_sentence_states_the_share_or_nothing():
    z = _repeated(r=50, p=200, amplitude=1.0, sigma=0.5)
    assert stimulus_locked_text(z, 50) == " Stimulus-locked share of the latent variance: 0.67 (50 repeats)."
    assert stimulus_locked_text(z, None) == stimulus_locked_text(z, 1) == stimulus_locked_text(z, 7) == ""
