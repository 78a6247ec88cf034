"""The README's main job at its --quick sizes: every stage runs and the numbers are the physics'.

The bounds are what the demo's models guarantee, with room for the fits' noise measured over
seeds 0-4 of ``vaemf demo --quick`` (one torch thread): held-out log-likelihood 0.028-0.041
nats below the exact Curie-Weiss value, read-off βJ 1.198-1.211 (true 1.2), βh within 0.002
of 0, every Hopfield pattern bit right, read-off β 1.385-1.411 (true 1.4).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from napari_vaemf.cli import main
from napari_vaemf.core.configs import load_configurations
from napari_vaemf.core.fitting import load_fit


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    import torch

    out = tmp_path_factory.mktemp("demo")
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["demo", "--quick", "-o", str(out)]) == 0
    finally:
        torch.set_num_threads(old)
    return out, json.loads((out / "summary.json").read_text())


def test_curie_weiss_fit_matches_the_exact_likelihood_and_coupling(quick_demo):
    _, sm = quick_demo
    cw = sm["curie_weiss"]
    gap = cw["test_loglik_nats"] - cw["exact_loglik_nats"]
    # an IWAE bound cannot beat the true distribution beyond sampling noise, and one latent is
    # exact for Curie-Weiss (Hubbard-Stratonovich), so the fit comes within a few hundredths
    assert math.isfinite(gap) and -0.08 <= gap <= 0.02, gap
    assert cw["beta_J"] == pytest.approx(cw["beta_J_true"], rel=0.10)
    assert abs(cw["beta_h"] - cw["beta_h_true"]) <= 0.05
    # the capacity criterion: the rate carries at least the exact bipartite mutual information
    assert cw["exact_bipartite_mi_nats"] > 0 and cw["rate_nats"] >= cw["exact_bipartite_mi_nats"]


def test_hopfield_patterns_and_temperature_come_back(quick_demo):
    _, sm = quick_demo
    hop = sm["hopfield"]
    assert hop["pattern_bits_right"] >= 0.9
    assert hop["beta"] == pytest.approx(hop["beta_true"], rel=0.10)
    assert math.isfinite(hop["test_loglik_nats"]) and hop["test_loglik_nats"] < 0


def test_what_the_demo_wrote_reads_back(quick_demo):
    out, sm = quick_demo
    s = load_configurations(out / "curie_weiss.npz")
    assert s.model == "curie-weiss" and s.configurations.shape[1] == sm["settings"]["n_cw"]
    fit = load_fit(out / "curie_weiss_fit" / "model.pt")
    assert fit.n_units == s.configurations.shape[1]
    assert np.all(np.isin(fit.sample(10, seed=1), (-1, 1)))
