"""How much of the salamander VAE's latent is the stimulus, and what the stimulus alone explains.

    python scripts/salamander_stimulus.py --fits FITS --latents 1 2 4 -o results/salamander_stimulus.json

The recording repeats one movie (297 repeats × 953 bins). For each fit ``FITS/K{k}.pt``
(from ``scripts/extraction_salamander.py --save-dir FITS``, trained on the even repeats), the
posterior means of the latents on the odd repeats are averaged over repeats at each movie
time; R² = 1 - (variance left around that average) / (total variance) is the fraction of the
latent explained by the stimulus (the same number for the population count, for scale).
The peristimulus-time-histogram model (units independent given the movie time, rates from
the even repeats) is judged on the odd repeats like every model: its statistics are those of
the mixture over movie times (:func:`napari_vaemf.core.stats.mixture_stats`); its held-out
log-likelihood is conditional on the movie time (add-half smoothed rates), so it is not
comparable with models that do not see the stimulus.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from napari_vaemf.core import stats
from napari_vaemf.core.recordings import load_recording
from napari_vaemf.core.vae import Fit

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
        / "marre2014-salamander-retina-50" / "original_data_num_neurons_50_1.mat")


def phase_r2(values: np.ndarray, phase: np.ndarray, bins: int) -> np.ndarray:
    """R² of ``values`` (T, D) explained by their mean at each ``phase`` (T,) in 0..bins-1."""
    count = np.bincount(phase, minlength=bins)
    means = np.stack([np.bincount(phase, weights=v, minlength=bins) / count for v in values.T], 1)
    return 1 - (values - means[phase]).var(0) / values.var(0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fits", type=Path, required=True)
    ap.add_argument("--latents", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("-o", "--output", type=Path, default=Path("results/salamander_stimulus.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    rec = load_recording(DATA)
    train, test = stats.split_half(rec.samples().astype(np.int8), rec.repeats)
    bins = rec.samples().shape[0] // rec.repeats
    phase = np.arange(len(test)) % bins
    out: dict = {"population_count_r2": float(phase_r2(test.sum(1, keepdims=True).astype(float),
                                                        phase, bins)[0])}
    for k in args.latents:
        fit = Fit.load(args.fits / f"K{k}.pt", device="cpu")
        with torch.no_grad():
            mu, _ = fit.model.encode(fit.model.prepare(torch.as_tensor(test)))
        out[f"K={k}"] = {"latent_r2": phase_r2(mu.double().numpy(), phase, bins).tolist()}
    counts = train.reshape(-1, bins, train.shape[1]).sum(0).astype(np.float64)
    repeats = len(train) // bins
    tri = stats.triplet_indices(test.shape[1], 2000, 0)
    psth = stats.compare(stats.mixture_stats(counts / repeats, tri), stats.population_stats(test, tri))
    p = (counts + 0.5) / (repeats + 1)
    ll = float((test * np.log(p[phase]) + (1 - test) * np.log1p(-p[phase])).sum(1).mean())
    out["psth_model"] = {**psth, "n_parameters": int(p.size), "test_loglik_given_stimulus_nats": ll}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
