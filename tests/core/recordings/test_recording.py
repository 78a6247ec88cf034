"""Recording: samples, batches (eager and streamed), re-binning, selection, big lazy rasters."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf.core.configs import SampleSet
from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.recordings import Recording, SpikeTrains, bin_spikes


@pytest.fixture
def rec(poisson_trains):
    return Recording.from_spike_trains(SpikeTrains.from_list(poisson_trains, ids=np.arange(12) + 100), 0.05)


def test_samples_are_binary_time_by_units(rec):
    x = rec.samples()
    assert x.shape == (rec.n_bins, 12) and x.dtype == np.float32
    np.testing.assert_array_equal(x, (rec.raster.T > 0).astype(np.float32))
    assert rec.raster.max() > 1  # counts above 1 exist, and samples() still is binary


@pytest.mark.parametrize("lazy", [False, True])
def test_iter_batches_visits_every_bin_once(poisson_trains, lazy):
    st = SpikeTrains.from_list(poisson_trains)
    rec = Recording.from_spike_trains(st, 0.01, lazy=lazy)
    if lazy:
        rec.raster = rec.raster.rechunk((12, 250))
    assert rec.is_lazy == lazy
    batches = list(rec.iter_batches(64, shuffle=True, seed=3))
    assert all(len(b) == 64 for b in batches[:-1])
    got = np.concatenate(batches)
    want = rec.samples() if not lazy else (bin_spikes(st, 0.01).T > 0).astype(np.float32)
    # the same multiset of rows: compare rows sorted lexicographically
    key = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731
    np.testing.assert_array_equal(key(got), key(want))


def test_rebin_from_spikes_needs_no_file(rec, poisson_trains):
    coarse = rec.rebin(0.2)
    np.testing.assert_array_equal(coarse.raster, bin_spikes(poisson_trains, 0.2))
    assert coarse.units["id"][0] == 100


def test_rebin_raster_by_whole_factors():
    r = Recording(raster=np.array([[1, 0, 1, 1, 0, 0]], dtype=np.uint8), bin_size=0.01, repeats=3)
    assert r.rebin(0.02).raster.tolist() == [[1, 2, 0]]
    with pytest.raises(ParameterError, match="multiples"):
        r.rebin(0.015)
    with pytest.raises(ParameterError, match="per repeat"):
        r.rebin(0.03)


def test_select_units_and_window(rec):
    sub = rec.select(units=[3, 5], t_start=1.0, t_stop=2.0)
    assert sub.n_units == 2 and sub.n_bins == 20 and sub.t_start == pytest.approx(1.0)
    assert sub.units["id"].tolist() == [103, 105]
    np.testing.assert_array_equal(sub.raster, rec.raster[[3, 5], 20:40])
    assert len(sub.spike_trains) == 2
    with pytest.raises(ParameterError):
        rec.select(units=[99])


def test_select_subsets_per_unit_truth():
    x = np.array([[1, -1, 1], [-1, -1, 1]], dtype=np.int8)
    pat = np.array([[1, 1], [-1, 1], [1, -1]], dtype=np.int8)  # (N, P)
    r = Recording.from_sampleset(SampleSet("hopfield", x, {}, {"patterns": pat, "beta": np.array(1.4)}))
    sub = r.select(units=[0, 2])
    np.testing.assert_array_equal(sub.truth["patterns"], pat[[0, 2]])
    assert sub.truth["beta"] == 1.4 and sub.n_units == 2


def test_from_sampleset_keeps_model_and_truth():
    x = np.array([[1, -1, 1], [-1, -1, 1]], dtype=np.int8)
    r = Recording.from_sampleset(SampleSet("curie-weiss", x, {"beta_j": 1.1}, {"m": np.array([0.1])}))
    assert r.raster.shape == (3, 2) and r.encoding == "spin" and r.model == "curie-weiss"
    np.testing.assert_array_equal(r.samples(), x)


def test_big_recording_stays_lazy_and_bounded():
    """1,000 units x 1 hour at 1 ms (3.6e9 cells) opens lazily; one chunk is all that is binned."""
    rng = np.random.default_rng(0)
    n_units, per_unit = 1000, 200  # sparse: a few spikes per unit keeps the test fast
    trains = [np.sort(rng.uniform(0, 3600.0, per_unit)) for _ in range(n_units)]
    rec = Recording.from_spike_trains(SpikeTrains.from_list(trains), 0.001, t_stop=3600.0)
    assert rec.is_lazy and rec.raster.shape == (1000, 3_600_000)
    chunk = rec.raster.chunks[1][0]
    assert rec.n_units * chunk * rec.raster.dtype.itemsize < 100e6  # a chunk is < 100 MB
    import tracemalloc

    tracemalloc.start()
    batches = rec.iter_batches(4096, shuffle=True, seed=0)
    first = next(batches)
    for _ in range(20):  # past the first chunk's 16 batches into the next chunk
        next(batches)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    batches.close()
    assert first.shape == (4096, 1000) and first.dtype == np.float32
    chunk_bytes = rec.n_units * chunk
    assert peak < 3 * chunk_bytes < rec.n_units * rec.n_bins / 10  # about 2 chunks, never the raster
    window = rec.raster[:, 1_000_000:1_010_000].compute()
    expect = sum(int(((t >= 1000.0) & (t < 1010.0)).sum()) for t in trains)
    assert window.sum() == expect
