"""Files that used to crash the readers, fill memory or pass as nonsense: each is one
InputError that names the file and says what is wrong, raised before anything big is read."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_vaemf.core.errors import InputError
from napari_vaemf.core.limits import MAX_BINS, MEMORY_ENV
from napari_vaemf.core.recordings import load_recording

h5py = pytest.importorskip("h5py")


@pytest.fixture(autouse=True)
def _default_budget(monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)


def nwb_units(path: Path, spike_times, index, ids=None) -> Path:
    """A minimal NWB 2 file with a /units table (written with h5py, as a broken writer might)."""
    with h5py.File(path, "w") as f:
        f.attrs["nwb_version"] = "2.7.0"
        g = f.create_group("units")
        g.attrs["neurodata_type"] = "Units"
        g.create_dataset("spike_times", data=spike_times)
        g.create_dataset("spike_times_index", data=np.asarray(index, dtype=np.int64))
        g.create_dataset("id", data=np.arange(len(index)) if ids is None else np.asarray(ids))
    return path


def mat73(path: Path) -> h5py.File:
    """A v7.3 MATLAB file (HDF5 with MATLAB's 512-byte header)."""
    f = h5py.File(path, "w", userblock_size=512)
    return f


def finish_mat73(path: Path) -> Path:
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116, b" ") + bytes(8) + b"\x00\x02IM")
    return path


def test_spike_times_stored_as_strings(tmp_path):
    path = nwb_units(tmp_path / "strings.nwb", np.array([b"0.1", b"0.5", b"1.2"]), [2, 3])
    with pytest.raises(InputError, match=r"strings\.nwb: /units/spike_times holds strings .*not numbers \(seconds\)"):
        load_recording(path)


def test_duplicated_unit_ids(tmp_path):
    path = nwb_units(tmp_path / "dup.nwb", np.array([0.1, 0.5, 1.2, 2.0]), [2, 4], ids=[7, 7])
    with pytest.raises(InputError, match=r"dup\.nwb: unit ids are not unique: id 7 is used by 2 units"):
        load_recording(path)
    np.savez(tmp_path / "dup.npz", raster=(np.arange(4000).reshape(20, 200) % 7 == 0).astype(np.uint8),
             unit_ids=np.array([1] * 20), bin_size=0.02)
    with pytest.raises(InputError, match=r"dup\.npz: unit ids are not unique: id 1 is used by 20 units"):
        load_recording(tmp_path / "dup.npz")


def test_a_298_gib_chunked_spike_times_dataset(tmp_path):
    path = tmp_path / "huge.nwb"
    with h5py.File(path, "w") as f:
        f.attrs["nwb_version"] = "2.7.0"
        g = f.create_group("units")
        g.attrs["neurodata_type"] = "Units"
        g.create_dataset("spike_times", shape=(40_000_000_000,), dtype="f8", chunks=(1_000_000,))
        g.create_dataset("spike_times_index", data=np.array([40_000_000_000]))
        g.create_dataset("id", data=np.array([0]))
    assert path.stat().st_size < 100_000
    with pytest.raises(InputError, match=r"huge\.nwb: /units/spike_times \(40000000000 float64 array\) would take 298\.0 GiB"):
        load_recording(path)


def test_a_298_gib_chunked_matlab_variable(tmp_path):
    path = tmp_path / "big73.mat"
    with mat73(path) as f:
        d = f.create_dataset("raster", shape=(40_000, 1_000_000), dtype="f8", chunks=(1000, 1000))
        d.attrs["MATLAB_class"] = np.bytes_("double")
    finish_mat73(path)
    with pytest.raises(InputError, match=r"big73\.mat: MATLAB variable 'raster' .* would take 298\.0 GiB"):
        load_recording(path)


def test_a_v73_matlab_object_is_named_as_such(tmp_path):
    path = tmp_path / "obj73.mat"
    with mat73(path) as f:  # what MATLAB writes for a table: uint32 handles and a #subsystem#
        d = f.create_dataset("spikes", data=np.array([[3707764736, 2, 1, 1, 1, 1]], np.uint32).T)
        d.attrs["MATLAB_class"] = np.bytes_("table")
        d.attrs["MATLAB_object_decode"] = np.int32(3)
        f.create_group("#subsystem#")
    finish_mat73(path)
    with pytest.raises(InputError, match=r"obj73\.mat: no numeric array in this \.mat file \('spikes' is a "
                                         r"MATLAB table object\): save the raster"):
        load_recording(path)
    with pytest.raises(InputError, match=r"variable 'spikes' is a MATLAB table object, not a numeric array"):
        load_recording(path, variable="spikes")
    with pytest.raises(InputError, match=r"no variable named 'other' \(found: spikes\)"):
        load_recording(path, variable="other")


def test_an_8_tb_npy_header(tmp_path):
    path = tmp_path / "8tb.npy"
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
        fh.write(bytes(1024))
    with pytest.raises(InputError, match=r"8tb\.npy: the header declares .*\(7\.3 TiB\) .* truncated or damaged"):
        load_recording(path)


def test_the_decompression_bomb(tmp_path):
    bomb = Path(__file__).resolve().parents[2] / "data" / "bomb.npz"
    with pytest.raises(InputError, match=r"bomb\.npz: member raster\.npy would expand .* to 4\.0 GiB"):
        load_recording(bomb)


def test_one_spike_at_a_billion_seconds(tmp_path):
    rng = np.random.default_rng(0)
    ids = np.repeat([1.0, 2.0, 3.0], 50)
    times = rng.uniform(0, 100, ids.size)
    times[-1] = 1e9
    np.save(tmp_path / "outlier.npy", np.column_stack([ids, times]))
    with pytest.raises(InputError, match=r"outlier\.npy: 50,000,000,001 bins of 0\.02 s .* at most "
                                         r"1,000,000,000 bins; the last spike, at 1e\+09 s \(unit 3\), lies far "
                                         r"beyond the others .*--t-stop"):
        load_recording(tmp_path / "outlier.npy")
    rec = load_recording(tmp_path / "outlier.npy", t_stop=100.0)  # the hint works
    assert rec.n_bins == 5000 and rec.n_units == 3


def test_a_nanosecond_bin(tmp_path):
    rng = np.random.default_rng(0)
    ids = np.repeat([1.0, 2.0, 3.0], 50)
    np.save(tmp_path / "spikes.npy", np.column_stack([ids, rng.uniform(0, 100, ids.size)]))
    with pytest.raises(InputError, match=rf"spikes\.npy: .* bins of 1e-09 s .* at most {MAX_BINS:,} bins; "
                                         r"pass a larger --bin-size"):
        load_recording(tmp_path / "spikes.npy", bin_size=1e-9)


def test_a_window_without_spikes(tmp_path):
    np.save(tmp_path / "spikes.npy", np.column_stack([np.repeat([1.0, 2.0], 5), np.linspace(1, 9, 10)]))
    with pytest.raises(InputError, match=r"no spike in the time window \[20, 30\) s \(the spikes run from 1 to 9 s\)"):
        load_recording(tmp_path / "spikes.npy", t_start=20.0, t_stop=30.0)


@pytest.mark.parametrize("value, words", [(0, "every entry .* is 0: no activity"), (-1, "every entry .* is -1"),
                                          (1, "every entry .* is 1")])
def test_a_raster_without_activity(tmp_path, value, words):
    np.save(tmp_path / "flat.npy", np.full((2000, 20), value, np.int8))
    with pytest.raises(InputError, match=rf"flat\.npy: {words}"):
        load_recording(tmp_path / "flat.npy")


def test_int64_counts_of_two_to_the_62(tmp_path):
    r = (np.arange(40_000).reshape(2000, 20) % 9 == 0).astype(np.int64)
    r[0, 0] = 2**62
    np.save(tmp_path / "counts.npy", r)
    with pytest.raises(InputError, match=r"counts\.npy: a bin holds 4,611,686,018,427,387,904 counts; more than "
                                         r"1,000,000 spikes in one bin is not a spike raster"):
        load_recording(tmp_path / "counts.npy")


def test_a_lazy_recording_still_streams(tmp_path):
    """The rule is about dense arrays: 200 units x 20 min at 1 ms (2.4e8 cells) stays lazy and opens."""
    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(200.0), 300)
    np.save(tmp_path / "long.npy", np.column_stack([ids, rng.uniform(0, 1200.0, ids.size)]))
    rec = load_recording(tmp_path / "long.npy", bin_size=0.001)
    assert rec.is_lazy and rec.n_bins >= 1_199_000
