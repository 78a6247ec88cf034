"""Acceptance runs of issue 5 (capacity): Curie-Weiss, Hopfield, 2-D Ising, salamander.

    python scripts/capacity_acceptance.py cw         [--samples 6000 --epochs 40]
    python scripts/capacity_acceptance.py hopfield   [--samples 6000 --max-latents 5]
    python scripts/capacity_acceptance.py ising      [--sizes 8 16 24 --max-latents 3]
    python scripts/capacity_acceptance.py salamander [--max-samples 60000]

Each run writes results/capacity_<case>.json and logs one table row per system.
Sizes default to what a shared 2-core machine finishes in minutes; raise them for the
full protocol (more samples, seeds and epochs).
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from napari_vaemf.core.capacity import (
    CapacitySettings,
    capacity_sweep,
    compare_sizes,
    default_partitions,
    exact_estimates,
    headline_mi,
)
from napari_vaemf.core.progress import drive
from napari_vaemf.core.vae import VAEConfig

log = logging.getLogger("capacity_acceptance")
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def _sweep(x, encoding, a, *, layout=None, directions=None, reference_of=None,
           test_index=None):
    parts = default_partitions(x.shape[1], layout, 1, a.seed)
    ref = reference_of(parts) if reference_of else []
    cfg = VAEConfig(epochs=a.epochs, batch_size=a.batch_size, seed=a.seed, device="cpu",
                    patience=a.patience)
    st = CapacitySettings(layout=layout, random_partitions=1, infonce=not a.no_infonce,
                          model_mi=False, seed=a.seed, tolerance_nats=a.tolerance,
                          decoders=tuple(a.decoders))
    return drive(capacity_sweep(x, encoding, a.max_latents, a.seeds, config=cfg,
                                settings=st, partitions=parts, directions=directions,
                                reference=ref, test_index=test_index), bar=False)


def _row(name, rep):
    mi = headline_mi(rep.bipartite_mi)
    rows = {r["latents"]: r for r in rep.per_k()}
    k = rep.latents_needed
    rate = rows[k]["rate_nats"] if k else None
    ex = f"{mi['exact']:.3f}" if mi.get("exact") is not None else "-"
    log.info("%s | exact %s | MI %.3f [%.3f, %.3f] (%s) | needed %s | rate %s | mean_field %s | "
             "ll %s", name, ex, mi["estimate"], mi["lower"], mi["upper"], mi["method"], k,
             None if rate is None else round(rate, 3), rep.mean_field,
             [round(r["test_loglik_nats"], 3) for r in rows.values()])
    return {"name": name, **rep.to_json()}


def run_cw(a):
    from napari_vaemf.core.samplers import sample_curie_weiss

    out = []
    for bj in a.beta_j:
        s = drive(sample_curie_weiss(a.n, bj, samples=a.samples, seed=a.seed), bar=False)
        rep = _sweep(s.configurations, "spin", a,
                     reference_of=lambda p: exact_estimates(s.model, s.params, s.truth, p))
        out.append(_row(f"CW N={a.n} betaJ={bj}", rep))
    return out


def run_hopfield(a):
    from napari_vaemf.core.samplers import sample_hopfield

    s = drive(sample_hopfield(a.n, n_patterns=a.patterns, beta=a.beta, samples=a.samples,
                              seed=a.seed), bar=False)
    rep = _sweep(s.configurations, "spin", a, directions=s.truth["patterns"])
    return [_row(f"Hopfield N={a.n} P={a.patterns} beta={a.beta}", rep)]


def run_ising(a):
    from napari_vaemf.core.samplers import sample_ising2d

    reps, out = {}, []
    for length in a.sizes:
        s = drive(sample_ising2d(length, samples=a.samples, seed=a.seed), bar=False)
        reps[length * length] = _sweep(s.configurations, "spin", a, layout=(length, length))
    growth = compare_sizes(reps)
    log.info("size comparison: %s", growth)
    for n, rep in reps.items():
        out.append(_row(f"2-D Ising L={int(round(n ** 0.5))} beta_c", rep))
    out.append({"name": "size comparison", **growth})
    return out


def run_salamander(a):
    from napari_vaemf.core.recordings import load_recording

    path = DATA / "marre2014-salamander-retina-50" / "original_data_num_neurons_50_1.mat"
    rec = load_recording(path)
    x = rec.samples().astype(np.int8)
    reps = rec.repeats or 297
    bins = x.shape[0] // reps
    r = x.reshape(reps, bins, -1)
    train, test = r[0::2].reshape(-1, x.shape[1]), r[1::2].reshape(-1, x.shape[1])
    if a.max_samples:  # evenly spaced subsets of both (whole structure kept)
        train = train[np.linspace(0, len(train) - 1, a.max_samples // 2).astype(int)]
        test = test[np.linspace(0, len(test) - 1, a.max_samples // 2).astype(int)]
    xx = np.concatenate([train, test])
    rep = _sweep(xx, "binary", a, test_index=np.arange(len(train), len(xx)))
    return [_row(f"salamander 50 cells (train even / test odd repeats, {len(xx)} bins)", rep)]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("case", choices=("cw", "hopfield", "ising", "salamander"))
    p.add_argument("--n", type=int, default=None, help="units (CW 100, Hopfield 200)")
    p.add_argument("--beta-j", type=float, nargs="+", default=[0.5, 1.0, 1.5, 2.0])
    p.add_argument("--patterns", type=int, default=4)
    p.add_argument("--beta", type=float, default=1.4)
    p.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 24])
    p.add_argument("--samples", type=int, default=6000)
    p.add_argument("--max-samples", type=int, default=60000)
    p.add_argument("--max-latents", type=int, default=None)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--decoders", nargs="+", default=["mlp"], choices=("mlp", "identity"),
                   help="decoder kinds tried per fit (best on validation wins)")
    p.add_argument("--tolerance", type=float, default=0.05)
    p.add_argument("--patience", type=int, default=8, help="early-stopping patience (epochs)")
    p.add_argument("--no-infonce", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("results"))
    a = p.parse_args()
    a.n = a.n or {"cw": 100, "hopfield": 200}.get(a.case, 0)
    a.max_latents = a.max_latents or {"cw": 2, "hopfield": 5, "ising": 3, "salamander": 3}[a.case]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("napari_vaemf").setLevel(logging.WARNING)
    torch.set_num_threads(1)
    t0 = time.time()
    out = {"cw": run_cw, "hopfield": run_hopfield, "ising": run_ising,
           "salamander": run_salamander}[a.case](a)
    a.out.mkdir(parents=True, exist_ok=True)
    path = a.out / f"capacity_{a.case}.json"
    path.write_text(json.dumps({"args": {k: str(v) for k, v in vars(a).items()},
                                "seconds": time.time() - t0, "results": out}, indent=1))
    log.info("wrote %s in %.0f s", path, time.time() - t0)


if __name__ == "__main__":
    main()
