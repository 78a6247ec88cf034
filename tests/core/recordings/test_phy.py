"""phy / Kilosort folders: exact round trip of known trains, labels and their precedence,
params.py read without being run, and every refusal naming its file."""
from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.recordings import load_recording, read_phy
from napari_vaemf.core.recordings._phy import read_params

RATE = 30_000.0  # Hz
BIN = 0.01  # s: 300 samples
DURATION = 20.0  # s
IDS = (2, 7, 11, 40)


def known_trains(seed: int = 0) -> dict[int, np.ndarray]:
    """Spike samples per cluster, none on a bin edge (the edge convention is tested in
    test_binning.py; here the count of every bin must equal np.histogram's exactly)."""
    rng = np.random.default_rng(seed)
    per_bin = int(round(BIN * RATE))
    out = {}
    for k, cid in enumerate(IDS):
        s = np.unique(rng.integers(1, int(DURATION * RATE), 400 + 100 * k))
        out[cid] = s[s % per_bin != 0]
    return out


def tsv(path: Path, header: str, rows: dict) -> None:
    lines = [header] + [f"{k}\t{v}" if not isinstance(v, tuple) else "\t".join(map(str, (k, *v)))
                        for k, v in rows.items()]
    path.write_text("\n".join(lines) + "\n")


def write_phy(folder: Path, trains=None, *, times_dtype=np.int64, column=False, params="sample_rate = 30000.0\n",
              group=None, ks=None, info=None) -> Path:
    """A phy folder of ``trains`` (cluster id -> samples), spikes in time order as Kilosort writes them."""
    trains = known_trains() if trains is None else trains
    folder.mkdir(parents=True, exist_ok=True)
    samples = np.concatenate(list(trains.values()))
    clusters = np.concatenate([np.full(len(s), cid, np.int32) for cid, s in trains.items()])
    order = np.argsort(samples, kind="stable")
    samples = samples[order].astype(times_dtype)
    np.save(folder / "spike_times.npy", samples[:, None] if column else samples)
    np.save(folder / "spike_clusters.npy", clusters[order])
    if params is not None:
        (folder / "params.py").write_text(params)
    if group is not None:
        tsv(folder / "cluster_group.tsv", "cluster_id\tgroup", group)
    if ks is not None:
        tsv(folder / "cluster_KSLabel.tsv", "cluster_id\tKSLabel", ks)
    if info is not None:
        tsv(folder / "cluster_info.tsv", "cluster_id\t" + "\t".join(info["columns"]), info["rows"])
    return folder


def sha(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("times_dtype, column", [(np.int64, False), (np.uint64, True), (np.uint32, True)])
def test_round_trip_is_exact(tmp_path, times_dtype, column):
    trains = known_trains()
    folder = write_phy(tmp_path / "ks", trains, times_dtype=times_dtype, column=column)
    before = sha(folder)
    rec = load_recording(folder, labels="all", bin_size=BIN, t_stop=DURATION)
    assert rec.units["id"].tolist() == list(IDS) and rec.source == folder and rec.name == "ks"
    edges = np.arange(int(round(DURATION / BIN)) + 1) * BIN
    for row, cid in enumerate(IDS):
        seconds = trains[cid] / RATE
        np.testing.assert_array_equal(rec.spike_trains[row], seconds)  # times = samples / rate
        np.testing.assert_array_equal(rec.raster[row], np.histogram(seconds, edges)[0])
    assert rec.raster.shape == (4, 2000) and rec.t_start == 0.0
    assert rec.n_spikes() == sum(len(s) for s in trains.values())
    assert sha(folder) == before  # read-only


def test_params_py_path_opens_the_folder(tmp_path):
    folder = write_phy(tmp_path / "ks")
    a = load_recording(folder, labels="all")
    b = load_recording(folder / "params.py", labels="all")
    assert b.source == folder
    np.testing.assert_array_equal(a.raster, b.raster)


GROUP = {2: "good", 7: "mua", 11: "noise"}  # phy's manual curation
KS = {2: "mua", 7: "good", 11: "good", 40: "good"}  # Kilosort's automatic labels


@pytest.mark.parametrize("labels, ids", [
    (None, [2, 40]),  # default good: 2 curated good, 40 only Kilosort-good (nobody curated it)
    ("good", [2, 40]),
    ("mua", [7]),  # 7 is Kilosort-good but curated mua: the curation wins
    ("good,mua", [2, 7, 40]),
    ("all", [2, 7, 40]),  # 11 is noise by curation (good by Kilosort): never kept
    ("ALL", [2, 7, 40]),
])
def test_labels_select_clusters_and_curation_wins(tmp_path, labels, ids):
    folder = write_phy(tmp_path / "ks", group=GROUP, ks=KS)
    rec = load_recording(folder, labels=labels)
    assert rec.units["id"].tolist() == ids
    wanted = {**KS, **GROUP}
    assert rec.units["label"].tolist() == [wanted[i] for i in ids]
    assert rec.units["KSLabel"].tolist() == [KS[i] for i in ids]


def test_label_precedence_with_cluster_info(tmp_path):
    """cluster_group.tsv > cluster_info.tsv group > cluster_KSLabel.tsv > cluster_info KSLabel."""
    info = {"columns": ["amp", "ch", "depth", "fr", "group", "KSLabel", "n_spikes"],
            "rows": {2: (5.5, 3, 20.0, 1.5, "mua", "mua", 10), 7: (4.0, 8, 140.0, 2.5, "noise", "good", 20),
                     11: (3.0, 9, 160.0, 0.5, "", "", 30), 40: (2.0, 12, 240.0, 3.0, "", "mua", 40)}}
    folder = write_phy(tmp_path / "ks", group={2: "good"}, ks={11: "good"}, info=info)
    rec = load_recording(folder, labels="all")
    assert rec.units["id"].tolist() == [2, 11, 40]  # 7: noise in cluster_info's group
    assert rec.units["label"].tolist() == ["good", "good", "mua"]
    assert rec.units["group"].tolist() == ["good", "", ""]
    assert rec.units["KSLabel"].tolist() == ["mua", "good", "mua"]
    assert rec.units["depth"].tolist() == [20, 160, 240] and rec.units["ch"].tolist() == [3, 9, 12]
    assert rec.units["fr"].tolist() == [1.5, 0.5, 3.0] and rec.units["n_spikes"].tolist() == [10, 30, 40]
    assert load_recording(folder).units["id"].tolist() == [2, 11]  # default: good
    assert rec.to_json_meta()["units"]["depth"] == [20, 160, 240]  # what the napari layer keeps


def test_unlabelled_clusters_are_unsorted(tmp_path):
    folder = write_phy(tmp_path / "ks", group={2: "good", 7: "noise"})
    rec = load_recording(folder, labels="unsorted")
    assert rec.units["id"].tolist() == [11, 40] and set(rec.units["label"]) == {"unsorted"}


def test_no_label_file_keeps_every_cluster(tmp_path):
    folder = write_phy(tmp_path / "ks")
    assert load_recording(folder).units["id"].tolist() == list(IDS)
    assert load_recording(folder, labels="all").n_units == 4
    with pytest.raises(InputError, match="labels the clusters here") as err:
        load_recording(folder, labels="good")
    assert err.value.source == str(folder)


def test_sample_rate_option_overrides_or_replaces_params(tmp_path):
    trains = known_trains()
    folder = write_phy(tmp_path / "ks", trains)
    rec = load_recording(folder, labels="all", sample_rate=15_000.0)
    np.testing.assert_array_equal(rec.spike_trains[0], trains[2] / 15_000.0)
    bare = write_phy(tmp_path / "bare", trains, params=None)
    np.testing.assert_array_equal(load_recording(bare, sample_rate=RATE).spike_trains[1], trains[7] / RATE)
    with pytest.raises(ParameterError, match="--sample-rate"):
        load_recording(bare, sample_rate=0.0)


def test_params_py_is_never_executed(tmp_path):
    ran = tmp_path / "ran"
    params = (
        "import os\n"
        f"os.system('touch {ran}1')\n"
        f"open({str(ran) + '2'!r}, 'w').write('x')\n"
        f"__import__('pathlib').Path({str(ran) + '3'!r}).touch()\n"
        "dat_path = r'continuous.dat'\n"
        "n_channels_dat = 385\n"
        "dtype = 'int16'\n"
        "offset = 0\n"
        "sample_rate = 30000.\n"
        "hp_filtered = False\n"
        "computed = os.getcwd()\n"
    )
    folder = write_phy(tmp_path / "ks", params=params)
    assert read_params(folder / "params.py") == {
        "dat_path": "continuous.dat", "n_channels_dat": 385, "dtype": "int16", "offset": 0,
        "sample_rate": 30000.0, "hp_filtered": False}
    rec = load_recording(folder, labels="all", bin_size=BIN)
    np.testing.assert_array_equal(rec.spike_trains[0], known_trains()[2] / RATE)
    assert not any(Path(f"{ran}{i}").exists() for i in (1, 2, 3))


@pytest.mark.parametrize("params", [
    "sample_rate = float('30000')\n",  # a call, not a literal: not evaluated
    "rate = 30000.0\n",
    "sample_rate = -5\n",
    "sample_rate = (\n",  # not Python
])
def test_no_usable_sample_rate_is_refused_naming_params_py(tmp_path, params):
    folder = write_phy(tmp_path / "ks", params=params)
    with pytest.raises(InputError, match="--sample-rate") as err:
        load_recording(folder)
    assert err.value.source == str(folder / "params.py")
    assert load_recording(folder, sample_rate=RATE).n_units == 4  # the option replaces it


def _missing_times(folder):
    (folder / "spike_times.npy").unlink()
    return "spike_times.npy", "not found"


def _missing_clusters(folder):
    (folder / "spike_clusters.npy").unlink()
    return "spike_clusters.npy", "not found"


def _mismatch(folder):
    np.save(folder / "spike_clusters.npy", np.load(folder / "spike_clusters.npy")[:-3])
    return "spike_clusters.npy", "entries but spike_times.npy has"


def _no_params(folder):
    (folder / "params.py").unlink()
    return "params.py", "pass --sample-rate"


def _bad_label(folder):
    tsv(folder / "cluster_group.tsv", "cluster_id\tgroup", GROUP)
    return "cluster_group.tsv", "unknown label 'goood'"


def _noise_label(folder):
    tsv(folder / "cluster_group.tsv", "cluster_id\tgroup", GROUP)
    return "cluster_group.tsv", "noise clusters are never kept"


def _float_times(folder):
    np.save(folder / "spike_times.npy", np.load(folder / "spike_times.npy") / RATE)
    return "spike_times.npy", "expected integers"


def _matrix_times(folder):
    np.save(folder / "spike_times.npy", np.zeros((10, 2), np.int64))
    return "spike_times.npy", r"expected shape \(n,\) or \(n, 1\)"


def _bad_tsv(folder):
    tsv(folder / "cluster_group.tsv", "cluster\tgroup", GROUP)
    return "cluster_group.tsv", "no cluster_id column"


def _negative_times(folder):
    times = np.load(folder / "spike_times.npy")
    times[0] = -1
    np.save(folder / "spike_times.npy", times)
    return "spike_times.npy", "negative spike times"


@pytest.mark.parametrize("damage", [_missing_times, _missing_clusters, _mismatch, _no_params, _bad_label,
                                    _noise_label, _float_times, _matrix_times, _bad_tsv, _negative_times])
def test_bad_folders_are_refused_naming_the_file(tmp_path, damage):
    folder = write_phy(tmp_path / "ks")
    name, problem = damage(folder)
    labels = {"_bad_label": "goood", "_noise_label": "noise"}.get(damage.__name__)
    with pytest.raises(InputError, match=problem) as err:
        load_recording(folder, labels=labels)
    assert err.value.source == str(folder / name), str(err.value)


def test_a_folder_that_is_no_spike_sorter_output_is_refused(tmp_path):
    with pytest.raises(InputError, match="spike_times.npy"):
        load_recording(tmp_path)


def test_spike_templates_stand_in_for_missing_clusters(tmp_path):
    """As phy does: without spike_clusters.npy, each spike's cluster is its template."""
    folder = write_phy(tmp_path / "ks")
    (folder / "spike_clusters.npy").rename(folder / "spike_templates.npy")
    assert load_recording(folder).units["id"].tolist() == list(IDS)


def test_options_for_folders_are_refused_for_files(tmp_path):
    np.save(tmp_path / "r.npy", np.zeros((400, 3), np.uint8))
    with pytest.raises(ParameterError, match="spike-sorter"):
        load_recording(tmp_path / "r.npy", labels="good")


def test_huge_cluster_ids_and_unsorted_times(tmp_path):
    trains = {10**9: np.array([900, 30, 600]), 5: np.array([10, 20])}
    folder = tmp_path / "ks"
    folder.mkdir()
    np.save(folder / "spike_times.npy", np.array([900, 30, 10, 600, 20], np.uint64))
    np.save(folder / "spike_clusters.npy", np.array([10**9, 10**9, 5, 10**9, 5], np.int64))
    st = read_phy(folder, sample_rate=1000.0)
    assert st.units["id"].tolist() == [5, 10**9]
    np.testing.assert_array_equal(st[1], np.sort(trains[10**9]) / 1000.0)
    np.testing.assert_array_equal(st[0], trains[5] / 1000.0)


def test_memory_is_a_few_arrays_of_the_spikes(tmp_path):
    """Peak Python allocations while reading stay a few times the kept times (8 bytes a spike):
    no float64 copy of every spike beyond the one SpikeTrains keeps."""
    rng = np.random.default_rng(3)
    n = 1_000_000
    folder = tmp_path / "ks"
    folder.mkdir()
    np.save(folder / "spike_times.npy", np.sort(rng.integers(0, 3600 * 30_000, n)).astype(np.int64))
    np.save(folder / "spike_clusters.npy", rng.integers(0, 300, n).astype(np.int32))
    (folder / "params.py").write_text("sample_rate = 30000.0\n")
    tracemalloc.start()
    try:
        st = read_phy(folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert st.times.size == n and st.times.dtype == np.float64
    assert peak < 5 * 8 * n, f"peak {peak / 8 / n:.1f} x the spike times"
