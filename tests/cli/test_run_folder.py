"""`vaemf fit -o RUN`: the run folder is checked before any work, locked, and whole."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from napari_vaemf.cli import main
from napari_vaemf.core.configs import SampleSet, save_configurations
from napari_vaemf.core.runs import RunFolder, verify_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def data(tmp_path):
    x = (np.random.default_rng(0).random((400, 6)) < 0.3).astype(np.int8)
    path = tmp_path / "d.npz"
    save_configurations(path, SampleSet("recording", x, {"bin_size": 0.02}))
    return path


def _no_reading(monkeypatch):
    import napari_vaemf.cli._fit as fit_cli

    def refuse(*a, **k):
        raise AssertionError("the input was read before the output folder was checked")

    monkeypatch.setattr(fit_cli, "load_input", refuse)


@pytest.mark.parametrize("where", ["file", "under_file", "proc"])
def test_bad_output_fails_fast_before_reading(data, tmp_path, capsys, monkeypatch, where):
    _no_reading(monkeypatch)
    target = {"file": data, "under_file": data / "run", "proc": "/proc/self/vaemf-run"}[where]
    t0 = time.perf_counter()
    assert main(["fit", str(data), "-o", str(target), "--epochs", "500"]) == 2
    assert time.perf_counter() - t0 < 10
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vaemf fit: error:") and "Traceback" not in err
    assert "-o" in err


def test_second_fit_into_a_held_folder_is_refused(data, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    with RunFolder.open(run, kind="fit", option="-o"):
        _no_reading(monkeypatch)
        assert main(["fit", str(data), "-o", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "in use" in err


def test_fit_writes_a_whole_run_and_replaces_it_whole(data, tmp_path):
    run = tmp_path / "run"
    common = ["-o", str(run), "--epochs", "2", "--device", "cpu", "--iwae-k", "4"]
    assert main(["fit", str(data), *common, "--latents", "1"]) == 0
    first = verify_run(run)
    assert set(first.files) == {"model.pt", "latents.npy", "report.json"}
    report = json.loads((run / "report.json").read_text())
    assert report["evaluated"] and np.isfinite(report["test_loglik_nats"])
    assert main(["extract", str(run), "--theory", "generalized-hopfield",
                 "--prior-samples", "500"]) == 0
    assert "extraction.json" in verify_run(run).files
    assert main(["fit", str(data), *common, "--latents", "2"]) == 0
    second = verify_run(run)
    assert second.run_id != first.run_id
    assert "extraction.json" not in second.files and not (run / "extraction.json").exists()
    assert np.load(run / "latents.npy").shape == (400, 2)
    assert not [p.name for p in run.iterdir() if p.name.startswith(".vaemf-") or p.suffix == ".tmp"]
