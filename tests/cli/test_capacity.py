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


@pytest.mark.slow
def test_capacity_cli_on_a_local_cluster_is_quiet_and_gives_the_serial_sweep(tmp_path):
    """`vaemf capacity --scheduler local:2` in a fresh process (as a user runs it: workers
    forked where that is safe): the serial sweep's numbers, and none of Dask's INFO lines on
    stderr (its loggers are at INFO; they printed ~35 lines per sweep)."""
    import subprocess
    import sys

    from napari_vaemf.core.progress import drive
    from napari_vaemf.core.samplers import sample_curie_weiss

    path = tmp_path / "cw.npz"
    save_configurations(path, drive(sample_curie_weiss(12, 1.5, samples=1200, seed=2), bar=False))
    sweeps = {}
    for scheduler in ("serial", "local:2"):
        out = tmp_path / scheduler.replace(":", "")
        run = subprocess.run(
            [sys.executable, "-c", "import sys; from napari_vaemf.cli import main; sys.exit(main())",
             "capacity", str(path), "-o", str(out), "--max-latents", "2", "--seeds", "2",
             "--epochs", "5", "--infonce", "false", "--model-mi", "false", "--device", "cpu",
             "--scheduler", scheduler],
            capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
        assert "INFO" not in run.stderr, run.stderr[-2000:]
        # every fit's own record (fit-K<k>-r<r>.json), not only each K's summary
        sweeps[scheduler] = {f.name: json.loads(f.read_text())["point"]["test_loglik_nats"]
                             for f in sorted(out.glob("fit-K*-r*.json"))}
    assert len(sweeps["serial"]) == 4 and sweeps["serial"].keys() == sweeps["local:2"].keys()
    assert all(abs(v - sweeps["local:2"][k]) <= 1e-6 for k, v in sweeps["serial"].items())
