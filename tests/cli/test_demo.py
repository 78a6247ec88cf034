"""The README's main job, at smoke-test size: every stage runs and its numbers are sane."""
from __future__ import annotations

import json
import math

import numpy as np
import torch

from napari_vaemf.cli import main
from napari_vaemf.core.configs import load_configurations
from napari_vaemf.core.vae import Fit


def test_quick_demo_runs_end_to_end(tmp_path, capsys):
    torch.set_num_threads(1)
    assert main(["demo", "--quick", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Curie-Weiss" in out and "Hopfield" in out

    sm = json.loads((tmp_path / "summary.json").read_text())
    cw = sm["curie_weiss"]
    # An IWAE bound of a model cannot beat the true distribution on held-out data by more
    # than sampling noise; it must be a finite, negative log-likelihood.
    assert math.isfinite(cw["test_loglik_nats"]) and cw["test_loglik_nats"] < 0
    assert cw["test_loglik_nats"] <= cw["exact_loglik_nats"] + 0.2
    assert cw["rate_nats"] >= 0 and cw["exact_bipartite_mi_nats"] > 0
    assert 0.5 <= sm["hopfield"]["pattern_bits_right"] <= 1.0

    # What the demo wrote can be read back by the rest of the tool.
    s = load_configurations(tmp_path / "curie_weiss.npz")
    assert s.model == "curie-weiss" and s.configurations.shape[1] == sm["settings"]["n_cw"]
    fit = Fit.load(tmp_path / "curie_weiss_fit" / "model.pt")
    assert fit.n_units == s.configurations.shape[1]
    assert np.all(np.isin(fit.sample(10, seed=1), (-1, 1)))
