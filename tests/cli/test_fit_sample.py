"""`vaemf fit` and `vaemf sample` end to end on small files of every encoding."""
from __future__ import annotations

import json

import numpy as np
import pytest

from napari_vaemf.cli import main
from napari_vaemf.core.configs import SampleSet, load_configurations, save_configurations
from napari_vaemf.core.fitting import load_fit

REPORT_KEYS = {"n_samples", "n_units", "latents", "device", "epochs", "train_seconds",
               "samples_per_second", "elbo_nats", "test_elbo_nats", "test_loglik_nats", "iwae_k",
               "rate_nats", "rate_per_latent_nats"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _configs(encoding: str, t=300, n=6) -> np.ndarray:
    rng = np.random.default_rng(0)
    if encoding == "vector":
        x = rng.standard_normal((t, n, 3)).astype(np.float32)
        return x / np.linalg.norm(x, axis=-1, keepdims=True)
    common = rng.random((t, 1)) < 0.5  # one shared latent bit: correlated units
    x = (rng.random((t, n)) < np.where(common, 0.8, 0.2)).astype(np.int8)
    return 2 * x - 1 if encoding == "spin" else x


@pytest.mark.parametrize("encoding", ["binary", "spin", "vector"])
def test_fit_then_sample_keeps_encoding(tmp_path, encoding, capsys):
    x = _configs(encoding)
    src = tmp_path / "data.npz"
    save_configurations(src, SampleSet("test", x, {"seed": 0}))
    run = tmp_path / "run"
    assert main(["fit", str(src), "-o", str(run), "--latents", "2", "--epochs", "2",
                 "--device", "cpu", "--seed", "1", "--holdout", "0.2", "--iwae-k", "8"]) == 0
    report = json.loads((run / "report.json").read_text())
    assert REPORT_KEYS <= set(report)
    assert report["n_samples"] == 300 and report["n_units"] == 6 and report["latents"] == 2
    assert len(report["rate_per_latent_nats"]) == 2
    if encoding == "vector":  # the amortized VAE: an IWAE bound above the ELBO
        assert report["method"] == "vae" and report["loglik"] == "bound" and report["iwae_k"] == 8
        assert report["test_loglik_nats"] >= report["test_elbo_nats"] - 1e-6
    else:  # the exact engine: the ELBO with the exact posterior is log p itself
        assert report["method"] == "exact" and report["loglik"] == "exact" and report["iwae_k"] is None
        assert report["test_loglik_nats"] == report["test_elbo_nats"]
        assert report["decoder"]["theories"]["generalized-hopfield"] == "yes"
    lat = np.load(run / "latents.npy")
    assert lat.shape == (300, 2) and lat.dtype == np.float32
    fit = load_fit(run)
    assert fit.encoding == encoding and fit.epoch == report["epochs"]
    assert np.allclose(fit.latents(x), lat)

    out = tmp_path / "samples.npz"
    assert main(["sample", str(run), "--samples", "40", "-o", str(out), "--seed", "3"]) == 0
    s = load_configurations(out)
    assert s.encoding == encoding and s.configurations.shape == (40, *x.shape[1:])
    assert s.params["source"] == "model"
    if encoding != "vector":
        allowed = {-1, 1} if encoding == "spin" else {0, 1}
        assert set(np.unique(s.configurations)) <= allowed
    assert "held-out log-likelihood" in capsys.readouterr().out


def test_fit_reads_plain_npy_raster(tmp_path):
    # a (units, bins) spike raster as B's loader reads it: counts become binary
    raster = (np.random.default_rng(1).random((5, 400)) < 0.1).astype(np.uint8)
    src = tmp_path / "raster.npy"
    np.save(src, raster)
    run = tmp_path / "run"
    assert main(["fit", str(src), "-o", str(run), "--epochs", "1", "--device", "cpu",
                 "--iwae-k", "4"]) == 0
    report = json.loads((run / "report.json").read_text())
    assert report["encoding"] == "binary" and report["n_units"] * report["n_samples"] == 2000


def test_bad_input_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"nope")
    assert main(["fit", str(bad), "-o", str(tmp_path / "run")]) == 2
    assert "error" in capsys.readouterr().err
    assert main(["sample", str(tmp_path / "missing"), "--samples", "3", "-o",
                 str(tmp_path / "x.npz")]) == 2
