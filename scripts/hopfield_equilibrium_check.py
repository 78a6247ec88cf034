"""Strict Hopfield fit against the true model, on samples from the default sampler and from the
sampler as it was (every sweep recorded, 64 chains): how much of the held-out gap was the
samples' correlation.

    python scripts/hopfield_equilibrium_check.py [-o results/hopfield_equilibrium_check.json]

Hopfield N = 100, P = 3, β = 1.4 (the theory table's case): 50,000 training and 20,000 test
samples of the same patterns (seeds 1301, 1302). The true model's log-likelihood uses log Z
by the exact Hubbard-Stratonovich lattice; the fit is ``fit_strict_hopfield`` (what
``vaemf validate --baselines hopfield3`` fits). The mean |magnetization| of the training
samples is 0 in the true model (h = 0): its size shows how unevenly a sample set visits
the ±ξ retrieval states.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import _hopfield_case as case


def one(label: str, **sampler) -> dict:
    from napari_vaemf.core.baselines._strict import StrictHopfield, fit_strict_hopfield

    p, beta = case.P, case.BETA
    t0 = time.perf_counter()
    train, test = case.samples(**sampler)
    xi = train.truth["patterns"]
    sample_s = time.perf_counter() - t0
    x, y = train.configurations.astype(np.float64), test.configurations.astype(np.float64)
    true_model = StrictHopfield.of_patterns(xi, beta)
    truth = {"train": true_model.loglik(x), "test": true_model.loglik(y)}
    t0 = time.perf_counter()
    fit = fit_strict_hopfield(train.configurations, p, "spin")
    fit_s = time.perf_counter() - t0
    d = train.params["diagnostics"]
    return {"sampler": label, "options": sampler, "chains": train.params["chains"],
            "thin": train.params["thin"], "tau_int_m1_sweeps": d["tau_int_m1_sweeps"],
            "sampling_seconds": round(sample_s, 1), "fit_seconds": round(fit_s, 1),
            "mean_abs_magnetization": float(np.abs(x.mean(0)).mean()),
            "truth_train_loglik_nats": truth["train"], "truth_test_loglik_nats": truth["test"],
            "strict_train_loglik_nats": fit.loglik(x), "strict_test_loglik_nats": fit.loglik(y),
            "test_gap_nats": truth["test"] - fit.loglik(y),
            "train_excess_nats": fit.loglik(x) - truth["train"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default="results/hopfield_equilibrium_check.json")
    args = ap.parse_args(argv)
    rows = [one("default"), one("every sweep, 64 chains (before)", chains=64, thin=1)]
    out = {"command": "python scripts/hopfield_equilibrium_check.py", "rows": rows,
           "parameters": case.PARAMETERS}
    with open(args.output, "w") as fh:
        json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
