"""The reader opens phy / Kilosort folders (the folder or its params.py) and pynapple TsGroup files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from napari_vaemf._napari import _reader
from napari_vaemf._napari._reader import get_reader
from napari_vaemf.core.errors import InputError

MANIFEST = Path(_reader.__file__).parents[1] / "napari.yaml"


def phy_folder(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    samples = np.sort(rng.integers(0, 30_000 * 10, 600)).astype(np.int64)
    folder.mkdir()
    np.save(folder / "spike_times.npy", samples)
    np.save(folder / "spike_clusters.npy", rng.choice([1, 4, 6], samples.size).astype(np.int32))
    (folder / "params.py").write_text("sample_rate = 30000.0\n")
    (folder / "cluster_info.tsv").write_text(
        "cluster_id\tch\tdepth\tgroup\tKSLabel\n1\t0\t20.0\tgood\tgood\n4\t3\t60.0\tnoise\tgood\n6\t5\t100.0\t\tgood\n")
    return folder


def test_manifest_claims_folders_and_params_py():
    reader = yaml.safe_load(MANIFEST.read_text())["contributions"]["readers"][0]
    assert reader["accepts_directories"] is True and "params.py" in reader["filename_patterns"]


@pytest.mark.parametrize("name", ["", "params.py"])
def test_reads_a_phy_folder(tmp_path, name):
    folder = phy_folder(tmp_path / "sorted")
    path = str(folder / name) if name else str(folder)
    reader = get_reader(path)
    assert reader is not None
    [(data, kwargs, kind)] = reader(path)
    meta = kwargs["metadata"]["vaemf"]
    assert kind == "image" and data.shape[0] == 2 and kwargs["name"] == "sorted"
    assert meta["unit_ids"] == [1, 6] and meta["units"]["depth"] == [20, 100]  # good by default, noise never
    assert meta["source"] == str(folder) and meta["bin_size"] == 0.02


def test_declines_folders_without_spike_files(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "params.py").write_text("sample_rate = 30000.0\n")
    assert get_reader(str(tmp_path / "images")) is None
    assert get_reader(str(tmp_path / "images" / "params.py")) is None
    assert get_reader(str(tmp_path / "nowhere")) is None


def test_broken_phy_folder_is_claimed_and_explained(tmp_path):
    folder = phy_folder(tmp_path / "sorted")
    (folder / "params.py").unlink()
    reader = get_reader(str(folder))
    assert reader is not None
    with pytest.raises(InputError, match="params.py: not found"):
        reader(str(folder))


def test_reads_a_pynapple_tsgroup_file(tmp_path):
    nap = pytest.importorskip("pynapple")
    nap.TsGroup({0: nap.Ts(t=np.array([0.1, 0.5, 0.9])), 3: nap.Ts(t=np.array([0.2, 0.7]))}).save(
        str(tmp_path / "units.npz"))
    reader = get_reader(str(tmp_path / "units.npz"))
    assert reader is not None
    [(data, kwargs, _)] = reader(str(tmp_path / "units.npz"))
    assert kwargs["metadata"]["vaemf"]["unit_ids"] == [0, 3] and int(np.asarray(data).sum()) == 5


@pytest.mark.gui
def test_viewer_opens_a_phy_folder(make_napari_viewer, tmp_path):
    """npe2 offers the plugin for the folder (accepts_directories) and for params.py."""
    from npe2 import PluginManager

    viewer = make_napari_viewer()  # discovers the plugins
    folder = phy_folder(tmp_path / "sorted")
    for path in (folder, folder / "params.py"):
        names = {r.plugin_name for r in PluginManager.instance().iter_compatible_readers([str(path)])}
        assert "napari-vaemf" in names, path
    layers = viewer.open(str(folder), plugin="napari-vaemf")
    assert layers[0].data.shape[0] == 2 and layers[0].metadata["vaemf"]["units"]["label"] == ["good", "good"]
    viewer.open(str(folder / "params.py"), plugin="napari-vaemf")
    assert len(viewer.layers) == 2
