"""Acceptance: salamander retina, VAE (K latents) and the generalized Hopfield model read off
it vs the independent model, CMS and an RBM, judged on held-out repeats.

    python scripts/extraction_salamander.py --latents 1 2 3 5 8 -o results/extraction_salamander.json

Train on the even repeats, judge samples of every model on the odd repeats: firing rates
(relative RMS), covariance correlation, KL(P_K data ‖ P_K model), triplet correlation,
held-out log-likelihood (IWAE for the VAE, exact for the independent model and the RBM,
importance-sampled log Z for the generalized Hopfield model), number of parameters; the
split-half noise floor (odd repeats: their own even vs odd halves) sets the scale.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from napari_vaemf.core.extraction.validation import ValidationSettings, validate
from napari_vaemf.core.progress import drive
from napari_vaemf.core.recordings import load_recording
from napari_vaemf.core.stats import split_half

from _extraction_common import fit_vae

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
        / "marre2014-salamander-retina-50" / "original_data_num_neurons_50_1.mat")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latents", type=int, nargs="+", default=[1, 2, 3, 5, 8])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--samples", type=int, default=100000)
    ap.add_argument("--baselines-at", type=int, default=2,
                    help="K whose CMS (K patterns) / RBM (2K hidden) rows are computed")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", type=Path, default=Path("results/extraction_salamander.json"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    rec = load_recording(DATA)
    x = rec.samples().astype(np.int8)
    train, test = split_half(x, rec.repeats)  # even repeats, odd repeats
    args.output.parent.mkdir(parents=True, exist_ok=True)
    rows = json.loads(args.output.read_text()) if args.output.exists() else {}
    for k in args.latents:
        t0 = time.perf_counter()
        fit, info = fit_vae(train, "binary", k, epochs=args.epochs, seed=args.seed,
                            decoders=("mlp",), batch_size=512, warmup=5.0)
        base = ("independent", "cms", "rbm") if k == args.baselines_at else ()
        settings = ValidationSettings(samples=args.samples, baselines=base, seed=args.seed)
        v = drive(validate(fit, test, train, None, settings, repeats=rec.repeats // 2), bar=False)
        rows[f"K={k}"] = {"latents": k, "vae_fit": info, **v.to_json(),
                          "seconds": time.perf_counter() - t0}
        args.output.write_text(json.dumps(rows, indent=2, default=float) + "\n")
        logging.info("K=%d done in %.0f s", k, time.perf_counter() - t0)
    cols = ("rates_rel_rms", "cov_corr", "kl_pk", "triplet_corr", "test_loglik_nats", "n_parameters")
    print("| model | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    first = next(iter(rows.values()))
    nf = first["noise_floor"]
    print("| noise floor (split half) | " + " | ".join(
        f"{nf[c]:.4g}" if c in nf else "-" for c in cols) + " |")
    for key, r in rows.items():
        for name, m in r["models"].items():
            label = f"{key} {'VAE' if name == 'vae' else 'gen. Hopfield' if name == 'theory' else name}"
            print(f"| {label} | " + " | ".join(
                f"{m[c]:.4g}" if isinstance(m.get(c), (int, float)) else "-" for c in cols) + " |")


if __name__ == "__main__":
    main()
