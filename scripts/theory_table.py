"""The theory of a recording, judged on held-out data (issue 13, items 3 and 4), defaults only.

Cases (each as a user runs it, `vaemf` subprocesses, default settings unless stated):

- ``retina``: the salamander recording's even repeats written to a .mat file;
  `vaemf fit EVEN -o RUN --latents 2` (seeds 0 and 1), `vaemf extract RUN --theory
  generalized-hopfield` (energy.npz, attractors, quadratic share), the attractors of the two
  seeds matched; `vaemf validate RUN --data FULL --split odd-repeats --baselines independent,
  cms,rbm,hopfield1,hopfield2,hopfield3,hopfield-signed --rbm-hidden H` (H: the energy's
  projections) judges every model on the odd repeats.
- ``hopfield``: Hopfield N = 100, P = 3, β = 1.4, 50,000 training samples and 20,000 test
  samples of the same patterns (`vaemf simulate`); the same commands with ``--latents 3``;
  the true model's held-out log-likelihood (exact HS lattice) beside the strict fit's and the
  energy's, and the bits of the patterns (strict fit: the signs of its patterns; energy: its
  attractors) against the truth.

    python scripts/theory_table.py retina hopfield [-o results/theory_table.json] [--keep DIR]

``--keep DIR`` keeps the data and run folders (DIR/retina/even.mat, DIR/retina/run) for the
screenshot: ``xvfb-run -a python scripts/theory_screenshot.py --data DIR/retina/even.mat
--run DIR/retina/run``.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from _vaemf_cli import vaemf, write_cases

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
        / "marre2014-salamander-retina-50" / "original_data_num_neurons_50_1.mat")
BASELINES = "independent,cms,rbm,hopfield1,hopfield2,hopfield3,hopfield-signed"


def _fit_extract(data: Path, run: Path, latents: int, seed: int | None = None) -> dict:
    args = ["fit", str(data), "-o", str(run), "--latents", str(latents)]
    if seed is not None:
        args += ["--seed", str(seed)]
    fit_s, line = vaemf(*args)
    ex_s, _ = vaemf("extract", str(run), "--theory", "generalized-hopfield")
    ex = json.loads((run / "extraction.json").read_text())
    return {"fit_seconds": fit_s, "extract_seconds": ex_s, "cli": line,
            "attractors": ex["attractors"], "silent_state": ex["silent_state"],
            "quadratic_share": ex["quadratic_share"], "quadratic": ex["quadratic"]}


def _validate(run: Path, out: Path, *data_args: str) -> dict:
    from napari_vaemf.core.extraction.energy import load_energy

    hidden = load_energy(run / "energy.npz").patterns.shape[1]
    seconds, _ = vaemf("validate", str(run), *data_args, "-o", str(out), "--baselines", BASELINES,
                       "--rbm-hidden", str(hidden))
    v = json.loads((out / "validation.json").read_text())
    return {"validate_seconds": seconds, "rbm_hidden": hidden, "models": v["models"],
            "noise_floor": v.get("noise_floor"), "noise_floor_train_test": v.get("noise_floor_train_test")}


def retina(tmp: Path) -> dict:
    import scipy.io as sio

    from napari_vaemf.core import stats
    from napari_vaemf.core.extraction.attractors import match_attractors
    from napari_vaemf.core.recordings import load_recording

    rec = load_recording(DATA)
    even, _ = stats.split_half(rec.samples().astype(np.uint8), rec.repeats)
    f = tmp / "even.mat"
    sio.savemat(f, {"data": even}, do_compression=True)
    first = _fit_extract(f, tmp / "run", 2)
    second = _fit_extract(f, tmp / "run-seed1", 2, seed=1)
    row = {"case": "retina", "fit": first, "seed1": second,
           "attractor_match": match_attractors(first["attractors"], second["attractors"]),
           **_validate(tmp / "run", tmp / "val", "--data", str(DATA), "--split", "odd-repeats")}
    row["fit"]["vae_seconds"] = first["fit_seconds"]
    return row


def _strict_attractors(b: np.ndarray, w: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The local minima of E(s) = −b·s − ½|Wᵀs|² (±1 spins) reached by steepest single-flip
    descent from each row of ``s``, distinct, the largest basin (in rows) first (A, N)."""
    s, rows = np.unique(np.asarray(s, np.float64), axis=0, return_counts=True)
    j = w @ w.T
    diag = np.diag(j)
    while True:
        d_e = 2 * s * (b + s @ j) - 2 * diag  # energy change of flipping each spin
        best = d_e.argmin(1)
        move = d_e[np.arange(len(s)), best] < -1e-12
        if not move.any():
            break
        s[np.flatnonzero(move), best[move]] *= -1
    found, basin = np.unique(s, axis=0, return_inverse=True)
    size = np.bincount(basin.ravel(), weights=rows, minlength=len(found))
    return found[np.argsort(-size, kind="stable")]


def hopfield(tmp: Path) -> dict:
    from napari_vaemf.core.baselines._strict import StrictHopfield, fit_strict_hopfield
    from napari_vaemf.core.configs import load_configurations
    from napari_vaemf.core.extraction.energy import load_energy
    from napari_vaemf.core.extraction.attractors import attractor_summary
    from napari_vaemf.core.fitting import load_fit
    from napari_vaemf.core.stats import bits_right

    n, p, beta = 100, 3, 1.4
    train, test = tmp / "train.npz", tmp / "test.npz"
    vaemf("simulate", "hopfield", "--n", str(n), "--patterns", str(p), "--beta", str(beta),
          "--samples", "50000", "--seed", "1301", "-o", str(train), "--no-progress")
    xi = np.asarray(load_configurations(train).truth["patterns"], np.float64)
    np.save(tmp / "xi.npy", xi)
    vaemf("simulate", "hopfield", "--n", str(n), "--patterns", str(tmp / "xi.npy"), "--beta",
          str(beta), "--samples", "20000", "--seed", "1302", "-o", str(test), "--no-progress")
    x_test = load_configurations(test).configurations.astype(np.float64)
    truth_ll = StrictHopfield.of_patterns(xi, beta).loglik(x_test)
    first = _fit_extract(train, tmp / "run", p)
    row = {"case": "hopfield N=100 P=3 beta=1.4", "fit": first, "truth_test_loglik_nats": truth_ll,
           **_validate(tmp / "run", tmp / "val", "--data", str(test), "--train", str(train))}
    energy = load_energy(tmp / "run" / "energy.npz")
    found, _, _ = attractor_summary(energy, x_test)  # the retrieval states ±ξ_μ
    top = np.array([a["pattern"] for a in found[:2 * p]], np.float64) * 2 - 1
    row["energy_attractor_bits"] = float(bits_right(top.T, xi)[0]) if len(top) >= p else 0.0
    loaded = load_configurations(train)
    x_train = loaded.configurations
    row["train_sampler"] = {k: loaded.params.get(k) for k in ("chains", "thin", "burn_in")}
    strict = fit_strict_hopfield(x_train, p, "spin")  # the validate row's model, for its patterns
    # exp(b·s + ½|Wᵀs|²) is unchanged by W -> WR (R orthogonal): its columns are not the
    # patterns, its attractors are (as for the energy above)
    top = _strict_attractors(strict.b, strict.w, x_test)[: 2 * p]
    row["strict_bits"] = float(bits_right(top.T, xi)[0]) if len(top) >= p else 0.0
    row["strict_column_bits"] = float(bits_right(strict.w, xi)[0])
    row["strict_test_loglik_nats"] = strict.loglik(x_test)
    fit = load_fit(tmp / "run" / "model.pt", x=x_train)
    row["energy_test_loglik_nats"] = float(np.mean(energy.log_prob(x_test)))
    row["vae_test_loglik_nats"] = float(np.mean(fit.log_likelihood(x_test)))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="+", choices=["retina", "hopfield"])
    ap.add_argument("-o", "--output", type=Path, default=Path("results/theory_table.json"))
    ap.add_argument("--keep", type=Path, default=None, help="keep data and runs in this folder")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    old = json.loads(args.output.read_text()) if args.output.exists() else {}
    rows = dict(old.get("cases", {}))
    with tempfile.TemporaryDirectory(prefix="vaemf-theory-") as tmp:
        for name in args.cases:
            case_dir = (args.keep or Path(tmp)) / name
            case_dir.mkdir(parents=True)
            rows[name] = {**{"retina": retina, "hopfield": hopfield}[name](case_dir),
                          "load_average_1min_at_end": os.getloadavg()[0], "cpu_count": os.cpu_count()}
            write_cases(args.output, "scripts/theory_table.py", rows)
    logging.info("wrote %s", args.output)


if __name__ == "__main__":
    main()
