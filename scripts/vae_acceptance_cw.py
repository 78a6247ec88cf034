"""Acceptance of the VAE engine on exact Curie-Weiss data (issue 4).

N = 100, βJ = 1.2, 50,000 exact samples (core.samplers.sample_curie_weiss), 10 % held out.
A 1-latent VAE must (a) reproduce the exact P(M) with its own samples, KL(P_exact || P_vae)
< 0.01 nats, and (b) reach a held-out IWAE log-likelihood within 0.05 nats/sample of the
exact mean log-probability of the held-out samples.

    python scripts/vae_acceptance_cw.py [--threads 2] [--epochs 200] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from napari_vaemf.core.progress import drive
from napari_vaemf.core.samplers import curie_weiss_log_prob, curie_weiss_pm, sample_curie_weiss
from napari_vaemf.core.vae import Fit, VAEConfig


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--beta-j", type=float, default=1.2)
    ap.add_argument("--samples", type=int, default=50_000)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train-k", type=int, default=8, help="importance samples in the training bound")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--model-samples", type=int, default=500_000)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    data = drive(sample_curie_weiss(args.n, args.beta_j, samples=args.samples, seed=args.seed), bar=False)
    x = data.configurations
    fit = Fit(x, "spin", VAEConfig(latents=1, epochs=args.epochs, seed=args.seed, device="cpu",
                                        train_k=args.train_k, batch_size=args.batch_size))
    t0 = time.perf_counter()
    drive(fit.train(), desc="train", bar=sys.stderr.isatty())
    train_s = time.perf_counter() - t0
    ev = fit.evaluate()
    exact_ll = float(curie_weiss_log_prob(x[fit.test_index], args.beta_j).mean())

    m_vals, pm = curie_weiss_pm(args.n, args.beta_j)
    s = fit.sample(args.model_samples, seed=args.seed + 1).sum(1, dtype=np.int64)
    q = np.bincount((s + args.n) // 2, minlength=args.n + 1) / len(s)
    q_reg = (q + 1e-12) / (q + 1e-12).sum()
    kl = float(np.sum(pm * (np.log(pm) - np.log(q_reg))))
    data_q = np.bincount((x.sum(1, dtype=np.int64) + args.n) // 2, minlength=args.n + 1) / len(x)
    kl_data = float(np.sum(pm * (np.log(pm) - np.log((data_q + 1e-12) / (data_q + 1e-12).sum()))))
    out = {
        "n": args.n, "beta_j": args.beta_j, "samples": args.samples, "epochs_run": fit.epoch,
        "train_k": args.train_k, "batch_size": args.batch_size,
        "train_seconds": round(train_s, 2), "threads": args.threads,
        "samples_per_second": fit.metrics["samples_per_second"],
        "test_loglik_nats": ev["test_loglik_nats"], "iwae_k": ev["iwae_k"],
        "exact_mean_logp_nats": exact_ll, "loglik_gap_nats": exact_ll - ev["test_loglik_nats"],
        "test_elbo_nats": ev["test_elbo_nats"], "rate_nats": ev["rate_nats"],
        "kl_pm_nats": kl, "model_samples": args.model_samples,
        "kl_pm_of_the_data_itself_nats": kl_data,
    }
    out["pass_kl"] = kl < 0.01
    out["pass_loglik"] = abs(out["loglik_gap_nats"]) < 0.05
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return 0 if out["pass_kl"] and out["pass_loglik"] else 1


if __name__ == "__main__":
    sys.exit(main())
