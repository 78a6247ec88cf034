"""Exact Curie-Weiss samples drawn through the exact joint law of the half magnetisations."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf.core.capacity import curie_weiss_half_joint


def exact_cw_samples(n: int, beta_j: float, samples: int, seed: int) -> np.ndarray:
    """(samples, n) int8 ±1: (M_A, M_B) from the exact joint law, then uniform within halves."""
    rng = np.random.default_rng(seed)
    _, _, log_p = curie_weiss_half_joint(n, beta_j)
    p = np.exp(log_p).ravel()
    ia, ib = np.unravel_index(rng.choice(p.size, samples, p=p / p.sum()), log_p.shape)
    n_a = n // 2
    # rank of a uniform key inside each half: the first k ranks are up -> uniform subset
    ranks_a = np.argsort(np.argsort(rng.random((samples, n_a)), 1), 1)
    ranks_b = np.argsort(np.argsort(rng.random((samples, n - n_a)), 1), 1)
    up = np.concatenate([ranks_a < ia[:, None], ranks_b < ib[:, None]], axis=1)
    return np.where(up, 1, -1).astype(np.int8)


@pytest.fixture
def cw_samples():
    """The sampler above, as a fixture (tests here are not a package)."""
    return exact_cw_samples
