"""Size budgets: declared sizes are checked before anything is allocated or decompressed."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.limits import (
    MEMORY_ENV,
    check_alloc,
    check_dataset,
    check_npy,
    check_npz,
    format_bytes,
    memory_budget,
)

BOMB = Path(__file__).resolve().parents[1] / "data" / "bomb.npz"  # 3 KB -> 4 GiB (make_bomb.py)


@pytest.mark.parametrize("text, value", [("8G", 8 << 30), ("512M", 512 << 20), ("1.5g", int(1.5 * (1 << 30))),
                                         ("4096", 4096), ("2 GiB", 2 << 30)])
def test_the_budget_can_be_set(monkeypatch, text, value):
    monkeypatch.setenv(MEMORY_ENV, text)
    assert memory_budget() == value


@pytest.mark.parametrize("text", ["lots", "-1G", "0"])
def test_a_bad_budget_names_the_variable(monkeypatch, text):
    monkeypatch.setenv(MEMORY_ENV, text)
    with pytest.raises(ParameterError, match=MEMORY_ENV):
        memory_budget()


def test_the_default_budget_is_half_the_memory(monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    assert 256 << 20 < memory_budget() < 1 << 50


def test_check_alloc_names_the_size_and_the_source(monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "1G")
    check_alloc(1 << 30, "fine")
    with pytest.raises(ParameterError, match=r"--samples 9 would take 2\.0 GiB .* 1\.0 GiB .*fewer"):
        check_alloc(2 << 30, "--samples 9", hint="draw fewer")
    with pytest.raises(InputError, match=r"^f\.npy: its array would take 3\.0 GiB"):
        check_alloc(3 << 30, "its array", source="f.npy")
    assert format_bytes(1023) == "1023 B" and format_bytes(5 << 40) == "5.0 TiB"


def test_a_npy_header_that_claims_more_than_the_file_holds(tmp_path):
    path = tmp_path / "8tb.npy"
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f8", "fortran_order": False, "shape": (1_000_000, 1_000_000)})
        fh.write(bytes(1024))
    with pytest.raises(InputError, match=r"8tb\.npy: the header declares a 1000000 x 1000000 float64 array "
                                         r"\(7\.3 TiB\) but there are only 1\.0 KB of data"):
        check_npy(path)
    np.save(tmp_path / "ok.npy", np.zeros((3, 4), np.uint8))
    assert check_npy(tmp_path / "ok.npy") == 12


def test_a_npy_within_the_file_but_beyond_the_budget(tmp_path, monkeypatch):
    np.save(tmp_path / "big.npy", np.zeros((1024, 1024), np.uint8))
    monkeypatch.setenv(MEMORY_ENV, "100K")
    with pytest.raises(InputError, match=r"big\.npy: its array would take 1\.0 MiB"):
        check_npy(tmp_path / "big.npy")


def test_the_bzip2_bomb_is_refused_from_its_directory(monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    assert BOMB.stat().st_size < 4096
    with zipfile.ZipFile(BOMB) as zf:
        assert zf.getinfo("raster.npy").file_size == (4 << 30) + 128  # 4 GiB of zeros and a header
    with pytest.raises(InputError, match=r"member raster\.npy would expand 3\.\d KB to 4\.0 GiB .* decompression bomb"):
        check_npz(BOMB)


def test_npz_members_must_be_numpy_methods_and_agree_with_their_headers(tmp_path):
    raster = np.zeros((4, 100), np.uint8)
    with zipfile.ZipFile(tmp_path / "lzma.npz", "w", compression=zipfile.ZIP_LZMA) as zf:
        with zf.open("raster.npy", "w") as fh:
            np.lib.format.write_array(fh, raster)
    with pytest.raises(InputError, match=r"lzma-compressed; .*numpy\.savez_compressed"):
        check_npz(tmp_path / "lzma.npz")
    # a member whose header claims 1e12 floats but holds 128 bytes
    with zipfile.ZipFile(tmp_path / "liar.npz", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("raster.npy", "w") as fh:
            np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
            fh.write(bytes(128))
    with pytest.raises(InputError, match=r"member raster\.npy: the header declares .*\(7\.3 TiB\)"):
        check_npz(tmp_path / "liar.npz")
    np.savez_compressed(tmp_path / "ok.npz", raster=raster, bin_size=0.02)
    assert check_npz(tmp_path / "ok.npz") > 400


def test_hdf5_datasets_are_sized_before_reading(tmp_path, monkeypatch):
    h5py = pytest.importorskip("h5py")
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    with h5py.File(tmp_path / "big.h5", "w") as f:
        f.create_dataset("x", shape=(40_000, 1_000_000), dtype="f8", chunks=(1000, 1000))  # 298 GiB, unwritten
        f.create_dataset("y", data=np.zeros(10))
    assert (tmp_path / "big.h5").stat().st_size < 100_000
    with h5py.File(tmp_path / "big.h5", "r") as f:
        with pytest.raises(InputError, match=r"big\.h5: spike times \(40000 x 1000000 float64 array\) would take 298\.0 GiB"):
            check_dataset(f["x"], tmp_path / "big.h5", "spike times")
        assert check_dataset(f["y"], tmp_path / "big.h5", "y") == 80
