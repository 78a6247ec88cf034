"""The default fit against the tuned amortized recipe it replaces, side by side on the retina.

Both are the command a user runs, on the same file (the even repeats of the salamander
recording, written to a .mat), judged by the same code on the odd repeats:

- default: ``vaemf fit EVEN -o RUN --latents 2`` (the exact quadrature engine);
- tuned amortized recipe (the first round's best VAE, results/extraction_salamander_tuned.json):
  ``vaemf fit EVEN -o RUN --latents 2 --method vae --features 16 --train-k 32
  --lr-schedule onecycle --epochs 60 --batch-size 256``.

Judge: held-out log-likelihood per bin of the odd repeats (exact for the default; the IWAE
bound with k = 128 for the VAE), and the model's statistics against the odd repeats' (exact
for the grid model; for the VAE exact given z over 10^6 prior draws, as ``vaemf validate``).
Prints the ratio of wall times (whole commands) and writes both rows with the machine's load.

    python benchmarks/bench_exact_default.py [-o results/bench_exact_default.json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
        / "marre2014-salamander-retina-50" / "original_data_num_neurons_50_1.mat")
TUNED = ["--method", "vae", "--features", "16", "--train-k", "32", "--lr-schedule", "onecycle",
         "--epochs", "60", "--batch-size", "256"]


def run_fit(data: Path, run: Path, extra: list[str]) -> dict:
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "napari_vaemf.cli", "fit", str(data), "-o", str(run),
                           "--latents", "2", *extra], capture_output=True, text=True, check=True)
    return {"wall_seconds": time.perf_counter() - t0, "load_1min_before": load0,
            "load_1min_after": os.getloadavg()[0], "cli": done.stdout.strip(),
            "command": "vaemf fit EVEN -o RUN --latents 2 " + " ".join(extra)}


def judge(run: Path, even: np.ndarray, odd: np.ndarray) -> dict:
    from napari_vaemf.core import stats
    from napari_vaemf.core.fitting import load_fit

    fit = load_fit(run, x=even.astype(np.int8))
    tri = stats.triplet_indices(odd.shape[1], 2000, 0)
    data_stats = stats.population_stats(odd, tri)
    if getattr(fit, "method", "vae") == "exact":
        model_stats, how = fit.stats(tri), "exact (grid model)"
    else:
        model_stats = stats.mixture_stats(fit.prior_probabilities(1_000_000, seed=0), tri)
        how = "exact given z over 10^6 prior draws"
    row = {"method": getattr(fit, "method", "vae"), "test_loglik_nats": float(
        fit.evaluate(odd.astype(np.int8))["test_loglik_nats"]), "statistics": how,
        "epochs": fit.epoch, "train_seconds": fit.train_seconds, **stats.compare(model_stats, data_stats)}
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=Path("results/bench_exact_default.json"))
    args = ap.parse_args(argv)
    import scipy.io as sio

    from napari_vaemf.core.recordings import load_recording
    from napari_vaemf.core.stats import split_half

    rec = load_recording(DATA)
    even, odd = split_half(rec.samples().astype(np.uint8), rec.repeats)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="vaemf-bench-") as tmp:
        f = Path(tmp) / "even.mat"
        sio.savemat(f, {"data": even}, do_compression=True)
        for name, extra in (("default", []), ("tuned_amortized", TUNED)):
            run = Path(tmp) / name
            rows[name] = run_fit(f, run, extra)
            rows[name].update(judge(run, even, odd))
            print(name, json.dumps(rows[name], default=float), flush=True)
    ratio = rows["tuned_amortized"]["wall_seconds"] / rows["default"]["wall_seconds"]
    out = {"rows": rows, "wall_time_ratio_tuned_over_default": ratio, "cpu_count": os.cpu_count(),
           "train_rows": len(even), "test_rows": len(odd),
           "command": "python benchmarks/bench_exact_default.py"}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=1, default=float) + "\n")
    print(f"tuned amortized recipe / default wall time: {ratio:.1f}x "
          f"({rows['tuned_amortized']['wall_seconds']:.0f} s vs {rows['default']['wall_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
