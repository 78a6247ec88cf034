"""`vaemf simulate`: files that load, identical bytes for the same seed, clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf.cli import main
from napari_vaemf.core.configs import load_configurations
from napari_vaemf.core.samplers import curie_weiss_pm

CASES = {
    "curie-weiss": (["--n", "16", "--beta-j", "1.3", "--beta-h", "0.1"], (200, 16)),
    "hopfield": (["--n", "20", "--patterns", "2", "--beta", "1.5", "--bias", "0.2"], (200, 20)),
    "maier-saupe": (["--n", "10", "--beta-j", "8", "--chains", "4", "--burn-in", "5"],
                    (200, 10, 3)),
    "ising2d": (["--length", "5"], (200, 25)),
}


@pytest.mark.parametrize("model", sorted(CASES))
def test_simulate_writes_loadable_reproducible_files(tmp_path, model, capsys):
    opts, shape = CASES[model]
    paths = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.npz"
        argv = ["simulate", model, *opts, "--samples", "200", "--seed", "7", "-o", str(out),
                "--no-progress"]
        assert main(argv) == 0
        paths.append(out)
    printed = capsys.readouterr().out
    assert "wrote" in printed
    if model in ("hopfield", "maier-saupe"):
        assert "tau_int_energy_sweeps=" in printed
    assert paths[0].read_bytes() == paths[1].read_bytes()
    s = load_configurations(paths[0])
    assert s.model == model and s.configurations.shape == shape
    assert s.params["seed"] == 7 and s.params["samples"] == 200


def test_hopfield_truth_and_pattern_file(tmp_path):
    rng = np.random.default_rng(0)
    pat = np.where(rng.random((12, 2)) < 0.5, -1, 1).astype(np.int8)
    np.save(tmp_path / "xi.npy", pat)
    out = tmp_path / "h.npz"
    assert main(["simulate", "hopfield", "--patterns", str(tmp_path / "xi.npy"), "--samples",
                 "100", "-o", str(out), "--no-progress"]) == 0
    s = load_configurations(out)
    np.testing.assert_array_equal(s.truth["patterns"], pat)
    assert s.params["n"] == 12 and s.params["beta"] == 1.4


def test_curie_weiss_file_follows_exact_distribution(tmp_path):
    out = tmp_path / "cw.npz"
    assert main(["simulate", "curie-weiss", "--n", "32", "--beta-j", "1.5", "--samples", "4000",
                 "-o", str(out), "--no-progress"]) == 0
    s = load_configurations(out)
    exact = (np.abs(curie_weiss_pm(32, 1.5)[0]) * curie_weiss_pm(32, 1.5)[1]).sum() / 32
    assert np.abs(s.configurations.mean(axis=1)).mean() == pytest.approx(exact, abs=0.02)


def test_progress_bar_goes_to_stderr(tmp_path, capsys):
    out = tmp_path / "p.npz"
    assert main(["simulate", "ising2d", "--length", "4", "--samples", "64", "-o", str(out)]) == 0
    assert "simulate ising2d" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["curie-weiss", "--n", "0"], "n must be"),
        (["curie-weiss", "--beta", "1.0"], "--beta does not apply to curie-weiss"),
        (["ising2d", "--n", "10", "--length", "3"], "L*L"),
        (["hopfield", "--bias", "1.5"], "bias"),
        (["hopfield", "--patterns", "nope.npy"], "no such file"),
        (["maier-saupe", "--samples", "-3"], "samples"),
        (["ising2d", "--beta-h", "0.1"], "--beta-h does not apply"),
    ],
)
def test_impossible_parameters_are_clear_errors(tmp_path, capsys, argv, message):
    out = tmp_path / "x.npz"
    assert main(["simulate", *argv, "-o", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "vaemf simulate: error:" in err and message in err
    assert not out.exists()


def test_output_must_be_npz(tmp_path, capsys):
    assert main(["simulate", "curie-weiss", "-o", str(tmp_path / "x.txt")]) == 2
    assert ".npz" in capsys.readouterr().err
