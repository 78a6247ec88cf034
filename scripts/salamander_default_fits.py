"""The salamander retina fitted with `vaemf fit` at default settings (K = 1 and 2): held-out
log-likelihood, wall time and the stimulus-locked share of the latent variance (issue 15).

    python scripts/salamander_default_fits.py -o results/salamander_default_fits.json [--runs DIR]

Each fit is the plain command `vaemf fit RETINA -o DIR/k<K> --latents K`; with --runs the
fits already in DIR/k1, DIR/k2 are read instead of refitted.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

RETINA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / \
    "marre2014-salamander-retina-50" / "original_data_num_neurons_50_1.mat"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--runs", type=Path, default=Path("runs/salamander_default"))
    ap.add_argument("--reuse", action="store_true", help="read existing runs, do not refit")
    args = ap.parse_args(argv)
    out = {"command": "vaemf fit RETINA -o RUN --latents K", "load_average_before": os.getloadavg()[0]}
    for k in (1, 2):
        run = args.runs / f"k{k}"
        if not args.reuse:
            t0 = time.perf_counter()
            subprocess.run(["vaemf", "fit", str(RETINA), "-o", str(run), "--latents", str(k)],
                           check=True)
            out[f"k{k}_wall_seconds"] = round(time.perf_counter() - t0, 1)
        rep = json.loads((run / "report.json").read_text())
        share = rep["stimulus_locked"]
        out.update({f"k{k}_test_loglik_nats": rep["test_loglik_nats"],
                    f"k{k}_epochs": rep["epochs"], f"k{k}_train_seconds": rep["train_seconds"],
                    f"k{k}_split": rep["data"]["split"],
                    f"k{k}_stimulus_locked_share": share["stimulus_locked_share"],
                    f"k{k}_trial_to_trial_share": share["trial_to_trial_share"]})
    args.output.write_text(json.dumps(out, indent=1) + "\n")
    sys.stdout.write(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
