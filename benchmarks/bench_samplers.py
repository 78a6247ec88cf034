"""Sampler throughput on this machine: Hopfield spin updates/s, samples/s for the others.

    python benchmarks/bench_samplers.py [--repeats 3] [--json out.json]

Hopfield (N=1000, P=10, beta=1.4): counts every single-spin Gibbs update of every tempering
replica (sweeps x temperatures x chains x N) over the wall time of the whole job (burn-in
and recording included). The other lines count recorded configurations per second. The best
of ``--repeats`` runs is reported (the machine may be shared).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from napari_vaemf.core.progress import drive
from napari_vaemf.core.samplers import (
    BETA_C,
    sample_curie_weiss,
    sample_hopfield,
    sample_ising2d,
    sample_maier_saupe,
)


def _best(make, repeats):
    best, res = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = drive(make(), bar=False)
        best = min(best, time.perf_counter() - t0)
    return best, res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--chains", type=int, default=256, help="Hopfield chains per temperature")
    ap.add_argument("--json", default=None, help="also write the numbers here")
    args = ap.parse_args(argv)
    out = {}

    c = args.chains
    dt, res = _best(lambda: sample_hopfield(1000, 10, beta=1.4, samples=c * 40, chains=c,
                                            burn_in=60, seed=0), args.repeats)
    p = res.params
    updates = p["diagnostics"]["sweeps"] * p["n_temperatures"] * p["chains"] * p["n"]
    out["hopfield_spin_updates_per_s"] = updates / dt
    out["hopfield_setup"] = (f"N=1000 P=10 beta=1.4, {p['chains']} chains x "
                             f"{p['n_temperatures']} temperatures, {p['diagnostics']['sweeps']} sweeps")

    dt, res = _best(lambda: sample_curie_weiss(1000, 1.2, samples=20000, seed=0), args.repeats)
    out["curie_weiss_samples_per_s"] = 20000 / dt
    out["curie_weiss_setup"] = "N=1000 betaJ=1.2, exact sampler"

    dt, res = _best(lambda: sample_maier_saupe(400, 9.0, samples=32 * 40, chains=32,
                                               burn_in=60, seed=0), args.repeats)
    p = res.params
    out["maier_saupe_samples_per_s"] = 32 * 40 / dt
    out["maier_saupe_vector_updates_per_s"] = (
        p["diagnostics"]["sweeps"] * p["n_temperatures"] * p["chains"] * p["n"] / dt)
    out["maier_saupe_setup"] = (f"N=400 betaJ=9, {p['chains']} chains x {p['n_temperatures']} "
                                f"temperatures, {p['diagnostics']['sweeps']} sweeps")

    for length in (16, 64):
        t = 2000 if length == 16 else 320
        dt, res = _best(lambda: sample_ising2d(length, BETA_C, samples=t, seed=0), args.repeats)
        out[f"ising2d_L{length}_samples_per_s"] = t / dt
        out[f"ising2d_L{length}_setup"] = (f"L={length} beta_c, {res.params['chains']} chains, "
                                           f"thin={res.params['thin']} Wolff flips")

    for key, value in out.items():
        shown = f"{value:.3g}" if isinstance(value, float) else value
        sys.stdout.write(f"{key:36s} {shown}\n")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
