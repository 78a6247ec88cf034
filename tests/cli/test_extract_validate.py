"""vaemf extract / validate end to end on a tiny Hopfield fit."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from napari_vaemf.cli import main
from napari_vaemf.core.configs import save_configurations
from napari_vaemf.core.progress import drive
from napari_vaemf.core.samplers import sample_hopfield
from napari_vaemf.core.stats import bits_right
from napari_vaemf.core.vae import Fit, VAEConfig


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("hop")
    ss = drive(sample_hopfield(24, 2, 1.6, samples=2000, seed=1), bar=False)
    save_configurations(root / "data.npz", ss)
    fit = Fit(ss.configurations, "spin", VAEConfig(latents=2, epochs=8, batch_size=128,
                                                   encoder_widths=(32,), decoder_widths=(16,)))
    drive(fit.train(), bar=False)
    fit.save(root / "run" / "model.pt")
    return root, ss.truth["patterns"]


def test_extract_writes_hopfield_theory(run_dir, capsys):
    root, xi = run_dir
    assert main(["extract", str(root / "run"), "--theory", "hopfield", "--prior-samples", "4000"]) == 0
    d = json.loads((root / "run" / "extraction.json").read_text())
    assert d["theory"] == "hopfield" and 0 < d["beta"] < 10 and 0 <= d["consistency"] <= 1
    pat = np.load(root / "run" / "patterns.npy")
    assert pat.shape == (24, 2) and set(np.unique(pat)) <= {-1.0, 1.0}
    assert np.load(root / "run" / "fields.npy").shape == (24,)
    assert bits_right(pat, xi)[0] >= 0.5  # accuracy is tested in tests/core/extraction
    assert "hopfield: beta=" in capsys.readouterr().out


def test_validate_writes_table_and_figure(run_dir):
    root, _ = run_dir
    out = root / "val"
    rc = main(["validate", str(root / "run"), "--data", str(root / "data.npz"), "-o", str(out),
               "--train", str(root / "data.npz"), "--samples", "2000", "--latent-draws", "20000", "--baselines", "independent,cms"])
    assert rc == 0
    d = json.loads((out / "validation.json").read_text())
    assert set(d["models"]) == {"vae", "vae_samples", "theory", "independent", "cms"}
    # exact-given-z statistics and sampled configurations of the same VAE agree within noise
    assert abs(d["models"]["vae"]["cov_corr"] - d["models"]["vae_samples"]["cov_corr"]) < 0.1
    floor = d["noise_floor_train_test"]  # train file = test file here: no distance
    assert floor["rates_rel_rms"] < 1e-12 and floor["cov_corr"] == pytest.approx(1.0)
    assert d["models"]["vae"]["n_parameters"] > 0
    # the independent model has no covariances: its covariance correlation is far below the VAE's
    assert d["models"]["vae"]["cov_corr"] > 0.5 > abs(d["models"]["independent"]["cov_corr"])
    assert d["noise_floor"]["rates_rel_rms"] < 0.5
    assert (out / "validation.png").stat().st_size > 10_000


def test_extract_refuses_missing_run(tmp_path, capsys):
    assert main(["extract", str(tmp_path), "--theory", "curie-weiss"]) == 2
    assert "model.pt" in capsys.readouterr().err


def test_sample_from_theory(run_dir):
    root, _ = run_dir
    if not (root / "run" / "extraction.json").exists():
        main(["extract", str(root / "run"), "--theory", "hopfield", "--prior-samples", "4000"])
    out = root / "theory.npz"
    assert main(["sample", str(root / "run"), "--source", "theory", "--samples", "300", "-o", str(out)]) == 0
    from napari_vaemf.core.configs import load_configurations

    s = load_configurations(out)
    assert s.configurations.shape == (300, 24) and set(np.unique(s.configurations)) <= {-1, 1}
    assert s.params["source"] == "theory"


def test_generalized_hopfield_extract_and_sample(run_dir, tmp_path):
    """extract --theory generalized-hopfield writes signed patterns (n_attractive) and fields;
    sample --source theory draws from that model in the data's ±1 encoding, at its rates."""
    import shutil

    from napari_vaemf.core.configs import load_configurations

    root, _ = run_dir
    run = tmp_path / "run"
    shutil.copytree(root / "run", run, ignore=shutil.ignore_patterns("extraction.json", "*.npy"))
    assert main(["extract", str(run), "--theory", "generalized-hopfield", "--prior-samples", "4000"]) == 0
    d = json.loads((run / "extraction.json").read_text())
    pat = np.load(run / "patterns.npy")
    assert d["theory"] == "generalized-hopfield" and pat.shape[0] == 24
    assert 0 <= d["n_attractive"] <= pat.shape[1] == d["n_patterns"]
    assert np.load(run / "fields.npy").shape == (24,)
    out = tmp_path / "gh.npz"
    assert main(["sample", str(run), "--source", "theory", "--samples", "2000", "-o", str(out)]) == 0
    s = load_configurations(out).configurations
    assert s.shape == (2000, 24) and set(np.unique(s)) <= {-1, 1}
    data = load_configurations(root / "data.npz").configurations
    # the calibration matched the VAE's rates; both must sit near the data's (up-fraction)
    assert np.abs((s.mean(0) + 1) / 2 - (data.mean(0) + 1) / 2).max() < 0.15


def test_validate_an_exact_fit_against_the_strict_hopfield_model(run_dir, tmp_path):
    """A default (exact) fit validated with the strict Hopfield baseline: every row judged on
    the same data, the VAE row's statistics exact for the grid model."""
    root, _ = run_dir
    run = tmp_path / "exact"
    assert main(["fit", str(root / "data.npz"), "-o", str(run), "--latents", "2", "--epochs", "10"]) == 0
    assert json.loads((run / "report.json").read_text())["method"] == "exact"
    out = tmp_path / "val"
    assert main(["validate", str(run), "--data", str(root / "data.npz"), "-o", str(out),
                 "--train", str(root / "data.npz"), "--samples", "2000",
                 "--baselines", "independent,hopfield2,hopfield-signed"]) == 0
    rows = json.loads((out / "validation.json").read_text())["models"]
    assert rows["vae"]["estimate"].startswith("exact (mixture over")
    assert rows["hopfield2"]["n_parameters"] == 24 * 3  # fields and two patterns
    # Hopfield data: the strict model with the true number of patterns beats independent units
    assert rows["hopfield2"]["test_loglik_nats"] > rows["independent"]["test_loglik_nats"] + 0.5
    assert rows["hopfield2"]["cov_corr"] > 0.9
    # the signed model (3 + 3 patterns from the strict start, persistent chains, AIS log Z)
    signed = rows["hopfield-signed"]
    # (or, where its chains lowered the likelihood, the strict P = 3 start without repulsion)
    assert signed["n_parameters"] in (24 * 4, 24 * 7) and signed["log_z_spread"] < 0.05
    assert signed["test_loglik_nats"] > rows["hopfield2"]["test_loglik_nats"] - 0.05
    # the read-off energy is the exact fit's own model: the same log-likelihood, sampled exactly
    assert rows["energy"]["test_loglik_nats"] == pytest.approx(rows["vae"]["test_loglik_nats"], abs=1e-6)
    assert rows["energy"]["cov_corr"] > 0.9


def test_energy_file_of_an_exact_fit_is_its_model_and_samples_exactly(run_dir, tmp_path):
    """extract --theory generalized-hopfield on a default (exact) fit writes energy.npz: loaded
    with numpy alone it gives the fit's log p on every held-out row, and `sample --source
    theory` draws from it exactly (at the fit's own rates)."""
    from napari_vaemf.core.configs import load_configurations
    from napari_vaemf.core.extraction.energy import load_energy
    from napari_vaemf.core.fitting import load_fit

    root, _ = run_dir
    run = tmp_path / "exact"
    assert main(["fit", str(root / "data.npz"), "-o", str(run), "--latents", "2", "--epochs", "6"]) == 0
    assert main(["extract", str(run), "--theory", "generalized-hopfield", "--prior-samples", "4000"]) == 0
    ex = json.loads((run / "extraction.json").read_text())
    assert ex["diagnostics"]["energy_file"] == "energy.npz"
    # Hopfield data: the energy's attractors are the retrieval states ±ξ, and a quadratic
    # energy (the strict model, here the truth) keeps most of the energy's gain
    root_xi = run_dir[1]
    top = np.array([a["pattern"] for a in ex["attractors"][:4]]) * 2 - 1
    assert bits_right(top.T, root_xi)[0] >= 0.9
    assert sum(a["fraction"] for a in ex["attractors"]) + ex["silent_state"]["fraction"] == pytest.approx(1)
    assert ex["quadratic_share"] > 0.8
    data = load_configurations(root / "data.npz").configurations
    fit = load_fit(run / "model.pt", x=data)
    energy = load_energy(run / "energy.npz")
    test = data[fit.test_index]
    np.testing.assert_allclose(energy.log_prob(test), fit.log_likelihood(test), rtol=0, atol=1e-6)
    out = tmp_path / "theory.npz"
    assert main(["sample", str(run), "--source", "theory", "--samples", "20000", "-o", str(out)]) == 0
    s = load_configurations(out).configurations
    assert s.shape == (20000, 24) and set(np.unique(s)) <= {-1, 1}
    np.testing.assert_allclose((s.mean(0) + 1) / 2, fit.stats().rates, atol=0.02)
