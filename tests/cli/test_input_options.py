"""Options from one source: every recording-reading command takes the same input options,
each settings dataclass generates its command's options with its own defaults, and a run's
time base (bin size, t_start) travels to the commands that work on the run."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import scipy.io

from napari_vaemf.cli import build_parser, main
from napari_vaemf.core.capacity import CapacitySettings
from napari_vaemf.core.data import InputOptions
from napari_vaemf.core.extraction import ExtractionSettings, ValidationSettings
from napari_vaemf.core.settings import cli_fields, flag_of, from_args
from napari_vaemf.core.vae import VAEConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

READERS = {  # command -> the arguments it needs besides its options
    "info": ["f.npz"],
    "fit": ["f.npz", "-o", "run"],
    "capacity": ["f.npz", "-o", "cap"],
    "validate": ["run", "--data", "f.npz", "-o", "val"],
    "extract": ["run"],
}
SETTINGS = {"fit": VAEConfig, "capacity": CapacitySettings, "extract": ExtractionSettings,
            "validate": ValidationSettings}


def _subparser(name):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices[name]


def _flags(name) -> set[str]:
    return {s for a in _subparser(name)._actions for s in a.option_strings}


@pytest.mark.parametrize("command", sorted(READERS))
def test_every_reader_takes_the_same_input_options(command):
    wanted = {flag_of(f) for f in cli_fields(InputOptions)}
    assert wanted == {"--variable", "--layout", "--bin-size", "--t-start", "--t-stop", "--units",
                      "--labels", "--sample-rate"}
    assert wanted <= _flags(command)
    args = build_parser().parse_args([command, *READERS[command]])
    assert from_args(InputOptions, args) == InputOptions()


@pytest.mark.parametrize("command", sorted(SETTINGS))
def test_cli_options_are_the_dataclass_fields_and_defaults(command):
    cls = SETTINGS[command]
    flags = _flags(command)
    for f in cli_fields(cls):
        assert flag_of(f) in flags, (command, f.name)
    args = build_parser().parse_args([command, *READERS[command]])
    assert from_args(cls, args) == cls()  # nothing given: exactly the dataclass defaults
    # and a flag given lands in its field
    f = next(f for f in cli_fields(cls) if f.type in ("int", int) and f.name != "seed")
    value = getattr(cls(), f.name) + 3
    args = build_parser().parse_args([command, *READERS[command], flag_of(f), str(value)])
    assert getattr(from_args(cls, args), f.name) == value
    assert dataclasses.replace(cls(), **{f.name: value}) == from_args(cls, args)


def _three_variable_mat(path):
    rng = np.random.default_rng(0)
    variables = {name: (rng.random((400, 5)) < p).astype(np.uint8)
                 for name, p in (("Qrem", 0.1), ("Qrun", 0.3), ("Qsws", 0.05))}
    scipy.io.savemat(path, variables)
    return variables


def test_fit_picks_a_variable_of_a_three_variable_mat(tmp_path, capsys):
    path = tmp_path / "sleep.mat"
    variables = _three_variable_mat(path)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert "--variable" in err and "Qrun" in err and "Traceback" not in err
    run = tmp_path / "run"
    assert main(["fit", str(path), "--variable", "Qrun", "-o", str(run), "--epochs", "1",
                 "--device", "cpu", "--iwae-k", "4", "--bin-size", "0.05"]) == 0
    report = json.loads((run / "report.json").read_text())
    assert report["n_samples"] == 400 and report["n_units"] == 5
    assert report["bin_size"] == 0.05 and report["data"]["split"] == "blocks"
    assert report["data"]["input_options"]["variable"] == "Qrun"
    latents = np.load(run / "latents.npy")
    assert latents.shape == (400, 1)
    assert abs(float(variables["Qrun"].mean()) - 0.3) < 0.05


def _spike_list(path, seconds=40.0, units=4, seed=0):
    """A [unit id, time s] spike list whose units share a slow common drive."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(units):
        t = np.sort(rng.uniform(0, seconds, int(8 * seconds)))
        keep = rng.random(t.size) < 0.5 + 0.45 * np.sin(t)
        rows.append(np.column_stack([np.full(keep.sum(), u), t[keep]]))
    np.save(path, np.concatenate(rows))


def test_run_time_base_travels_to_capacity_validate_extract(tmp_path):
    path = tmp_path / "spikes.npy"
    _spike_list(path)
    run = tmp_path / "run"
    assert main(["fit", str(path), "-o", str(run), "--bin-size", "0.04", "--t-start", "2",
                 "--epochs", "2", "--device", "cpu", "--iwae-k", "4"]) == 0
    from napari_vaemf.core.fitting import load_fit

    fit = load_fit(run)
    assert fit.time_base["bin_size"] == 0.04 and fit.time_base["t_start"] == 2.0
    assert fit.time_base["split"] == "blocks" and fit.time_base["source_sha256"]
    from napari_vaemf.core.data import read_input

    n_bins = read_input(path, InputOptions(bin_size=0.04, t_start=2.0)).n_bins
    assert 940 <= n_bins <= 950  # (40 - 2) s / 40 ms, to the last spike
    assert len(np.load(run / "latents.npy")) == n_bins

    cap = tmp_path / "cap"
    assert main(["capacity", str(run), "-o", str(cap), "--max-latents", "1", "--seeds", "1",
                 "--epochs", "2", "--model-mi", "false", "--device", "cpu"]) == 0
    out = json.loads((cap / "capacity.json").read_text())
    assert out["bin_size"] == 0.04 and out["data"]["t_start"] == 2.0

    val = tmp_path / "val"
    assert main(["validate", str(run), "--data", str(path), "-o", str(val), "--samples", "200",
                 "--latent-draws", "0", "--baselines", "independent"]) == 0
    assert json.loads((val / "validation.json").read_text())["bin_size"] == 0.04

    assert main(["extract", str(run), "--theory", "generalized-hopfield",
                 "--prior-samples", "2000"]) == 0
    assert json.loads((run / "extraction.json").read_text())["bin_size"] == 0.04


def test_fit_of_a_repeated_stimulus_reports_the_stimulus_locked_share(tmp_path):
    rng = np.random.default_rng(0)
    stim = rng.random((50, 6)) < 0.3
    x = (np.tile(stim, (20, 1, 1)) & (rng.random((20, 50, 6)) < 0.8)).astype(np.uint8)
    np.save(tmp_path / "r.npy", x)  # repeats x bins x units
    run = tmp_path / "run"
    assert main(["fit", str(tmp_path / "r.npy"), "-o", str(run), "--layout", "repeats_bins_units",
                 "--epochs", "2", "--device", "cpu", "--iwae-k", "4"]) == 0
    report = json.loads((run / "report.json").read_text())
    assert report["data"]["split"] == "repeats" and report["data"]["repeats"] == 20
    share = report["stimulus_locked"]
    assert share["repeats"] == 20 and 0.0 <= share["stimulus_locked_share"] <= 1.0
