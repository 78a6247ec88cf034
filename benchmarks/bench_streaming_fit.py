"""A Neuropixels-sized recording fitted without ever being dense: peak memory and throughput
of ``vaemf fit`` streaming from bits, beside the same fit on a 1/16 slice held in memory.

    python benchmarks/bench_streaming_fit.py [--units 2000] [--hours 4] [--json results/bench_streaming_fit.json]

1. Writes a synthetic NWB file (``--units`` Poisson units over ``--hours`` h, each unit's
   log-rate linear in 3 smooth latent processes, mean rate ~4.9 Hz: about 1.4e8 spikes at
   2,000 units x 4 h) with pynwb, its spike times written unit by unit through h5py.
2. ``vaemf fit FILE -o RUN --latents 3 --epochs 2 --bin-size 0.01`` in a child process: its
   peak RSS (``ru_maxrss``, imports included), wall time, the training throughput
   (``samples_per_second`` of report.json), the path that ran and latents.npy's length.
3. The first 1/16 of the session (``--t-stop``): the same command, whose raster is small
   enough to be held in memory (prepared float32 on the device), and the same fit streamed
   from bits through the Python API (``prepare(..., stream=True)``); the two held-out
   log-likelihoods and the throughput ratio full-streamed / slice-in-memory.

Run it on an otherwise idle machine (timings); the NWB file goes to ``--workdir``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BIN = 0.01  # s: the fit's bin size and the generator's time step
RATE_HZ = 4.86  # mean rate: 2,000 units x 4 h -> 1.4e8 spikes


def latent_processes(n_bins: int, rng: np.random.Generator, k: int = 3, tau_bins: float = 200.0) -> np.ndarray:
    """(n_bins, k) float32 unit-variance AR(1) processes with correlation time ``tau_bins``."""
    from scipy.signal import lfilter

    a = np.exp(-1.0 / tau_bins)
    noise = rng.standard_normal((n_bins, k))
    noise[0] /= np.sqrt(1 - a * a)  # start in the stationary state
    return lfilter([np.sqrt(1 - a * a)], [1.0, -a], noise, axis=0).astype(np.float32)


def write_session(path: Path, n_units: int, hours: float, seed: int = 0) -> dict:
    """The synthetic NWB session (see the module docstring); returns its sizes."""
    import h5py
    from datetime import datetime, timezone

    from pynwb import NWBHDF5IO, NWBFile

    rng = np.random.default_rng(seed)
    n_bins = int(round(hours * 3600 / BIN))
    z = latent_processes(n_bins, rng)
    nwb = NWBFile(session_description="synthetic Neuropixels-sized session: Poisson units driven by 3 latents",
                  identifier=f"vaemf-bench-{n_units}x{hours}h", session_start_time=datetime(2026, 1, 1, tzinfo=timezone.utc))
    for _ in range(n_units):  # the table's skeleton; the spike times are written below
        nwb.add_unit(spike_times=[0.0])
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    weights = rng.normal(0, 0.5, (n_units, 3)).astype(np.float32)
    total = 0
    with h5py.File(path, "r+") as f:
        g = f["units"]
        attrs_t, attrs_i = dict(g["spike_times"].attrs), dict(g["spike_times_index"].attrs)
        del g["spike_times"], g["spike_times_index"]
        times = g.create_dataset("spike_times", shape=(0,), maxshape=(None,), dtype="f8", chunks=(1 << 20,))
        ends = np.zeros(n_units, np.int64)
        for u in range(n_units):
            log_rate = z @ weights[u]
            lam = np.exp(log_rate - 0.5 * float(weights[u] @ weights[u])) * (RATE_HZ * BIN)
            counts = rng.poisson(lam)
            k = np.repeat(np.arange(n_bins), counts)
            t = np.sort((k + rng.random(k.size)) * BIN)
            times.resize((total + t.size,))
            times[total:] = t
            total += t.size
            ends[u] = total
        index = g.create_dataset("spike_times_index", data=ends)
        for k, v in attrs_t.items():
            times.attrs[k] = v
        for k, v in attrs_i.items():
            index.attrs[k] = times.ref if k == "target" else v
    return {"units": n_units, "hours": hours, "bins": n_bins, "spikes": int(total),
            "cells": int(n_units) * n_bins, "dense_float32_gb": round(4 * n_units * n_bins / 1e9, 2),
            "file_gb": round(path.stat().st_size / 1e9, 3)}


def run_measured(cmd: list[str]) -> dict:
    """Run ``cmd`` in a child of a fresh Python: wall seconds and the child's peak RSS (MB)."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "r = subprocess.run(sys.argv[1:]); w = time.perf_counter() - t; "
             "print(r.returncode, w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True)
    line = out.stdout.strip().splitlines()[-1].split()
    if int(line[0]) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    return {"wall_seconds": round(float(line[1]), 1), "peak_rss_mb": round(int(line[2]) / 1024, 1)}


def fit_cmd(path: Path, run: Path, method: str, *extra: str) -> list[str]:
    vaemf = str(Path(sys.executable).with_name("vaemf"))
    return [vaemf, "fit", str(path), "-o", str(run), "--latents", "3", "--epochs", "2",
            "--bin-size", str(BIN), "--method", method, *extra]


def streamed_slice(path: Path, t_stop: float, method: str) -> dict:
    """The slice's fit streamed from bits (Python API, same settings as the CLI's)."""
    from napari_vaemf.core.data import prepare
    from napari_vaemf.core.fitting import new_fit
    from napari_vaemf.core.progress import drive
    from napari_vaemf.core.recordings import load_recording
    from napari_vaemf.core.vae.config import VAEConfig

    rec = load_recording(path, bin_size=BIN, t_stop=t_stop, lazy=True)
    config = VAEConfig(latents=3, epochs=2, method=method)
    data = prepare(rec, config.holdout, config.seed, stream=True)
    fit = new_fit(data, config)
    drive(fit.train(), bar=False)
    ev = fit.evaluate()
    return {"streamed": not fit.on_device, "samples_per_second": fit.metrics["samples_per_second"],
            "train_seconds": fit.metrics["train_seconds"], "test_loglik_nats": ev["test_loglik_nats"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=2000)
    ap.add_argument("--hours", type=float, default=4.0)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/vaemf_bench_streaming"))
    ap.add_argument("--method", default="auto", help="--method of the fits (auto: the product's "
                    "choice, the VAE at 2,000 units; vae for small trial runs, where auto takes exact)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / f"session_{args.units}x{args.hours:g}h.nwb"
    t = time.perf_counter()
    session = write_session(path, args.units, args.hours)
    session["write_seconds"] = round(time.perf_counter() - t, 1)
    sys.stderr.write(f"wrote {path}: {session}\n")
    load = os.getloadavg()[0]

    full = run_measured(fit_cmd(path, args.workdir / "run_full", args.method))
    rep = json.loads((args.workdir / "run_full" / "report.json").read_text())
    n_lat = len(np.load(args.workdir / "run_full" / "latents.npy", mmap_mode="r"))
    full.update(samples_per_second=rep["samples_per_second"], train_seconds=rep["train_seconds"],
                test_loglik_nats=rep["test_loglik_nats"], method=rep["method"],
                streamed=rep["data"].get("streamed"), engine_reason=rep["engine_reason"],
                latents_rows=n_lat, bins=rep["n_samples"])

    t_stop = args.hours * 3600 / 16
    mem = run_measured(fit_cmd(path, args.workdir / "run_slice", args.method, "--t-stop", str(t_stop)))
    rep_s = json.loads((args.workdir / "run_slice" / "report.json").read_text())
    mem.update(samples_per_second=rep_s["samples_per_second"], train_seconds=rep_s["train_seconds"],
               test_loglik_nats=rep_s["test_loglik_nats"], streamed=rep_s["data"].get("streamed"),
               bins=rep_s["n_samples"])
    stream = streamed_slice(path, t_stop, args.method)

    out = {
        "session": session,
        "full_streamed": full,
        "slice_in_memory": mem,
        "slice_streamed": stream,
        "throughput_ratio_slice_in_memory_over_full_streamed": round(
            mem["samples_per_second"] / full["samples_per_second"], 3),
        "slice_loglik_difference_nats": abs(mem["test_loglik_nats"] - stream["test_loglik_nats"]),
        "latents_every_bin": full["latents_rows"] == full["bins"] == session["bins"],
        "load_average_1min_before": round(load, 2), "cpu_count": os.cpu_count(),
        "command": "python benchmarks/bench_streaming_fit.py --json results/bench_streaming_fit.json",
    }
    sys.stdout.write(json.dumps(out, indent=1) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
