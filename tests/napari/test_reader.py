"""The reader contribution: None for files it cannot read, layers for real files, errors that name the file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_vaemf._napari._reader import get_reader
from napari_vaemf.core.errors import InputError


def test_declines_what_it_cannot_read(tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    (tmp_path / "fake.nwb").write_text("not hdf5")
    (tmp_path / "fake.mat").write_bytes(b"\x00" * 200)
    np.save(tmp_path / "image.npy", np.zeros((4, 5, 6)))  # an image stack: napari's job
    np.savez(tmp_path / "many.npz", a=np.zeros((3, 3)), b=np.ones((2, 2)))
    rng = np.random.default_rng(0)
    np.save(tmp_path / "grey.npy", rng.random((64, 64)))  # a float image
    np.save(tmp_path / "rgb.npy", rng.random((16, 16, 3)))  # an RGB image, not unit vectors
    np.savez(tmp_path / "grey.npz", image=rng.random((64, 64)))  # the same images in a .npz
    np.savez_compressed(tmp_path / "rgb.npz", rgb=rng.integers(0, 256, (16, 16, 3)).astype(np.uint8))
    names = ("a.txt", "fake.nwb", "fake.mat", "image.npy", "many.npz", "missing.nwb", "grey.npy", "rgb.npy",
             "grey.npz", "rgb.npz")
    for name in names:
        assert get_reader(str(tmp_path / name)) is None, name
    assert get_reader([str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]) is None


def test_accepts_rasters_spike_lists_and_vectors(tmp_path):
    rng = np.random.default_rng(1)
    np.save(tmp_path / "raster.npy", (rng.random((500, 8)) < 0.1).astype(np.uint8))
    np.save(tmp_path / "spins.npy", np.where(rng.random((500, 8)) < 0.5, 1.0, -1.0))
    np.save(tmp_path / "spikes.npy", np.column_stack([rng.integers(1, 5, 50), rng.uniform(0, 9, 50)]))
    v = rng.normal(size=(20, 4, 3))
    np.save(tmp_path / "vectors.npy", v / np.linalg.norm(v, axis=2, keepdims=True))
    np.savez_compressed(tmp_path / "raster.npz", raster=np.load(tmp_path / "raster.npy"), bin_size=0.01)
    np.savez(tmp_path / "spikes.npz", spks=np.load(tmp_path / "spikes.npy"))
    np.save(tmp_path / "fortran.npy", np.asfortranarray(np.load(tmp_path / "raster.npy")))
    whole = (tmp_path / "raster.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(whole[: len(whole) // 2])  # ours, damaged: claimed to be explained
    for name in ("raster.npy", "spins.npy", "spikes.npy", "vectors.npy", "raster.npz", "spikes.npz",
                 "fortran.npy", "cut.npy"):
        assert get_reader(str(tmp_path / name)) is not None, name
    with pytest.raises(InputError, match=r"cut\.npy"):
        get_reader(str(tmp_path / "cut.npy"))(str(tmp_path / "cut.npy"))
    [(data, kwargs, _)] = get_reader(str(tmp_path / "spikes.npy"))(str(tmp_path / "spikes.npy"))
    assert data.shape[0] == 4 and kwargs["metadata"]["vaemf"]["bin_size"] == 0.02


def test_reads_a_real_nwb_file_without_a_viewer(shared):
    path = shared.need(shared.MTL)
    reader = get_reader(str(path))
    assert reader is not None
    [(data, kwargs, kind)] = reader(str(path))
    assert kind == "image" and data.shape == (35, 141_054)
    assert kwargs["scale"] == (1.0, 0.02) and kwargs["name"] == path.stem
    meta = kwargs["metadata"]["vaemf"]
    assert meta["source"] == str(path) and meta["bin_size"] == 0.02 and len(meta["unit_ids"]) == 35
    assert kwargs["metadata"]["recording"].n_units == 35


def test_layer_tuple_builds_a_napari_layer(shared):
    from napari.layers import Layer

    path = shared.need(shared.SALAMANDER)
    [(data, kwargs, kind)] = get_reader(str(path))(str(path))
    layer = Layer.create(data, kwargs, kind)
    assert layer.data.shape == (50, 283_041) and layer.metadata["vaemf"]["repeats"] == 297


def test_bad_nwb_gives_a_clear_error_not_a_traceback(shared):
    path = shared.need(shared.NWB1)
    reader = get_reader(str(path))  # it is HDF5, so the cheap check accepts it ...
    with pytest.raises(InputError, match="NWB 1.x"):  # ... and the reader explains
        reader(str(path))


@pytest.mark.gui
def test_viewer_open_real_files(make_napari_viewer, shared):
    viewer = make_napari_viewer()
    for path in (shared.need(shared.MTL), shared.need(shared.PHY)):
        layers = viewer.open(str(path), plugin="napari-vaemf")
        assert layers[0].data.shape[0] in (35, 3)
    assert viewer.layers[0].scale[1] == pytest.approx(0.02)
    with pytest.raises(Exception, match="NWB 1.x"):  # napari wraps our InputError
        viewer.open(str(shared.need(shared.NWB1)), plugin="napari-vaemf")
    assert len(viewer.layers) == 2  # the bad file added nothing and the viewer lives on


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _nwb(path: Path, trains=None) -> Path:
    """An NWB 2 file; with ``trains`` (one list of spike times per unit) it has a Units table."""
    from pynwb import NWBHDF5IO
    from pynwb.testing.mock.file import mock_NWBFile

    nwbfile = mock_NWBFile()
    for t in trains or ():
        nwbfile.add_unit(spike_times=np.asarray(t, dtype=float))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path


def _bad_files(tmp_path: Path, shared) -> dict[Path, str]:
    """The bad inputs of issue 3 that napari offers to this plugin only: path -> problem text."""
    import scipy.io

    bad = {shared.need(shared.NWB1): "NWB 1.x"}
    bad[_nwb(tmp_path / "nounits.nwb")] = "no Units table"
    bad[_nwb(tmp_path / "nospikes.nwb", [[], []])] = "zero spikes"
    for name, times, problem in (("nan.nwb", [0.2, np.nan], "NaN"), ("neg.nwb", [-1.0, 0.5], "negative"),
                                 ("unsorted.nwb", [0.5, 0.2], "not sorted")):
        bad[_nwb(tmp_path / name, [[0.1, 0.3], times])] = problem
    whole = _nwb(tmp_path / "whole.nwb", [[0.1, 0.3], [0.2]])
    (tmp_path / "cut.nwb").write_bytes(whole.read_bytes()[:3000])
    bad[tmp_path / "cut.nwb"] = "not a readable HDF5"
    scipy.io.savemat(tmp_path / "text.mat", {"label": "hello", "scalar": 3.0})
    bad[tmp_path / "text.mat"] = "no recognisable"
    return bad


def test_bad_files_of_our_kinds_are_claimed_and_explained(tmp_path, shared):
    """Damaged or unsupported .nwb/.mat files get a reader whose InputError names file and problem.

    (Returning None would make napari say only that the plugin "refused the file".)"""
    bad = _bad_files(tmp_path, shared)
    before = {p: _sha256(p) for p in bad}
    for path, problem in bad.items():
        reader = get_reader(str(path))
        assert reader is not None, path.name
        with pytest.raises(InputError) as err:
            reader(str(path))
        assert str(path) in str(err.value) and problem in str(err.value), str(err.value)
    assert {p: _sha256(p) for p in bad} == before  # refusing a file never touches it


def _only_reader_is_ours(path: Path) -> bool:
    from npe2 import PluginManager

    return {r.plugin_name for r in PluginManager.instance().iter_compatible_readers([str(path)])} == {
        "napari-vaemf"}


@pytest.mark.gui
def test_drag_and_drop(make_napari_viewer, tmp_path, shared):
    """The drop path (no plugin named): real files open; bad ones leave the viewer alive, with
    napari's error carrying our message (file and problem), and every file unchanged."""
    from napari.errors import ReaderPluginError

    viewer = make_napari_viewer()
    drop = viewer.window._qt_viewer._qt_open  # what QtViewer.dropEvent calls (napari's own tests use it)
    good = [shared.need(shared.MTL), shared.need(shared.PHY), shared.need(shared.SALAMANDER)]
    bad = _bad_files(tmp_path, shared)
    if not all(_only_reader_is_ours(p) for p in [*good, *bad]):
        pytest.skip("another installed plugin also reads .nwb/.mat: napari would ask which reader")
    before = {p: _sha256(p) for p in [*good, *bad]}
    for path in good:
        drop([str(path)], stack=False)
    # A8604: last spike at 1087.353 s, bins from t = 0 (SOURCE.md's 54,367 bins start at the first spike)
    assert [layer.data.shape for layer in viewer.layers] == [(35, 141_054), (3, 54_368), (50, 283_041)]
    assert viewer.layers[0].scale[1] == pytest.approx(0.02)
    assert viewer.layers[0].metadata["vaemf"]["source"] == str(shared.MTL)
    for path, problem in bad.items():
        with pytest.raises(ReaderPluginError) as err:
            drop([str(path)], stack=False)
        message = str(err.value)
        assert f"InputError: {path}" in message and problem in message, message
    assert len(viewer.layers) == 3  # nothing half-added, the viewer lives on
    assert {p: _sha256(p) for p in [*good, *bad]} == before


def test_sample_data_files_open_as_configuration_layers():
    """Every file in sample_data/ (what a user drags onto napari) reads as an (N, T) layer."""
    from napari.layers import Layer

    from napari_vaemf.core.configs import load_configurations

    files = sorted((Path(__file__).resolve().parents[2] / "sample_data").glob("*.npz"))
    assert len(files) >= 4
    for path in files:
        s = load_configurations(path)
        [(data, kwargs, kind)] = get_reader(str(path))(str(path))
        layer = Layer.create(data, kwargs, kind)
        assert layer.data.shape[:2] == (s.n_units, s.n_samples), path.name  # units down
        np.testing.assert_array_equal(np.swapaxes(np.asarray(layer.data), 0, 1), s.configurations)
        meta = layer.metadata["vaemf"]
        assert meta["model"] == s.model and meta["params"]["seed"] == 0 and meta["source"] == str(path)
        assert set(meta["truth"]) == set(s.truth)
