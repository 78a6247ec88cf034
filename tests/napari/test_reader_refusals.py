"""Refused files in napari: the reader claims them and raises our one-line error, which napari
turns into a ReaderPluginError notification (not a crash, not napari's bare "no reader")."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_vaemf._napari._reader import get_reader
from napari_vaemf.core.errors import InputError

BOMB = Path(__file__).resolve().parents[1] / "data" / "bomb.npz"


def _npy_8tb(path: Path) -> Path:
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
        fh.write(bytes(1024))
    return path


def _outlier(path: Path) -> Path:
    ids = np.repeat([1.0, 2.0, 3.0], 50)
    times = np.random.default_rng(0).uniform(0, 100, ids.size)
    times[-1] = 1e9
    np.save(path, np.column_stack([ids, times]))
    return path


@pytest.mark.parametrize("make, words", [
    (lambda tmp: BOMB, "decompression bomb"),
    (lambda tmp: _npy_8tb(tmp / "8tb.npy"), "(7.3 TiB)"),
    (lambda tmp: _outlier(tmp / "outlier.npy"), "--t-stop"),
])
def test_refused_files_are_claimed_and_explained(tmp_path, make, words):
    path = make(tmp_path)
    reader = get_reader(str(path))
    assert reader is not None  # claimed: napari shows our reason instead of "no reader"
    with pytest.raises(InputError) as exc:
        reader(str(path))
    assert str(exc.value).startswith(str(path)) and words in str(exc.value)


def _mat73_298gib(path: Path) -> Path:
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w", userblock_size=512) as f:
        d = f.create_dataset("raster", shape=(40_000, 1_000_000), dtype="f8", chunks=(1000, 1000))
        d.attrs["MATLAB_class"] = np.bytes_("double")
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file".ljust(116, b" ") + bytes(8) + b"\x00\x02IM")
    return path


@pytest.mark.gui
def test_napari_shows_the_reason(make_napari_viewer, tmp_path):
    """Dropped (only our reader reads .mat): napari's ReaderPluginError carries our line; opened
    with our reader named (what napari's reader dialog does for .npz): our InputError."""
    from napari.errors import ReaderPluginError

    viewer = make_napari_viewer()
    drop = viewer.window._qt_viewer._qt_open  # what QtViewer.dropEvent calls
    big = _mat73_298gib(tmp_path / "big73.mat")
    with pytest.raises(ReaderPluginError) as err:
        drop([str(big)], stack=False)
    assert f"InputError: {big}" in str(err.value) and "298.0 GiB" in str(err.value)
    with pytest.raises(InputError, match="decompression bomb"):
        viewer.open(str(BOMB), plugin="napari-vaemf")
    assert len(viewer.layers) == 0  # nothing half-added, the viewer lives on
