"""read_nwb_units on synthetic (pynwb.testing.mock) and real NWB files, and bad NWB input."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from napari_vaemf.core.errors import InputError
from napari_vaemf.core.recordings import load_recording, read_nwb_units


def test_units_spikes_ids_and_columns(tmp_path, poisson_trains, write_nwb):
    ids = np.arange(len(poisson_trains)) * 10 + 3
    quality = [("good", "mua")[i % 2] for i in range(len(poisson_trains))]
    path = write_nwb(tmp_path / "u.nwb", poisson_trains, columns={"quality": quality}, ids=ids)
    st = read_nwb_units(path)
    assert len(st) == len(poisson_trains)
    np.testing.assert_array_equal(st.units["id"], ids)
    assert list(st.units["quality"]) == quality
    for i, t in enumerate(poisson_trains):
        np.testing.assert_array_equal(st[i], t)


def test_units_inside_a_processing_module(tmp_path, poisson_trains, write_nwb):
    path = write_nwb(tmp_path / "p.nwb", poisson_trains, where="ecephys")
    st = read_nwb_units(path)
    assert st.counts().tolist() == [len(t) for t in poisson_trains]


def test_obs_intervals_window_and_dropped_spikes(tmp_path, write_nwb):
    trains = [np.array([1.0, 2.0, 5.0, 9.5]), np.array([3.0, 4.0])]
    obs = [[[0.5, 6.0]], [[2.0, 8.0]]]
    path = write_nwb(tmp_path / "o.nwb", trains, obs_intervals=obs)
    st = read_nwb_units(path)
    assert st[0].tolist() == [1.0, 2.0, 5.0]  # 9.5 lies outside unit 0's observation
    assert (st.t_start, st.t_stop) == (0.5, 8.0)
    rec = load_recording(path, bin_size=0.5)
    assert rec.t_start == 0.5 and rec.n_bins == 15  # [0.5, 8.0) in 0.5 s bins
    assert rec.raster.sum() == 5


def test_one_bulk_read_not_per_row(tmp_path, poisson_trains, monkeypatch, write_nwb):
    """spike_times is read whole exactly once (no per-unit slicing of the dataset)."""
    path = write_nwb(tmp_path / "b.nwb", poisson_trains)
    reads = []
    original = h5py.Dataset.__getitem__

    def spy(self, key):
        if self.name.endswith("/spike_times"):
            reads.append(key)
        return original(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    read_nwb_units(path)
    assert reads == [()]


def test_nwb1_is_refused_with_a_clear_message(shared):
    with pytest.raises(InputError, match=r"496908818s\.nwb.*NWB 1\.x"):
        read_nwb_units(shared.need(shared.NWB1))


def test_nwb_without_units(tmp_path):
    from pynwb import NWBHDF5IO
    from pynwb.testing.mock.file import mock_NWBFile

    path = tmp_path / "nounits.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(mock_NWBFile())
    with pytest.raises(InputError, match=r"nounits\.nwb.*no Units table"):
        read_nwb_units(path)


def test_units_with_zero_spikes(tmp_path, write_nwb):
    path = write_nwb(tmp_path / "empty.nwb", [np.array([]), np.array([])])
    with pytest.raises(InputError, match=r"empty\.nwb.*zero spikes"):
        load_recording(path)


@pytest.mark.parametrize(
    "bad, problem",
    [([0.2, np.nan, 0.4], "NaN"), ([-1.0, 0.5], "negative"), ([0.5, 0.2, 0.9], "not sorted")],
)
def test_bad_spike_times(tmp_path, bad, problem, write_nwb):
    path = write_nwb(tmp_path / "bad.nwb", [np.array([0.1, 0.3]), np.array(bad)], ids=[5, 77])
    with pytest.raises(InputError, match=rf"bad\.nwb.*{problem}.*77"):
        read_nwb_units(path)


def test_truncated_hdf5(tmp_path, poisson_trains, write_nwb):
    path = write_nwb(tmp_path / "whole.nwb", poisson_trains)
    cut = tmp_path / "cut.nwb"
    cut.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(InputError, match=r"cut\.nwb.*not a readable HDF5"):
        load_recording(cut)


def test_real_phy_file_units_and_columns(shared):
    st = read_nwb_units(shared.need(shared.PHY))
    assert st.units["id"].tolist() == [6, 191, 206]
    assert sorted(st.counts().tolist()) == [4690, 5644, 11020]  # SOURCE.md
    assert set(st.units["electrode_group"]) == {"group0_psb"}


def test_acceptance_human_mtl(shared):
    """35 units; per-unit counts and the 214,278 total match h5py; 35 x 141,054 at 20 ms."""
    path = shared.need(shared.MTL)
    with h5py.File(path, "r") as f:
        index = f["units/spike_times_index"][()].astype(np.int64)
        times = f["units/spike_times"][()]
    direct = np.diff(index, prepend=0)
    rec = load_recording(path, bin_size=0.02)
    assert rec.n_units == 35
    np.testing.assert_array_equal(rec.spike_trains.counts(), direct)
    assert direct.sum() == 214_278 == rec.n_spikes()
    assert rec.raster.shape == (35, 141_054)
    np.testing.assert_array_equal(rec.raster.sum(axis=1), direct)
    assert set(rec.units["location"]) == {"amygdala_right", "hippocampus_right"}
    np.testing.assert_array_equal(rec.spike_trains.times, times)
    assert rec.samples().mean() == pytest.approx(0.0418, abs=5e-4)  # SOURCE.md mean p
