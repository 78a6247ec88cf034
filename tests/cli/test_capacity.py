import json

import numpy as np
import pytest

from napari_vaemf.cli import main
from napari_vaemf.core.capacity import curie_weiss_bipartite_mi
from napari_vaemf.core.configs import save_configurations


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_capacity_cli_writes_json_and_png(tmp_path, capsys):
    from napari_vaemf.core.progress import drive
    from napari_vaemf.core.samplers import sample_curie_weiss

    s = drive(sample_curie_weiss(12, 1.5, samples=1200, seed=2), bar=False)
    path = tmp_path / "cw.npz"
    save_configurations(path, s)
    out = tmp_path / "out"
    rc = main(["capacity", str(path), "-o", str(out), "--max-latents", "2", "--seeds", "1",
               "--epochs", "5", "--infonce", "false", "--model-mi", "false", "--device", "cpu"])
    assert rc == 0
    d = json.loads((out / "capacity.json").read_text())
    mi = d["bipartite_mi_nats"]
    assert set(mi) >= {"estimate", "lower", "upper", "method", "partitions"}
    assert mi["exact"] == pytest.approx(curie_weiss_bipartite_mi(12, 1.5))
    assert [r["latents"] for r in d["sweep"]] == [1, 2]
    assert all(np.isfinite(r["rate_nats"]) and np.isfinite(r["test_loglik_nats"])
               for r in d["sweep"])
    assert d["latents_needed"] in (1, 2, None) and isinstance(d["mean_field"], bool)
    assert (out / "capacity.png").read_bytes()[:4] == b"\x89PNG"
    assert "Verdict" in capsys.readouterr().out


def test_capacity_cli_bad_input_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    rc = main(["capacity", str(bad), "-o", str(tmp_path / "o")])
    assert rc == 2
    assert "error" in capsys.readouterr().err
