"""`vaemf info|fit|capacity FOLDER` on a phy / Kilosort output folder, with --labels and --sample-rate."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from napari_vaemf.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LABELS = {3: "good", 8: "mua", 12: "noise", 20: "good"}


def phy_folder(folder: Path, seconds: float = 20.0, rate: int = 20_000) -> Path:
    """Four clusters sharing a slow on/off state (so there is something to fit), labelled by phy."""
    rng = np.random.default_rng(0)
    state = rng.random(int(seconds / 0.02)) < 0.5
    samples, clusters = [], []
    for k, cid in enumerate(LABELS):
        p = np.where(state, 0.6, 0.1)[rng.permutation(len(state)) if k == 3 else slice(None)]
        bins = np.flatnonzero(rng.random(len(state)) < p)
        samples.append(bins * int(0.02 * rate) + rng.integers(1, int(0.02 * rate), bins.size))
        clusters.append(np.full(bins.size, cid, np.int32))
    samples, clusters = np.concatenate(samples), np.concatenate(clusters)
    order = np.argsort(samples, kind="stable")
    folder.mkdir()
    np.save(folder / "spike_times.npy", samples[order].astype(np.uint64)[:, None])
    np.save(folder / "spike_clusters.npy", clusters[order])
    (folder / "params.py").write_text(f"dat_path = 'raw.bin'\nsample_rate = {rate}.\n")
    (folder / "cluster_group.tsv").write_text(
        "cluster_id\tgroup\n" + "".join(f"{c}\t{g}\n" for c, g in LABELS.items()))
    return folder


def test_info_folder_with_labels(tmp_path, capsys):
    folder = phy_folder(tmp_path / "kilosort4")
    assert main(["info", str(folder), "--labels", "all", "--per-unit"]) == 0
    out = capsys.readouterr().out
    assert "units                   3" in out
    table = out.split("unit\tspikes")[1]
    assert [line.split("\t")[0] for line in table.strip().splitlines()[1:]] == ["3", "8", "20"]
    assert main(["info", str(folder / "params.py")]) == 0  # default: good
    assert "units                   2" in capsys.readouterr().out


@pytest.mark.parametrize("args, problem", [
    (["--labels", "goood"], "cluster_group.tsv: --labels: unknown label 'goood'"),
    (["--labels", "noise"], "cluster_group.tsv: --labels noise: noise clusters are never kept"),
    (["--sample-rate", "-3"], "--sample-rate must be a positive number"),
])
def test_bad_options_are_one_line(tmp_path, capsys, args, problem):
    folder = phy_folder(tmp_path / "ks")
    assert main(["info", str(folder), *args]) == 2
    err = capsys.readouterr().err
    assert problem in err and len(err.strip().splitlines()) == 1, err


def test_missing_sample_rate_names_params_py(tmp_path, capsys):
    folder = phy_folder(tmp_path / "ks")
    (folder / "params.py").unlink()
    assert main(["info", str(folder)]) == 2
    assert f"{folder / 'params.py'}: not found" in capsys.readouterr().err
    assert main(["info", str(folder), "--sample-rate", "20000"]) == 0


def test_fit_a_folder(tmp_path):
    folder = phy_folder(tmp_path / "ks")
    run = tmp_path / "run"
    assert main(["fit", str(folder), "-o", str(run), "--epochs", "1", "--device", "cpu", "--latents", "1",
                 "--labels", "good,mua", "--units", "3,8", "--t-stop", "20"]) == 0
    report = json.loads((run / "report.json").read_text())
    assert report["n_units"] == 2 and report["n_samples"] == 1000
    assert np.load(run / "latents.npy").shape == (1000, 1)


def test_capacity_of_a_folder(tmp_path):
    folder = phy_folder(tmp_path / "ks")
    out = tmp_path / "cap"
    assert main(["capacity", str(folder), "-o", str(out), "--labels", "all", "--max-latents", "1",
                 "--seeds", "1", "--epochs", "1", "--infonce", "false", "--model-mi", "false",
                 "--device", "cpu"]) == 0
    assert (out / "capacity.json").is_file()
