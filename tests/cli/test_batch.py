"""`vaemf batch`: one result folder per recording, one summary, finished ones skipped."""
from __future__ import annotations

import csv
import json

import pytest

from napari_vaemf.cli import main
from napari_vaemf.core.runs import verify_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_capacity_batch_over_the_aplysia_recordings(shared, tmp_path, capsys, monkeypatch):
    folder = shared.need(shared.APLYSIA).parent
    out = tmp_path / "batch"
    args = ["batch", "capacity", str(folder / "*.mat"), "-o", str(out), "--max-latents", "2",
            "--seeds", "1", "--epochs", "2", "--model-mi", "false", "--device", "cpu"]
    assert main(args) == 0
    rows = list(csv.DictReader((out / "summary.csv").read_text().splitlines()))
    assert [r["recording"] for r in rows] == ["Feb1312da06spks", "Jan1312da04spks", "Jan1912da02spks"]
    for r in rows:
        assert r["status"] == "done"
        assert int(r["units"]) >= 100 and int(r["bins"]) >= 4000
        assert r["latents_needed"] in ("1", "2", "")
        assert float(r["bipartite_mi_lower_nats"]) > 0 and r["verdict"]
        assert "capacity.json" in verify_run(out / r["recording"]).files
    assert json.loads((out / "summary.json").read_text())["recordings"][0]["units"] == 125

    import napari_vaemf.cli._batch as batch

    monkeypatch.setattr(batch, "_one", lambda *a: pytest.fail("a finished recording ran again"))
    capsys.readouterr()
    assert main(args) == 0
    assert capsys.readouterr().out.count("skipped (done)") == 3
    again = list(csv.DictReader((out / "summary.csv").read_text().splitlines()))
    assert [r["latents_needed"] for r in again] == [r["latents_needed"] for r in rows]


def test_batch_reports_a_bad_recording_and_goes_on(tmp_path, capsys):
    good = tmp_path / "good.npy"
    import numpy as np

    np.save(good, (np.random.default_rng(0).random((300, 5)) < 0.3).astype(np.uint8))
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not numpy")
    out = tmp_path / "b"
    assert main(["batch", "fit", str(good), str(bad), "-o", str(out), "--epochs", "1",
                 "--device", "cpu", "--iwae-k", "4"]) == 2
    rows = {r["recording"]: r for r in csv.DictReader((out / "summary.csv").read_text().splitlines())}
    assert rows["good"]["status"] == "done" and rows["bad"]["status"] == "failed"
    assert "bad.npy" in rows["bad"]["error"]
