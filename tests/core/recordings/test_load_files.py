"""load_recording for MATLAB (v5, v7.3), NumPy and configuration files, and bad arrays."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
import scipy.io

from napari_vaemf.core.configs import SampleSet, save_configurations
from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.recordings import detect_repeats, load_recording


@pytest.fixture
def raster(rng):
    """(bins=400, units=6) binary array, the salamander file's orientation."""
    return (rng.random((400, 6)) < 0.1).astype(np.uint8)


def write_v73(path, name, array):
    """A MATLAB v7.3 file as MATLAB writes it: HDF5 with a 512-byte header, arrays transposed."""
    with h5py.File(path, "w", userblock_size=512) as f:
        ds = f.create_dataset(name, data=np.asarray(array).T)
        ds.attrs["MATLAB_class"] = np.bytes_("double")
    head = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:
        fh.write(head.ljust(116) + b"\x00" * 8 + b"\x00\x02IM")
    return path


def test_mat_v5_raster_orientation(tmp_path, raster):
    path = tmp_path / "r.mat"
    scipy.io.savemat(path, {"data": raster})
    rec = load_recording(path, bin_size=0.02, repeats=None)
    assert rec.raster.shape == (6, 400) and rec.encoding == "binary"
    np.testing.assert_array_equal(rec.raster, raster.T)
    assert rec.duration == pytest.approx(8.0)


def test_mat_v73_raster_matches_v5(tmp_path, raster):
    v5, v73 = tmp_path / "a.mat", tmp_path / "b.mat"
    scipy.io.savemat(v5, {"data": raster})
    write_v73(v73, "data", raster.astype(float))
    a, b = load_recording(v5, repeats=None), load_recording(v73, repeats=None)
    np.testing.assert_array_equal(a.raster, b.raster)


def test_ambiguous_orientation_needs_an_option(tmp_path, rng):
    square = (rng.random((40, 30)) < 0.2).astype(np.uint8)
    path = tmp_path / "sq.npy"
    np.save(path, square)
    with pytest.raises(InputError, match=r"sq\.npy.*layout="):
        load_recording(path)
    rec = load_recording(path, layout="units_by_bins", repeats=None)
    assert rec.raster.shape == (40, 30)
    assert load_recording(path, layout="bins_by_units", repeats=None).raster.shape == (30, 40)


def test_spike_list_either_column_order(tmp_path):
    rows = np.array([[2, 0.31], [1, 0.05], [2, 0.02], [1, 0.5], [3, 1.99]])
    for name, arr in (("idt.mat", rows), ("tid.mat", rows[:, ::-1])):
        scipy.io.savemat(tmp_path / name, {"spks": arr})
        rec = load_recording(tmp_path / name, bin_size=0.1)
        assert rec.units["id"].tolist() == [1, 2, 3]
        assert rec.raster.shape == (3, 20) and rec.n_spikes() == 5
        assert rec.raster[1, 0] == 1 and rec.raster[1, 3] == 1 and rec.raster[2, 19] == 1


def test_mat_without_a_recognisable_array(tmp_path):
    path = tmp_path / "text.mat"
    scipy.io.savemat(path, {"label": "hello", "scalar": 3.0})
    with pytest.raises(InputError, match=r"text\.mat.*no recognisable"):
        load_recording(path)


def test_three_d_array_that_is_not_a_raster(tmp_path, rng):
    path = tmp_path / "stack.npy"
    np.save(path, rng.random((5, 6, 7)))
    with pytest.raises(InputError, match=r"stack\.npy.*3-D array"):
        load_recording(path)


def test_unit_vectors_in_npy_and_non_unit_3d(tmp_path, rng):
    v = rng.normal(size=(30, 4, 3))
    np.save(tmp_path / "v.npy", v / np.linalg.norm(v, axis=2, keepdims=True))
    rec = load_recording(tmp_path / "v.npy")
    assert rec.encoding == "vector" and rec.samples().shape == (30, 4, 3)
    np.save(tmp_path / "rgb.npy", rng.random((30, 4, 3)))
    with pytest.raises(InputError, match=r"rgb\.npy.*unit norm"):
        load_recording(tmp_path / "rgb.npy")


def test_three_d_repeat_stack_with_explicit_layout(tmp_path, rng):
    stack = (rng.random((4, 50, 3)) < 0.3).astype(np.uint8)  # (repeats, bins, units)
    path = tmp_path / "trials.npy"
    np.save(path, stack)
    rec = load_recording(path, layout="repeats_bins_units")
    assert rec.raster.shape == (3, 200) and rec.repeats == 4
    np.testing.assert_array_equal(rec.raster[:, 50:100], stack[1].T)


def test_non_raster_values(tmp_path, rng):
    path = tmp_path / "float.npy"
    np.save(path, rng.normal(size=(500, 4)))
    with pytest.raises(InputError, match=r"float\.npy.*not a raster"):
        load_recording(path)


def test_npz_raster_with_bin_size_and_ids(tmp_path, raster):
    path = tmp_path / "r.npz"
    np.savez(path, raster=raster, bin_size=np.array(0.005), unit_ids=np.array([9, 8, 7, 6, 5, 4]))
    rec = load_recording(path, repeats=None)
    assert rec.bin_size == 0.005 and rec.units["id"].tolist() == [9, 8, 7, 6, 5, 4]
    np.testing.assert_array_equal(rec.raster, raster.T)


@pytest.mark.parametrize("model, x", [
    ("curie-weiss", np.where(np.random.default_rng(0).random((50, 8)) < 0.5, 1, -1).astype(np.int8)),
    ("binary", (np.random.default_rng(1).random((50, 8)) < 0.5).astype(np.int8)),
])
def test_configuration_files(tmp_path, model, x):
    truth = {"patterns": np.ones((8, 2), dtype=np.int8)}
    path = save_configurations(tmp_path / "c.npz", SampleSet(model, x, {"beta": 1.2}, truth))
    rec = load_recording(path)
    assert rec.model == model and rec.params == {"beta": 1.2}
    assert rec.encoding == ("spin" if model == "curie-weiss" else "binary")
    np.testing.assert_array_equal(rec.samples(), x.astype(np.float32))
    np.testing.assert_array_equal(rec.truth["patterns"], truth["patterns"])


def test_vector_configuration_file(tmp_path, rng):
    v = rng.normal(size=(20, 5, 3))
    v /= np.linalg.norm(v, axis=2, keepdims=True)
    path = save_configurations(tmp_path / "v.npz", SampleSet("maier-saupe", v.astype(np.float32)))
    rec = load_recording(path)
    assert rec.encoding == "vector" and rec.raster.shape == (5, 20, 3)
    assert rec.samples().shape == (20, 5, 3)


def test_detect_repeats_finds_the_trial_length(rng):
    psth = rng.random((10, 60)) < 0.3  # a stimulus-locked pattern of 60 bins
    trials = [(psth & (rng.random(psth.shape) < 0.9)) | (rng.random(psth.shape) < 0.02) for _ in range(12)]
    raster = np.concatenate(trials, axis=1).astype(np.uint8)
    assert detect_repeats(raster) == 12
    assert detect_repeats((rng.random((10, 720)) < 0.1).astype(np.uint8)) is None


def test_bad_repeats_option(tmp_path, raster):
    path = tmp_path / "r.npy"
    np.save(path, raster)
    with pytest.raises(ParameterError, match="repeats"):
        load_recording(path, repeats=7)


def test_acceptance_salamander(shared):
    rec = load_recording(shared.need(shared.SALAMANDER), bin_size=0.02)
    assert rec.raster.shape == (50, 283_041) and rec.repeats == 297
    assert rec.encoding == "binary" and rec.raster.mean() == pytest.approx(0.03845, abs=1e-5)


def test_aplysia_spike_list(shared):
    rec = load_recording(shared.need(shared.APLYSIA), bin_size=0.02)
    assert rec.n_units == 125 and rec.n_spikes() == 17_059 and rec.n_bins == 4500  # SOURCE.md
    assert rec.samples().mean() == pytest.approx(0.0301, abs=1e-4)


@pytest.mark.parametrize("bin_size", [0.0, -0.02, 1e6])
def test_bad_bin_size_names_the_file(tmp_path, bin_size):
    rows = np.array([[1, 0.05], [1, 0.31], [2, 0.02], [2, 1.5]])
    scipy.io.savemat(tmp_path / "spikes.mat", {"spks": rows})
    with pytest.raises(ParameterError, match=r"spikes\.mat.*bin size"):
        load_recording(tmp_path / "spikes.mat", bin_size=bin_size)


def test_raster_rebin_larger_than_the_recording(tmp_path, raster):
    np.save(tmp_path / "r.npy", raster)
    rec = load_recording(tmp_path / "r.npy", bin_size=0.01, repeats=None)
    with pytest.raises(ParameterError, match=r"r\.npy.*larger than the recording"):
        rec.rebin(100.0)
    with pytest.raises(ParameterError, match=r"r\.npy.*bin size"):
        load_recording(tmp_path / "r.npy", bin_size=-1.0)


@pytest.mark.parametrize("suffix", [".mat", ".npy", ".npz", ".nwb"])
def test_truncated_files_of_every_format(tmp_path, raster, suffix, write_nwb):
    
    whole = tmp_path / f"whole{suffix}"
    if suffix == ".mat":
        scipy.io.savemat(whole, {"data": raster})
    elif suffix == ".npy":
        np.save(whole, raster)
    elif suffix == ".npz":
        np.savez(whole, raster=raster)
    else:
        write_nwb(whole, [np.array([0.1, 0.5]), np.array([0.2])])
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
    with pytest.raises(InputError, match=rf"cut\{suffix}"):
        load_recording(cut)
