"""The capacity sweep's decision rule applied to the tuned salamander fits.

    python scripts/salamander_latents_needed.py --load-dir FITS --latents 1 2 3 4 5 8 -o results/capacity_salamander_tuned.json

FITS holds ``K{k}.pt`` from ``scripts/extraction_salamander.py --tuned ... --save-dir FITS``
(trained on the even repeats). Each K gets its held-out log-likelihood (the sweep's per-row
IWAE, :func:`napari_vaemf.core.capacity.per_sample_loglik`, k = the fit's iwae_k) on the
same random subset of odd-repeat bins, the paired standard error of its difference to the
best K on those bins, and its rate E_x KL(q(z|x) ‖ p(z)) on training bins; then
:func:`napari_vaemf.core.capacity.decide` (absolute tolerance 0.05 nats, relative 2e-3, 2 ×
paired s.e., as ``vaemf capacity``) picks the smallest K within tolerance of the best and
checks its rate against the bipartite-MI lower bound measured by
``scripts/capacity_acceptance.py salamander`` (results/capacity_salamander.json).
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import torch

from napari_vaemf.core.capacity import decide, per_sample_loglik
from napari_vaemf.core.recordings import load_recording
from napari_vaemf.core.stats import split_half
from napari_vaemf.core.vae import Fit

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data" / "marre2014-salamander-retina-50"
        / "original_data_num_neurons_50_1.mat")


@torch.no_grad()
def rate(fit: Fit, x: np.ndarray) -> float:
    mu, logvar = fit.model.encode(fit.model.prepare(torch.as_tensor(x)))
    return float(fit.model.kl(mu, logvar).sum(-1).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--load-dir", type=Path, required=True)
    ap.add_argument("--latents", type=int, nargs="+", default=[1, 2, 3, 4, 5, 8])
    ap.add_argument("--rows", type=int, default=30000, help="odd-repeat bins scored (random subset)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", type=Path, default=Path("results/capacity_salamander_tuned.json"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(1)
    rec = load_recording(DATA)
    train, test = split_half(rec.samples().astype(np.int8), rec.repeats)
    rng = np.random.default_rng(args.seed)
    rows_test = test[np.sort(rng.choice(len(test), min(args.rows, len(test)), replace=False))]
    rows_train = train[np.sort(rng.choice(len(train), min(args.rows, len(train)), replace=False))]
    ll, per_k = {}, []
    for k in args.latents:
        fit = Fit.load(args.load_dir / f"K{k}.pt", device="cpu")
        ll[k] = per_sample_loglik(fit, rows_test)  # IWAE with the fit's iwae_k, as the sweep
        per_k.append({"latents": k, "test_loglik_nats": float(ll[k].mean()),
                      "rate_nats": rate(fit, rows_train), "features": fit.config.features})
        logging.info("K=%d: %s", k, per_k[-1])
    best = max(ll, key=lambda k: ll[k].mean())
    for r in per_k:
        d = ll[r["latents"]] - ll[best]
        r["paired_se_nats"] = float(d.std(ddof=1) / np.sqrt(d.size)) if r["latents"] != best else 0.0
    cap = json.loads((ROOT / "results" / "capacity_salamander.json").read_text())
    mi = cap["results"][0]["bipartite_mi_nats"]
    needed, mean_field, tol, reasons = decide(per_k, mi["lower"], 0.05, 2e-3)
    out = {"load_dir": str(args.load_dir), "rows": len(rows_test), "iwae_k": fit.config.iwae_k,
           "bipartite_mi_lower_nats": mi["lower"], "per_k": per_k, "latents_needed": needed,
           "mean_field": mean_field, "tolerance_nats": tol, "reasons": reasons}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n")
    print("| K | held-out loglik (nats/bin) | paired s.e. vs best | rate (nats) |")
    print("|---|---|---|---|")
    for r in per_k:
        print(f"| {r['latents']} | {r['test_loglik_nats']:.4f} | {r['paired_se_nats']:.4f} | "
              f"{r['rate_nats']:.3f} |")
    print(f"latents needed: {needed} (mean field: {mean_field}); " + " ".join(reasons))


if __name__ == "__main__":
    main()
