"""The reader contribution: None for files it cannot read, layers for real files, errors that name the file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_vaemf._napari._reader import get_reader
from napari_vaemf.core.errors import InputError

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
MTL = DATA / "nwb-human-mtl-zheng2022-sub4" / "sub-4_ses-4_ecephys+image.nwb"
PHY = DATA / "nwb-pynapple-A8604-phy" / "A8604-211122.nwb"
NWB1 = DATA / "nwb1-legacy-allen-stub" / "496908818s.nwb"
SALAMANDER = DATA / "marre2014-salamander-retina-50" / "original_data_num_neurons_50_1.mat"


def need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"shared data file {path} is absent (see /work/shared/data/README.md)")
    return path


def test_declines_what_it_cannot_read(tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    (tmp_path / "fake.nwb").write_text("not hdf5")
    (tmp_path / "fake.mat").write_bytes(b"\x00" * 200)
    np.save(tmp_path / "image.npy", np.zeros((4, 5, 6)))  # an image stack: napari's job
    np.savez(tmp_path / "many.npz", a=np.zeros((3, 3)), b=np.ones((2, 2)))
    for name in ("a.txt", "fake.nwb", "fake.mat", "image.npy", "many.npz", "missing.nwb"):
        assert get_reader(str(tmp_path / name)) is None, name
    assert get_reader([str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]) is None


def test_reads_a_real_nwb_file_without_a_viewer():
    path = need(MTL)
    reader = get_reader(str(path))
    assert reader is not None
    [(data, kwargs, kind)] = reader(str(path))
    assert kind == "image" and data.shape == (35, 141_054)
    assert kwargs["scale"] == (1.0, 0.02) and kwargs["name"] == path.stem
    meta = kwargs["metadata"]["vaemf"]
    assert meta["source"] == str(path) and meta["bin_size"] == 0.02 and len(meta["unit_ids"]) == 35
    assert kwargs["metadata"]["recording"].n_units == 35


def test_layer_tuple_builds_a_napari_layer():
    from napari.layers import Layer

    path = need(SALAMANDER)
    [(data, kwargs, kind)] = get_reader(str(path))(str(path))
    layer = Layer.create(data, kwargs, kind)
    assert layer.data.shape == (50, 283_041) and layer.metadata["vaemf"]["repeats"] == 297


def test_bad_nwb_gives_a_clear_error_not_a_traceback():
    path = need(NWB1)
    reader = get_reader(str(path))  # it is HDF5, so the cheap check accepts it ...
    with pytest.raises(InputError, match="NWB 1.x"):  # ... and the reader explains
        reader(str(path))


@pytest.mark.gui
def test_viewer_open_real_files(make_napari_viewer):
    viewer = make_napari_viewer()
    for path in (need(MTL), need(PHY)):
        layers = viewer.open(str(path), plugin="napari-vaemf")
        assert layers[0].data.shape[0] in (35, 3)
    assert viewer.layers[0].scale[1] == pytest.approx(0.02)
    with pytest.raises(Exception, match="NWB 1.x"):  # napari wraps our InputError
        viewer.open(str(need(NWB1)), plugin="napari-vaemf")
    assert len(viewer.layers) == 2  # the bad file added nothing and the viewer lives on
