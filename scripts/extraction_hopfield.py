"""Acceptance: Hopfield pattern matrices read off the decoder vs peers on the same samples.

    python scripts/extraction_hopfield.py --regimes all -o results/extraction_hopfield.json

Per regime: equilibrium samples (parallel tempering, project sampler), a product-decoder VAE
with K = P (decoder kind picked by held-out ELBO), the Hopfield read-off, and the peers
k-means (2P clusters), PCA of the correlation matrix, PCA + FastICA, BernoulliRBM (P hidden).
Reports bits right after sign/permutation matching.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
from scipy.linalg import hadamard

from napari_vaemf.core import baselines as bl
from napari_vaemf.core.extraction import extract
from napari_vaemf.core.progress import drive
from napari_vaemf.core.samplers import sample_hopfield
from napari_vaemf.core.stats import bits_right

from _extraction_common import fit_vae

REGIMES = {
    "orthogonal": dict(n=128, p=5, beta=1.15, samples=20000, orthogonal=True),
    "unequal": dict(n=128, p=5, beta=1.05, samples=5000, orthogonal=False),
    "n200": dict(n=200, p=4, beta=1.4, samples=20000, orthogonal=False),
    "paramagnetic": dict(n=128, p=3, beta=0.8, samples=50000, orthogonal=False),
    "n1000": dict(n=1000, p=10, beta=1.4, samples=20000, orthogonal=False),
}


def run_regime(name: str, r: dict, epochs: int, seed: int, decoders: tuple[str, ...] = ("mlp", "identity"),
               min_steps: int = 6000, samples: int | None = None) -> dict:
    t0 = time.perf_counter()
    r = {**r, "samples": samples or r["samples"]}
    patterns = None
    if r["orthogonal"]:
        # Walsh columns 1, 2, 4, 8, ...: orthogonal, balanced and independent (columns such
        # as 3 = 1 x 2 would make other ±1 vectors with the same couplings ξξᵀ exist, so
        # the patterns would not be identifiable from the distribution at all)
        patterns = hadamard(r["n"])[:, [2**k for k in range(r["p"])]].astype(np.int8)
    ss = drive(sample_hopfield(r["n"], r["p"], r["beta"], samples=r["samples"], seed=seed,
                               patterns=patterns), bar=False)
    x, xi = ss.configurations, ss.truth["patterns"]
    out = {"regime": name, **r, "sample_seconds": time.perf_counter() - t0}
    fit, info = fit_vae(x, "spin", r["p"], epochs=epochs, seed=seed, decoders=decoders,
                        min_steps=min_steps)
    ex = extract(fit, "hopfield", seed=seed)
    out["vae"] = bits_right(ex.patterns, xi)[0]
    out["vae_info"] = info
    out["beta_read_off"] = ex.parameters["beta"]
    out["confidence"] = ex.diagnostics["pattern_confidence"]
    out["kmeans"] = bits_right(bl.kmeans_patterns(x, r["p"], seed=seed), xi)[0]
    out["pca"] = bits_right(bl.pca_patterns(x, r["p"]), xi)[0]
    out["pca_ica"] = bits_right(bl.pca_ica_patterns(x, r["p"], seed=seed), xi)[0]
    out["rbm"] = bits_right(bl.rbm_patterns(x, r["p"], seed=seed), xi)[0]
    out["seconds"] = time.perf_counter() - t0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--regimes", default="orthogonal,unequal,n200,paramagnetic")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--decoders", default="mlp,identity", help="decoder kinds tried (best held-out ELBO kept)")
    ap.add_argument("--min-steps", type=int, default=6000, help="optimisation steps at least")
    ap.add_argument("--samples", type=int, default=None, help="override the regime's sample count")
    ap.add_argument("-o", "--output", type=Path, default=Path("results/extraction_hopfield.json"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    names = list(REGIMES) if args.regimes == "all" else args.regimes.split(",")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    rows = json.loads(args.output.read_text()) if args.output.exists() else {}
    for name in names:
        rows[name] = run_regime(name, REGIMES[name], args.epochs, args.seed,
                                tuple(args.decoders.split(",")), args.min_steps, args.samples)
        args.output.write_text(json.dumps(rows, indent=2, default=float) + "\n")
        logging.info("%s: %s", name, {k: rows[name][k] for k in
                                      ("vae", "kmeans", "pca", "pca_ica", "rbm", "beta_read_off")})
    print("| regime | N | P | β | samples | read-off | k-means | PCA | PCA+ICA | RBM | β read off |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows.values():
        print(f"| {r['regime']} | {r['n']} | {r['p']} | {r['beta']} | {r['samples']} | "
              f"{100 * r['vae']:.2f} % | {100 * r['kmeans']:.2f} % | {100 * r['pca']:.2f} % | "
              f"{100 * r['pca_ica']:.2f} % | {100 * r['rbm']:.2f} % | {r['beta_read_off']:.3f} |")


if __name__ == "__main__":
    main()
