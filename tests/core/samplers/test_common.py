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


SMALL = {  # model -> job factory taking the number of samples
    "curie-weiss": lambda t: sample_curie_weiss(32, 1.2, samples=t, seed=1),
    "hopfield": lambda t: sample_hopfield(30, 2, samples=t, seed=1),
    "maier-saupe": lambda t: sample_maier_saupe(10, 8.0, samples=t, seed=1, burn_in=2),
    "ising2d": lambda t: sample_ising2d(4, samples=t, seed=1),
}


@pytest.mark.parametrize("model", sorted(SMALL))
def test_stoppable_generator_with_progress(model):
    """A job far too long to finish yields Progress at once and stops cleanly when closed."""
    import inspect
    import time

    job = SMALL[model](10**5)
    assert inspect.isgenerator(job)
    t0 = time.perf_counter()
    records = [next(job) for _ in range(3)]
    job.close()  # GeneratorExit at a yield
    assert time.perf_counter() - t0 < 30  # (shared 2-core machine: generous)
    assert all(isinstance(r, Progress) and 0 <= r.step <= r.total for r in records)
    with pytest.raises(StopIteration):
        next(job)


@pytest.mark.parametrize("model", sorted(SMALL))
def test_returns_ground_truth_consistent_with_configurations(model):
    s = drive(SMALL[model](40), bar=False)
    x = s.configurations
    assert s.model == model and s.params["seed"] == 1 and len(x) == 40
    if model == "curie-weiss":
        np.testing.assert_allclose(s.truth["magnetisation"], x.mean(axis=1), atol=1e-6)
    elif model == "hopfield":
        xi = s.truth["patterns"]
        assert xi.shape == (30, 2) and set(np.unique(xi)) <= {-1, 1}
        np.testing.assert_allclose(s.truth["overlaps"], x.astype(float) @ xi / 30, atol=1e-5)
    elif model == "maier-saupe":
        q = 1.5 * np.einsum("tni,tnj->tij", x.astype(float), x.astype(float)) / 10 - 0.5 * np.eye(3)
        np.testing.assert_allclose(s.truth["S"], np.linalg.eigvalsh(q)[:, -1], atol=1e-5)
        d = s.truth["director"].astype(float)  # unit eigenvector of Q with eigenvalue S
        np.testing.assert_allclose(np.einsum("tij,tj->ti", q, d), s.truth["S"][:, None] * d, atol=1e-4)
    else:
        lat = x.reshape(-1, 4, 4).astype(int)
        bonds = sum(lat[:, i, j] * (lat[:, (i + 1) % 4, j] + lat[:, i, (j + 1) % 4])
                    for i in range(4) for j in range(4))
        np.testing.assert_allclose(s.truth["energy"], -bonds / 16, atol=1e-6)
        np.testing.assert_allclose(s.truth["magnetisation"], x.mean(axis=1), atol=1e-6)
