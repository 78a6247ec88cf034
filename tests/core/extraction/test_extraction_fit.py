"""Read-off from small trained VAEs on exact samples recovers the planted parameters."""
from __future__ import annotations

import pytest
import torch

from napari_vaemf.core.extraction import extract, theory_sample
from napari_vaemf.core.progress import drive
from napari_vaemf.core.samplers import sample_curie_weiss, sample_hopfield
from napari_vaemf.core.stats import bits_right, firing_rates
from napari_vaemf.core.vae import Fit, VAEConfig


def _fit(x, k):
    torch.set_num_threads(1)
    cfg = VAEConfig(latents=k, epochs=30, batch_size=256, encoder_widths=(64,),
                    decoder_widths=(32,), patience=10, seed=0)
    fit = Fit(x, "spin", cfg)
    drive(fit.train(), bar=False)
    return fit


def test_curie_weiss_ferromagnet_read_off():
    ss = drive(sample_curie_weiss(32, 1.5, samples=5000, seed=1), bar=False)
    ex = extract(_fit(ss.configurations, 1), "curie-weiss")
    assert ex.parameters["beta_J"] == pytest.approx(1.5, rel=0.1)
    assert abs(ex.parameters["beta_h"]) < 0.05
    assert ex.diagnostics["readout_uniformity"] > 0.95
    s = theory_sample(ex, 2000, seed=0)
    assert s.shape == (2000, 32) and abs(firing_rates(s).mean() - 0.5) < 0.1  # symmetric


def test_hopfield_patterns_read_off():
    ss = drive(sample_hopfield(32, 2, 1.6, samples=5000, seed=1), bar=False)
    ex = extract(_fit(ss.configurations, 2), "hopfield")
    frac, _ = bits_right(ex.patterns, ss.truth["patterns"])
    assert frac >= 0.97
    assert min(ex.diagnostics["pattern_confidence"]) > 0.9
    assert ex.parameters["beta"] == pytest.approx(1.6, rel=0.15)


def test_maier_saupe_extraction_reports_s_of_vae_and_theory():
    """A small nematic sample (HS sampler, N = 12, βJ = 10): the read-off βJ is in the right
    range and the theory at that βJ has the data's order parameter S."""
    from napari_vaemf.core.extraction.maier_saupe import nematic_order, sample_maier_saupe_hs

    torch.set_num_threads(1)
    x = sample_maier_saupe_hs(12, 10.0, 1500, seed=0, chains=100)
    fit = Fit(x, "vector", VAEConfig(latents=5, epochs=25, batch_size=128, seed=0))
    drive(fit.train(), bar=False)
    ex = extract(fit, "maier-saupe", data=x, n_samples=4000)
    d = ex.diagnostics
    assert 5.0 < ex.parameters["beta_J"] < 20.0
    assert d["S_data_mean"] == pytest.approx(nematic_order(x).mean())
    assert 0 <= d["ks_S_theory_vs_data"] <= 1 and 0 <= d["ks_S_model_vs_data"] <= 1
    assert abs(d["S_theory_mean"] - d["S_data_mean"]) < 0.1
