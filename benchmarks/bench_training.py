"""VAE training speed on this machine: throughput, time to converge, and per-step time
against a plain reference training loop.

    python benchmarks/bench_training.py [--threads 2] [--device auto] [--json out.json]

Workloads
- salamander retina (even repeats, 141,441 bins x 50 cells, binary), K = 2;
- Hopfield N = 1000, P = 3, beta = 1.4 (20,000 samples from core.samplers), K = 3.

For each: ``Fit.train()`` with the default VAEConfig until early stopping (``train_seconds``,
``samples_per_second``, ``converge_seconds`` = time until the held-out -ELBO first came within
0.01 nats/sample of its final best), then the per-step time of ``Fit`` and of a reference loop
written the obvious way (DataLoader over a TensorDataset with shuffle, sigmoid + BCE,
``loss.item()`` every step), same architecture and batch size. ``speedup`` is reference
time per step / Fit time per step. The machine may be shared with other jobs: each timing is
the best of ``--repeats``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from napari_vaemf.core.progress import drive
from napari_vaemf.core.vae import Fit, VAEConfig, pick_device

SALAMANDER = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
              / "marre2014-salamander-retina-50" / "original_data_num_neurons_50_1.mat")


def _salamander() -> np.ndarray | None:
    if not SALAMANDER.is_file():
        return None
    from napari_vaemf.core.recordings import load_recording

    x = load_recording(SALAMANDER, repeats=297).samples().astype(np.int8)
    return x.reshape(297, 953, -1)[0::2].reshape(-1, x.shape[1])


def _hopfield() -> np.ndarray:
    from napari_vaemf.core.samplers import sample_hopfield

    s = drive(sample_hopfield(1000, n_patterns=3, beta=1.4, samples=20000, seed=0), bar=False)
    return ((s.configurations + 1) // 2).astype(np.int8)  # spins -> {0, 1}: fit as binary


class _RefVAE(nn.Module):
    """The same architecture as ProductVAE (binary), written plainly."""

    def __init__(self, n: int, k: int, cfg: VAEConfig):
        super().__init__()
        h = cfg.encoder_widths[0]
        self.enc = nn.Sequential(nn.Linear(n, h), nn.ELU(), nn.Linear(h, 2 * k))
        g = cfg.decoder_widths[0]
        self.g = nn.Sequential(nn.Linear(k, g), nn.Tanh(), nn.Linear(g, k))
        self.readout = nn.Linear(k, n)

    def forward(self, x):
        mu, logvar = self.enc(x).chunk(2, dim=-1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        p = torch.sigmoid(self.readout(z + self.g(z)))
        rec = F.binary_cross_entropy(p, x, reduction="none").sum(1).mean()
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(1).mean()
        return rec + kl


def _reference_step_time(x: np.ndarray, cfg: VAEConfig, steps: int, device) -> float:
    torch.manual_seed(0)
    model = _RefVAE(x.shape[1], cfg.latents, cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loader = DataLoader(TensorDataset(torch.tensor(x, dtype=torch.float32)),
                        batch_size=cfg.batch_size, shuffle=True)
    done, losses = 0, []
    t0 = None
    while done < steps + 5:
        for (xb,) in loader:
            if done == 5:  # warm-up steps excluded
                t0 = time.perf_counter()
            loss = model(xb.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            done += 1
            if done >= steps + 5:
                break
    return (time.perf_counter() - t0) / steps


def _fit_step_time(x: np.ndarray, cfg: VAEConfig, steps: int) -> float:
    n_train = int(len(x) * (1 - cfg.holdout))
    per_epoch = -(-n_train // cfg.batch_size)
    epochs = max(1, -(-(steps + per_epoch) // per_epoch))
    fit = Fit(x, "binary", VAEConfig(**{**cfg.to_dict(), "epochs": epochs, "patience": 10**6}))
    job = fit.train()
    t0 = None
    for rec in job:
        if t0 is None and fit.step >= 5:
            t0, s0 = time.perf_counter(), fit.step
        if t0 is not None and fit.step - s0 >= steps:
            break
    elapsed = time.perf_counter() - t0
    n = fit.step - s0
    job.close()
    return elapsed / n  # includes the per-epoch held-out evaluation it crossed, as in real use


def _bench(name: str, x: np.ndarray, latents: int, args) -> dict:
    cfg = VAEConfig(latents=latents, device=args.device, seed=0)
    fit = Fit(x, "binary", cfg)
    t0 = time.perf_counter()
    drive(fit.train(), bar=False)
    wall = time.perf_counter() - t0
    best = fit.best_test_neg_elbo
    conv = next(h["elapsed"] for h in fit.history if h["test_neg_elbo"] <= best + 0.01)
    steps = args.steps
    ours = min(_fit_step_time(x, cfg, steps) for _ in range(args.repeats))
    ref = min(_reference_step_time(x, cfg, steps, fit.device) for _ in range(args.repeats))
    row = {
        "workload": name, "samples": len(x), "units": x.shape[1], "latents": latents,
        "device": str(fit.device), "threads": torch.get_num_threads(),
        "batch_size": cfg.batch_size, "epochs_run": fit.epoch, "train_seconds": round(wall, 2),
        "converge_seconds": round(conv, 2), "samples_per_second": round(fit.metrics["samples_per_second"]),
        "best_heldout_neg_elbo": round(best, 4),
        "fit_ms_per_step": round(1e3 * ours, 3), "reference_ms_per_step": round(1e3 * ref, 3),
        "speedup": round(ref / ours, 2),
    }
    print(json.dumps(row), flush=True)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--steps", type=int, default=200, help="steps timed per per-step measurement")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--only", choices=("salamander", "hopfield"), default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    if args.only in (None, "salamander"):
        x = _salamander()
        if x is None:
            print(f"salamander data not found at {SALAMANDER}; skipped", file=sys.stderr)
        else:
            rows.append(_bench("salamander (even repeats)", x, 2, args))
    if args.only in (None, "hopfield"):
        rows.append(_bench("Hopfield N=1000 P=3", _hopfield(), 3, args))
    out = {"device": str(pick_device(args.device)), "threads": args.threads, "rows": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
