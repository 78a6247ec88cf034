"""Shared sampler pieces: tempering swaps, tiny runs, progress records."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf.core.progress import Progress, drive
from napari_vaemf.core.samplers import (
    sample_curie_weiss,
    sample_hopfield,
    sample_ising2d,
    sample_maier_saupe,
)
from napari_vaemf.core.samplers._common import beta_ladder, tempering_swaps


def test_tempering_swap_probability_is_metropolis():
    """Pair (beta_a, beta_b) with energies (E_a, E_b): swap with min(1, e^{(b_a-b_b)(E_a-E_b)})."""
    rng = np.random.default_rng(0)
    betas = np.array([2.0, 1.0])
    c = 200000
    energies = np.stack([np.full(c, -1.0), np.full(c, -2.0)])
    perm, acc = tempering_swaps(rng, betas, energies, sweep=0)
    # (2 - 1) * (-1 - -2) = +1 > 0: always accepted
    assert acc.all() and (perm[0] == 1).all() and (perm[1] == 0).all()
    energies = energies[::-1].copy()  # (2 - 1) * (-2 - -1) = -1: accepted with e^-1
    perm, acc = tempering_swaps(rng, betas, energies, sweep=0)
    assert acc.mean() == pytest.approx(np.exp(-1.0), abs=4 * np.sqrt(0.25 / c))
    # odd sweeps pair (1, 2), (3, 4), ...: with two temperatures nothing is tried
    perm, acc = tempering_swaps(rng, betas, energies, sweep=1)
    assert acc.size == 0 and (perm == np.arange(2)[:, None]).all()


def test_ladder_is_geometric_from_the_target():
    b = beta_ladder(1.6, 0.8, 5)
    assert b[0] == 1.6 and b[-1] == pytest.approx(0.8)
    assert np.allclose(b[1:] / b[:-1], (0.5) ** 0.25)
    assert beta_ladder(0.5, 0.8, 5).tolist() == [0.5]


@pytest.mark.parametrize("job", [
    lambda: sample_curie_weiss(5, 1.0, samples=1),
    lambda: sample_hopfield(20, samples=5),
    lambda: sample_maier_saupe(10, 8.0, samples=3, burn_in=2),
    lambda: sample_ising2d(4, samples=3),
])
def test_tiny_runs_and_progress(job):
    records = []
    res = drive(job(), bar=False, on_progress=records.append)
    assert res.n_samples == len(res.configurations) >= 1
    assert records and all(isinstance(r, Progress) for r in records)
    last = records[-1]
    assert last.step == last.total  # the final record says "done"
