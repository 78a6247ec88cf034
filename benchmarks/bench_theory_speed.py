"""Wall time of the theory read-off's two slow parts, side by side with the recipes they replace.

    python benchmarks/bench_theory_speed.py [-o results/theory_speed.json] [--rows 10000]

1. The strict generalized Hopfield fit with P = 3 patterns (`vaemf validate --baselines
   hopfield3`, and the quadratic share of `vaemf extract --theory generalized-hopfield`):
   Adam's lattice of 20 nodes per axis (the old default, L-BFGS polish on 40^3 nodes) against
   :data:`~napari_vaemf.core.baselines._strict.FIT_NODES` [3], on the salamander retina (even
   repeats fitted, odd judged) and on Hopfield equilibrium samples (N = 100, P = 3, β = 1.4,
   the theory page's case); held-out log-likelihood with log Z re-checked on a 64^3 lattice.
2. Zero-temperature descent of the read-off energy (the attractors of `vaemf extract`): the
   old recipe (the node posterior by scipy's softmax of a + s·Lᵀ, 4096 rows a block) against
   :func:`~napari_vaemf.core.extraction.attractors.descend`, from the first ``--rows``
   training samples of the Hopfield case on the energy of its default exact fit (K = 3);
   both must end every row in the same attractor.

Ratios are old seconds / new seconds. The machine may be shared: the JSON states its load.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.special import softmax

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import _hopfield_case as case  # noqa: E402
from _vaemf_cli import write_result  # noqa: E402
from theory_table import DATA  # noqa: E402

OLD_NODES = 20  # fit_strict_hopfield's lattice before FIT_NODES


def _strict_row(name: str, x_train: np.ndarray, x_test: np.ndarray, spin: bool) -> dict:
    from napari_vaemf.core.baselines import _strict as strict

    row = {"case": name, "patterns": 3}
    for label, nodes in (("old", OLD_NODES), ("new", strict.FIT_NODES[3])):
        t0 = time.perf_counter()
        fit = strict.fit_strict_hopfield(x_train, 3, "spin" if spin else "binary", nodes=nodes)
        seconds = time.perf_counter() - t0
        checked = strict.hs_log_partition(fit.b, fit.w, spin, 64)
        row[label] = {"nodes": nodes, "seconds": seconds,
                      "test_loglik_nats": fit.loglik(x_test) + fit.log_z - checked,
                      "log_z_error": fit.log_z - checked}
    row["ratio"] = row["old"]["seconds"] / row["new"]["seconds"]
    return row


def _old_descend(energy, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The descent as it was: scipy softmax of a + s·Lᵀ (full rank), 4096 rows a block."""
    from napari_vaemf.core.extraction.attractors import _parts

    x01 = np.rint(energy._x01(x)).astype(np.uint8)
    a, big_l = _parts(energy)
    c_up, c_down = big_l.max(0), (-big_l).max(0)
    e_up, e_down = np.exp(big_l - c_up[None, :]), np.exp(-big_l - c_down[None, :])
    state, inverse = np.unique(x01, axis=0, return_inverse=True)
    active = np.arange(len(state))
    for _ in range(4 * x01.shape[1]):
        if not active.size:
            break
        moving = np.zeros(active.size, bool)
        for i in range(0, active.size, 4096):
            rows = active[i:i + 4096]
            s = state[rows].astype(np.float64)
            post = softmax(a[None, :] + s @ big_l.T, axis=1)
            with np.errstate(divide="ignore"):
                up = np.log(post @ e_up) + c_up[None, :]
                down = np.log(post @ e_down) + c_down[None, :]
            gain = np.where(s > 0, down - energy.fields[None, :], up + energy.fields[None, :])
            best = gain.argmax(1)
            move = gain[np.arange(len(rows)), best] > 1e-10
            state[rows[move], best[move]] ^= 1
            moving[i:i + 4096] = move
        active = active[moving]
    attractors, which = np.unique(state, axis=0, return_inverse=True)
    return attractors, which.reshape(-1)[inverse.reshape(-1)]


def _descent_row(x_train: np.ndarray, rows: int) -> dict:
    from napari_vaemf.core.exact.config import ExactConfig
    from napari_vaemf.core.exact.fit import ExactFit
    from napari_vaemf.core.extraction.attractors import descend
    from napari_vaemf.core.extraction.energy import energy_of
    from napari_vaemf.core.progress import drive

    fit = ExactFit(x_train, "spin", ExactConfig(latents=3))
    drive(fit.train(), bar=False)
    energy = energy_of(fit)
    x = x_train[:rows]
    t0 = time.perf_counter()
    old_pats, old_which = _old_descend(energy, x)
    t1 = time.perf_counter()
    new_pats, new_which = descend(energy, x)
    t2 = time.perf_counter()
    same = bool(np.array_equal(old_pats[old_which], new_pats[new_which]))
    return {"case": f"Hopfield N={case.N} P={case.P} beta={case.BETA}, default exact fit K=3",
            "rows": int(len(x)), "nodes": int(energy.nodes.shape[0]),
            "projections": int(energy.patterns.shape[1]), "attractors": int(len(new_pats)),
            "old_seconds": t1 - t0, "new_seconds": t2 - t1, "ratio": (t1 - t0) / (t2 - t1),
            "same_attractor_every_row": same}


def main(argv=None) -> int:
    from napari_vaemf.core import stats
    from napari_vaemf.core.recordings import load_recording

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "results" / "theory_speed.json")
    ap.add_argument("--rows", type=int, default=10000, help="Hopfield samples descended")
    args = ap.parse_args(argv)
    rec = load_recording(DATA)
    even, odd = stats.split_half(rec.samples().astype(np.uint8), rec.repeats)
    train, test = case.samples()
    xtr, xte = train.configurations, test.configurations
    out = {"command": "python benchmarks/bench_theory_speed.py",
           "strict": [_strict_row("salamander retina, even repeats -> odd", even, odd, False),
                      _strict_row(f"Hopfield N={case.N} P={case.P} beta={case.BETA}", xtr, xte, True)],
           "descent": _descent_row(xtr, args.rows)}
    write_result(args.output, out)
    for r in out["strict"]:
        print(f"strict P=3 {r['case']}: {r['old']['seconds']:.1f} s -> {r['new']['seconds']:.1f} s "
              f"(x{r['ratio']:.1f}), held-out {r['old']['test_loglik_nats']:.5f} -> "
              f"{r['new']['test_loglik_nats']:.5f}")
    d = out["descent"]
    print(f"descent of {d['rows']} rows: {d['old_seconds']:.1f} s -> {d['new_seconds']:.1f} s "
          f"(x{d['ratio']:.1f}), same attractors: {d['same_attractor_every_row']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
