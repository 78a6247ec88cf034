import numpy as np
import pytest

from napari_vaemf.core.capacity import (
    contiguous_halves,
    curie_weiss_bipartite_mi,
    enumerate_bipartite_mi,
    hopfield_bipartite_mi,
    mutual_information_from_log_joint,
    random_halves,
)
from napari_vaemf.core.errors import ParameterError


@pytest.mark.parametrize("beta_j,beta_h", [(0.3, 0.0), (1.0, 0.0), (1.6, 0.2), (2.5, -0.1)])
def test_curie_weiss_matches_enumeration_of_all_256_states(beta_j, beta_h):
    n = 8

    def log_prob(s):
        m = s.sum(1).astype(float)
        return beta_j * m**2 / (2 * n) + beta_h * m

    for part in [contiguous_halves(n), *random_halves(n, 2, seed=4)]:
        assert curie_weiss_bipartite_mi(n, beta_j, beta_h) == pytest.approx(
            enumerate_bipartite_mi(log_prob, n, part), rel=1e-10, abs=1e-12)


def test_curie_weiss_unequal_halves_match_enumeration():
    n, beta_j = 9, 1.3
    part = contiguous_halves(n)  # 4 + 5 units
    exact = curie_weiss_bipartite_mi(n, beta_j, n_a=part.a.size)
    brute = enumerate_bipartite_mi(lambda s: beta_j * s.sum(1) ** 2 / (2 * n), n, part)
    assert exact == pytest.approx(brute, rel=1e-10)


def test_curie_weiss_limits():
    assert curie_weiss_bipartite_mi(100, 0.0) == pytest.approx(0.0, abs=1e-12)
    # deep in the ordered phase the halves share the sign of M: MI -> log 2
    assert curie_weiss_bipartite_mi(100, 6.0) == pytest.approx(np.log(2), abs=1e-3)


@pytest.mark.parametrize("patterns", [1, 2, 3])
def test_hopfield_matches_enumeration(patterns):
    n, beta = 11, 1.4
    rng = np.random.default_rng(patterns)
    xi = rng.choice([-1, 1], size=(n, patterns))

    def log_prob(s):
        return beta / (2 * n) * ((s @ xi).astype(float) ** 2).sum(1)

    for part in [contiguous_halves(n), random_halves(n, 1, seed=2)[0]]:
        assert hopfield_bipartite_mi(xi, beta, part) == pytest.approx(
            enumerate_bipartite_mi(log_prob, n, part), rel=1e-9)


def test_hopfield_single_pattern_is_curie_weiss_after_gauge():
    # one pattern: s_i -> ξ_i s_i maps Hopfield onto Curie-Weiss with βJ = β
    n, beta = 40, 1.5
    xi = np.random.default_rng(0).choice([-1, 1], size=(n, 1))
    assert hopfield_bipartite_mi(xi, beta, contiguous_halves(n)) == pytest.approx(
        curie_weiss_bipartite_mi(n, beta), rel=1e-9)


def test_refuses_too_many_states():
    xi = np.ones((200, 5))
    with pytest.raises(ParameterError, match="grid states"):
        hopfield_bipartite_mi(xi, 1.0, contiguous_halves(200))


def test_mi_of_independent_table_is_zero():
    la, lb = np.log([0.2, 0.8]), np.log([0.1, 0.3, 0.6])
    mi = mutual_information_from_log_joint(la[:, None] + lb[None, :])
    assert mi == pytest.approx(0, abs=1e-14)


def test_hopfield_convention_matches_the_sampler_package():
    # the exact MI must describe the distribution the Hopfield sampler draws from
    from napari_vaemf.core.samplers import hopfield_exact_distribution

    n, beta = 10, 1.3
    xi = np.random.default_rng(5).choice([-1, 1], size=(n, 2)).astype(np.int8)
    states, probs = hopfield_exact_distribution(xi, beta)
    table = {tuple(s): np.log(p) for s, p in zip(states.tolist(), probs)}
    part = random_halves(n, 1, seed=1)[0]
    brute = enumerate_bipartite_mi(
        lambda s: np.array([table[tuple(r)] for r in s.tolist()]), n, part)
    assert hopfield_bipartite_mi(xi, beta, part) == pytest.approx(brute, rel=1e-9)
