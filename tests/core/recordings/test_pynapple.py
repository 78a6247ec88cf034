"""pynapple both ways: a TsGroup (in memory or saved with TsGroup.save) in, latents out at bin centres."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from napari_vaemf.core.errors import InputError
from napari_vaemf.core.recordings import latents_to_pynapple, load_recording, recording_from_tsgroup

nap = pytest.importorskip("pynapple")

BIN = 0.05


def trains(seed=0):
    rng = np.random.default_rng(seed)
    return {4: np.sort(rng.uniform(0, 10, 300)), 9: np.sort(rng.uniform(0, 10, 120)), 17: np.array([2.5, 7.5])}


def group(support=(0.0, 10.0)):
    t = trains()
    return nap.TsGroup({k: nap.Ts(t=v) for k, v in t.items()},
                       time_support=None if support is None else nap.IntervalSet(*support),
                       metadata={"depth": np.array([10.0, 20.0, 30.0]), "area": np.array(["CA1", "CA1", "CA3"])})


def test_tsgroup_counts_equal_a_histogram():
    rec = recording_from_tsgroup(group(), bin_size=BIN)
    assert rec.units["id"].tolist() == [4, 9, 17] and rec.encoding == "counts"
    assert rec.units["depth"].tolist() == [10.0, 20.0, 30.0] and rec.units["area"].tolist() == ["CA1", "CA1", "CA3"]
    assert "rate" not in rec.units  # pynapple derives it; not data
    assert rec.t_start == 0.0 and rec.raster.shape == (3, 200)  # the time support [0, 10)
    edges = np.arange(201) * BIN
    for row, times in enumerate(trains().values()):
        np.testing.assert_array_equal(rec.raster[row], np.histogram(times, edges)[0])


def test_default_support_keeps_the_last_spike():
    """pynapple's default support ends on the last spike; [t_start, t_stop) would drop it."""
    g = group(support=None)
    first, last = min(v[0] for v in trains().values()), max(v[-1] for v in trains().values())
    assert g.time_support.end[0] == last
    rec = recording_from_tsgroup(g, bin_size=BIN)
    assert rec.t_start == first and rec.n_spikes() == sum(v.size for v in trains().values())


def test_saved_tsgroup_opens_with_load_recording(tmp_path):
    g = group()
    g.save(str(tmp_path / "units.npz"))
    rec = load_recording(tmp_path / "units.npz", bin_size=BIN)  # no pickle read: metadata stays behind
    np.testing.assert_array_equal(rec.raster, recording_from_tsgroup(g, bin_size=BIN).raster)
    assert rec.units["id"].tolist() == [4, 9, 17] and rec.source == tmp_path / "units.npz"


def test_saved_tsd_is_not_a_tsgroup(tmp_path):
    nap.Tsd(t=np.arange(5.0), d=np.arange(5.0)).save(str(tmp_path / "tsd.npz"))
    with pytest.raises(InputError, match=r"tsd\.npz"):
        load_recording(tmp_path / "tsd.npz")


def test_latents_at_bin_centres():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(40, 3)).astype(np.float32)
    frame = latents_to_pynapple(z, bin_size=0.02, t_start=1.5, columns=["z0", "z1", "z2"])
    assert isinstance(frame, nap.TsdFrame) and list(frame.columns) == ["z0", "z1", "z2"]
    np.testing.assert_array_equal(frame.t, 1.5 + (np.arange(40) + 0.5) * 0.02)
    np.testing.assert_array_equal(frame.values, z)
    assert frame.time_support.start[0] == 1.5 and frame.time_support.end[0] == pytest.approx(1.5 + 40 * 0.02)


def test_latents_share_pynapples_own_bins():
    """Latents of a recording sit where pynapple's own count puts the same bins."""
    rec = recording_from_tsgroup(group(), bin_size=BIN)
    frame = latents_to_pynapple(np.zeros((rec.n_bins, 1)), rec.bin_size, rec.t_start)
    counts = group()[4].count(BIN, ep=nap.IntervalSet(0.0, 10.0))
    np.testing.assert_allclose(frame.t, counts.t, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(rec.raster[0], counts.values)


def test_missing_pynapple_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynapple", None)  # import pynapple now fails
    with pytest.raises(ImportError, match=r"napari-vaemf\[pynapple\]"):
        latents_to_pynapple(np.zeros((3, 1)), 0.02)


def test_shared_pynapple_nwb_opens_the_same_both_ways(shared):
    """The A8604 file from pynapple's repository: pynapple's own reading and ours agree."""
    path = shared.need(shared.PHY)
    units = nap.load_file(str(path))["units"]
    ours = load_recording(path)
    assert ours.units["id"].tolist() == list(units.keys())
    for row, key in enumerate(units.keys()):
        np.testing.assert_array_equal(ours.spike_trains[row], units[key].t)
