import numpy as np
import pytest

from napari_vaemf.core.capacity import (
    contiguous_halves,
    curie_weiss_bipartite_mi,
    half_statistics,
    plugin_bipartite_mi,
    plugin_mi,
)


@pytest.mark.parametrize("beta_j", [0.5, 1.0, 1.5, 2.0])
def test_plugin_recovers_exact_curie_weiss_within_its_interval(beta_j, cw_samples):
    n = 100
    x = cw_samples(n, beta_j, 10_000, seed=int(beta_j * 10))
    est = plugin_bipartite_mi(x, "spin", contiguous_halves(n))
    exact = curie_weiss_bipartite_mi(n, beta_j)
    assert est.kind == "lower bound"
    assert est.lower <= exact <= est.upper
    assert est.upper - est.lower < 0.06


def test_jackknife_removes_most_of_the_naive_bias(cw_samples):
    x = cw_samples(100, 0.5, 5_000, seed=3)
    r = plugin_mi(*half_statistics(x, "spin", contiguous_halves(100))[:2])
    exact = curie_weiss_bipartite_mi(100, 0.5)
    assert abs(r["value"] - exact) < 0.5 * abs(r["naive"] - exact)


def test_independent_statistics_give_zero_within_interval():
    rng = np.random.default_rng(0)
    r = plugin_mi(rng.integers(0, 20, 4000), rng.integers(0, 20, 4000))
    assert r["lower"] <= 0.0 <= r["upper"]


def test_binary_and_spin_counts_agree(cw_samples):
    x = cw_samples(20, 1.0, 500, seed=1)
    part = contiguous_halves(20)
    a_s, b_s, _ = half_statistics(x, "spin", part)
    a_b, b_b, _ = half_statistics((x > 0).astype(np.uint8), "binary", part)
    assert np.array_equal(a_s, a_b) and np.array_equal(b_s, b_b)


def test_overlap_statistics_with_a_pattern_recover_gauged_curie_weiss(cw_samples):
    # Mattis state: s_i = ξ_i σ_i with σ Curie-Weiss; overlaps with ξ are sufficient
    n = 60
    xi = np.random.default_rng(2).choice([-1, 1], size=n)
    x = cw_samples(n, 1.2, 8000, seed=5) * xi[None, :].astype(np.int8)
    part = contiguous_halves(n)
    est = plugin_bipartite_mi(x, "spin", part, directions=xi, levels=0)
    assert est.lower <= curie_weiss_bipartite_mi(n, 1.2) <= est.upper
    counts = plugin_bipartite_mi(x, "spin", part)
    assert counts.value < est.lower  # counts are not sufficient here
