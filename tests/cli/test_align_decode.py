"""vaemf align and vaemf decode end to end: the MTL clips, synthetic place and head-direction
cells with their behaviour in NWB, and bad input refused in one line."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from napari_vaemf.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# the real file of tests/conftest.py's Shared.MTL (a module fixture cannot take `shared`)
MTL = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "nwb-human-mtl-zheng2022-sub4"
       / "sub-4_ses-4_ecephys+image.nwb")


def _fit(data, out, *extra) -> None:
    assert main(["fit", str(data), "-o", str(out), "--latents", "2", "--device", "cpu", *extra]) == 0


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err  # one line
    return err


@pytest.fixture(scope="module")
def mtl_run(tmp_path_factory):
    """``vaemf fit MTL -o RUN --latents 2 --epochs 2``: the issue's command, on the CPU."""
    import torch

    if not MTL.is_file():
        pytest.skip(f"shared data file {MTL} is absent")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("mtl") / "run"
    try:
        _fit(MTL, run, "--epochs", "2")
    finally:
        torch.set_num_threads(threads)
    return run


def test_align_the_mtl_clips_to_their_first_boundary(mtl_run, tmp_path, capsys):
    out = tmp_path / "al"
    assert main(["align", str(mtl_run), "--table", "encoding_table", "--time", "boundary1_time",
                 "--by", "stimCategory", "--window", "-1", "3", "-o", str(out)]) == 0
    assert "encoding_table: 90 trials around boundary1_time" in capsys.readouterr().out
    d = json.loads((out / "align.json").read_text())
    assert d["n_trials"] == 90 and d["groups"] == [0, 1, 2] and d["group_sizes"] == [30, 30, 30]
    assert d["group_description"].startswith("1=no boundary (NB), 2=soft boundary (SB)")
    assert d["dropped"] == {"absent": 0, "impossible": 0, "outside": 0, "no_group": 0}
    assert d["bin_size"] == 0.02 and d["window"] == [-1.0, 3.0] and d["n_bins"] == 200
    assert any("are not the codes" in w for w in d["warnings"])
    z = np.load(out / "aligned_latents.npy")
    counts = np.load(out / "aligned_counts.npy")
    assert z.shape == (90, 200, 2) and counts.shape == (90, 200, 35)
    # trial 0's window starts 1 s before its boundary: the run's latents from that bin on
    run_z = np.load(mtl_run / "latents.npy")
    first = int(round(d["trials"]["event_time"][0] / 0.02)) - 50
    assert np.array_equal(z[0], run_z[first : first + 200])
    assert (out / "align.png").stat().st_size > 20_000
    assert {"align.json", "align.png"} <= set(json.loads((out / "manifest.json").read_text())["files"])
    # the events: the TTL stamped -1.5e9 s is counted as impossible
    assert main(["align", str(mtl_run), "--table", "events", "--time", "timestamps", "--by", "data",
                 "--window", "-0.5", "0.5", "-o", str(tmp_path / "ev")]) == 0
    assert json.loads((tmp_path / "ev" / "align.json").read_text())["dropped"]["impossible"] == 1


def test_align_lists_tables(mtl_run, capsys):
    assert main(["align", str(mtl_run), "--list"]) == 0
    out = capsys.readouterr().out
    assert "encoding_table (TimeIntervals, 90 rows)" in out and "categorical:  ExperimentID, stimCategory" in out


@pytest.mark.parametrize("args, words", [
    (["--table", "nope"], ["--table 'nope'", "encoding_table, recognition_table"]),
    (["--table", "encoding_table", "--time", "nope"], ["--time 'nope'", "boundary1_time"]),
    (["--table", "encoding_table", "--by", "Clip_name"], ["--by 'Clip_name': 90 distinct values"]),
    (["--table", "encoding_table", "--window", "-1", "5000"], ["--window -1 5000", "longer than the recording"]),
    (["--table", "encoding_table", "--window", "3"], ["--window takes two finite numbers"]),
])
def test_align_refuses_bad_options_in_one_line(mtl_run, tmp_path, capsys, args, words):
    assert main(["align", str(mtl_run), "-o", str(tmp_path / "x"), *args]) == 2
    err = _error(capsys)
    assert err.startswith("vaemf align: error:") and all(w in err for w in words), err


def test_decode_refuses_a_behaviour_file_with_non_monotonic_timestamps(mtl_run, tmp_path, capsys):
    bad = tmp_path / "tracking.csv"
    bad.write_text("time,x\n0.0,0.1\n0.02,0.2\n0.01,0.3\n")
    assert main(["decode", str(mtl_run), "--behavior", str(bad), "-o", str(tmp_path / "d")]) == 2
    err = _error(capsys)
    assert "tracking.csv: first column: timestamps are not monotonic" in err
    assert main(["decode", str(mtl_run), "--behavior", "processing/behavior/position",
                 "-o", str(tmp_path / "d")]) == 2
    assert "--behavior 'processing/behavior/position': no such object" in _error(capsys)


def test_align_needs_a_recording_with_a_time_base_and_tables(tmp_path, capsys):
    from napari_vaemf.core.configs import save_configurations
    from napari_vaemf.core.progress import drive
    from napari_vaemf.core.samplers import sample_curie_weiss

    data = tmp_path / "cw.npz"
    save_configurations(data, drive(sample_curie_weiss(8, 1.2, samples=200, seed=0), bar=False))
    _fit(data, tmp_path / "run", "--epochs", "1")
    assert main(["align", str(tmp_path / "run"), "-o", str(tmp_path / "al")]) == 2
    assert "cw.npz: states no bin size" in _error(capsys)
    raster = tmp_path / "raster.npz"  # a raster that states its bin size, but no NWB tables
    np.savez(raster, raster=(np.random.default_rng(0).random((6, 300)) < 0.2).astype(np.uint8), bin_size=0.1)
    _fit(raster, tmp_path / "run2", "--epochs", "1")
    assert main(["align", str(tmp_path / "run2"), "-o", str(tmp_path / "al")]) == 2
    assert "raster.npz: interval tables and events come from NWB files" in _error(capsys)


# --- behaviour: synthetic place cells and head-direction cells ---------------------------
def _walk(kind: str, rng, t: np.ndarray) -> np.ndarray:
    """A position on a 1 m track (reflecting random walk, velocity correlated over 1 s) or a
    head direction (an angle whose angular velocity is correlated over 1 s)."""
    dt, v, x = t[1] - t[0], 0.0, 0.5
    out = np.empty(len(t))
    scale = 0.25 if kind == "position" else 1.5
    for i in range(len(t)):
        v += -v * dt + scale * np.sqrt(2 * dt) * rng.standard_normal()
        x += v * dt
        if kind == "position" and not 0 <= x <= 1:
            x, v = (-x if x < 0 else 2 - x), -v
        out[i] = x
    return out if kind == "position" else np.angle(np.exp(1j * out))


def write_behaviour_nwb(path, kind: str, seed: int = 1, duration: float = 400.0, n_units: int = 50):
    """Units whose rates follow the behaviour (Gaussian place fields 8 cm wide, or von Mises
    head-direction tuning, kappa 3; 0.5 Hz baseline, 20 Hz peaks), sampled at 50 Hz into
    processing/behavior (Position or CompassDirection)."""
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.behavior import CompassDirection, Position, SpatialSeries

    rng = np.random.default_rng(seed)
    fs = 50.0
    t = np.arange(0, duration, 1 / fs)
    b = _walk(kind, rng, t)
    if kind == "position":
        rate = 0.5 + 20 * np.exp(-(b[:, None] - np.linspace(0, 1, n_units)) ** 2 / (2 * 0.08**2))
    else:
        preferred = np.linspace(-np.pi, np.pi, n_units, endpoint=False)
        rate = 0.5 + 20 * np.exp(3 * (np.cos(b[:, None] - preferred) - 1))
    nwb = NWBFile(session_description="synthetic behaviour", identifier=f"syn-{kind}",
                  session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    for u in range(n_units):
        n = rng.poisson(rate[:, u] / fs)
        nwb.add_unit(spike_times=np.sort(np.repeat(t, n) + rng.random(n.sum()) / fs))
    mod = nwb.create_processing_module("behavior", "behaviour")
    if kind == "position":
        mod.add(Position(spatial_series=SpatialSeries(
            name="position", data=b[:, None], timestamps=t, reference_frame="track start", unit="meters")))
    else:
        mod.add(CompassDirection(spatial_series=SpatialSeries(
            name="head_direction", data=b, timestamps=t, reference_frame="north", unit="radians")))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("kind, source, metric", [
    ("position", "processing/behavior/Position", "R2"),
    ("angle", "processing/behavior/CompassDirection", "circular correlation"),
])
def test_decode_behaviour_from_two_latents(tmp_path, capsys, kind, source, metric):
    data = write_behaviour_nwb(tmp_path / f"{kind}.nwb", kind)
    _fit(data, tmp_path / "run", "--epochs", "8", "--batch-size", "64", "--bin-size", "0.1")
    assert main(["decode", str(tmp_path / "run"), "--behavior", source, "-o", str(tmp_path / "dec")]) == 0
    d = json.loads((tmp_path / "dec" / "decoding.json").read_text())
    assert d["kind"] == ("linear" if kind == "position" else "circular") and d["metric"] == metric
    assert d["score"] >= 0.9, d["scores"]
    assert d["score_shuffled"] < 0.1, d["scores"]
    assert d["score_counts"] is not None and d["n_bins"] == 4000 and d["bin_size"] == 0.1
    assert min(d["shifts_s"]) >= 60
    assert f"{metric} {d['score']:.3f} from the latents" in capsys.readouterr().out
