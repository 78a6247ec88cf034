"""bin_spikes: the documented edge convention, totals, dtypes, the lazy path, bad parameters."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.recordings import SpikeTrains, as_binary, bin_spikes, bin_spikes_lazy


def test_edges_are_half_open_and_left_closed():
    # bins of 0.5 s from 0: [0, .5) [.5, 1) [1, 1.5) ...
    trains = [np.array([0.0, 0.5, 0.99, 1.0, 1.49]), np.array([0.25, 1.75])]
    counts = bin_spikes(trains, 0.5)
    assert counts.tolist() == [[1, 2, 2, 0], [1, 0, 0, 1]]
    # an explicit t_stop excludes a spike sitting exactly on it, and ends with a short bin
    counts = bin_spikes(trains, 0.5, t_start=0.0, t_stop=1.2)
    assert counts.shape == (2, 3)  # ceil(1.2 / 0.5) bins, the last one 0.2 s long
    assert counts.tolist() == [[1, 2, 1], [1, 0, 0]]
    assert bin_spikes(trains, 0.5, t_start=0.0, t_stop=1.0).tolist() == [[1, 2], [1, 0]]


@pytest.mark.parametrize("b", [0.02, 0.7])  # sparse rows (run lengths) and dense rows (bincount)
def test_matches_numpy_histogram_and_totals(poisson_trains, b):
    t0, t1 = 2.0, 27.0
    counts = bin_spikes(poisson_trains, b, t_start=t0, t_stop=t1)
    edges = t0 + b * np.arange(counts.shape[1] + 1)
    for row, t in zip(counts, poisson_trains):
        ref, _ = np.histogram(t[(t >= t0) & (t < t1)], bins=edges)
        np.testing.assert_array_equal(row, ref)
    inside = sum(int(((t >= t0) & (t < t1)).sum()) for t in poisson_trains)
    assert counts.sum() == inside
    assert counts.dtype == np.uint8


def test_default_window_holds_every_spike(poisson_trains):
    counts = bin_spikes(poisson_trains, 0.1)
    assert counts.sum() == sum(len(t) for t in poisson_trains)
    last = max(t[-1] for t in poisson_trains)
    assert counts.shape[1] == int(np.floor(last / 0.1)) + 1
    assert counts[:, -1].sum() >= 1  # the last bin holds the last spike


@pytest.mark.parametrize("n_spikes, dtype", [(255, np.uint8), (256, np.uint16), (70000, np.uint32)])
def test_smallest_sufficient_dtype(n_spikes, dtype):
    trains = [np.linspace(0.0, 0.9, n_spikes), np.array([5.0])]
    counts = bin_spikes(trains, 1.0)
    assert counts.dtype == dtype
    assert counts[0, 0] == n_spikes and counts.sum() == n_spikes + 1


def test_binary_view(poisson_trains):
    counts = bin_spikes(poisson_trains, 0.5)
    binary = as_binary(counts)
    assert binary.dtype == np.uint8 and set(np.unique(binary)) <= {0, 1}
    np.testing.assert_array_equal(binary, (counts > 0).astype(np.uint8))


@pytest.mark.parametrize("b, chunk", [(0.013, 97), (0.3, 7)])
def test_lazy_equals_eager(poisson_trains, b, chunk):
    eager = bin_spikes(poisson_trains, b, t_start=0.5, t_stop=29.0)
    lazy = bin_spikes_lazy(poisson_trains, b, t_start=0.5, t_stop=29.0, chunk_bins=chunk)
    assert lazy.shape == eager.shape and lazy.chunks[1][0] == chunk
    np.testing.assert_array_equal(lazy.compute(), eager)
    assert lazy.dtype == eager.dtype
    # a single chunk is computed without touching the others
    np.testing.assert_array_equal(lazy[:, 30:60].compute(), eager[:, 30:60])


def test_lazy_dtype_bound_holds_dense_bins():
    trains = [np.arange(1000) * 1e-3, np.array([0.5])]  # 1000 spikes, 1 ms apart
    lazy = bin_spikes_lazy(trains, 0.5, chunk_bins=1)
    assert lazy.dtype == np.uint16  # a 0.5 s bin can hold 501 spikes at 1 ms spacing
    assert lazy.compute().tolist() == [[500, 500], [0, 1]]


@pytest.mark.parametrize("bad", [0, -0.1, float("nan"), 100.0])
def test_bad_bin_sizes(poisson_trains, bad):
    trains = SpikeTrains.from_list(poisson_trains)
    with pytest.raises(ParameterError, match="bin size"):
        bin_spikes(trains, bad)


def test_zero_spikes_is_an_input_error():
    with pytest.raises(InputError, match="zero spikes"):
        bin_spikes([np.array([]), np.array([])], 0.1)


@pytest.mark.parametrize(
    "times, problem",
    [([0.1, np.nan], "NaN"), ([-0.5, 0.1], "negative"), ([0.3, 0.1], "not sorted")],
)
def test_validate_names_the_unit(times, problem):
    st = SpikeTrains.from_list([np.array([0.1, 0.2]), np.array(times)], ids=[7, 42])
    with pytest.raises(InputError, match=f"{problem}.*42"):
        st.validate()


def test_sparse_rows_widen_too():
    """A crowded bin in an otherwise sparse row (run-length path) also widens the dtype."""
    trains = [np.concatenate([np.linspace(0.1, 0.2, 300), [7.5, 7.6]]), np.array([9999.0])]
    counts = bin_spikes(trains, 1.0)
    assert counts.shape == (2, 10000) and counts.dtype == np.uint16
    assert counts[0, 0] == 300 and counts[0, 7] == 2 and counts.sum() == 303
