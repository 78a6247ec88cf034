"""Where the curved decoder class's posteriors are narrow: the widths behind its read-off gap.

    python scripts/hopfield_posterior_widths.py [-o results/hopfield_posterior_widths.json]

The samples of ``hopfield_readoff_resolution.py`` (Hopfield N = 100, P = 3, β = 1.4, seeds
1301/1302; 50,000 training and the first 5,000 of its 20,000 test samples), the exact
engine's curved class alone (H = 16, what the default race kept before the strict Hopfield
class joined it; the same fit, step for step). On the evaluation grid, for every test row: the posterior
p(z_g | x) over the nodes, its mean and covariance; reported: the smallest and largest
posterior standard deviation (square roots of the covariance's eigenvalues) by distance of
the posterior mean from the prior's centre, the training lattice's spacing in z, and the
aggregate posterior (the test rows' posteriors averaged) against the prior: its mean and
covariance, and how many nodes hold 99 % of its mass against 99 % of the prior's. A lattice
that only covered the aggregate posterior's mass would save nodes only where the two differ.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

import _hopfield_case as case


def main(argv=None) -> int:
    from napari_vaemf.core.exact.config import ExactConfig
    from napari_vaemf.core.exact.fit import ExactFit
    from napari_vaemf.core.progress import drive

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default="results/hopfield_posterior_widths.json")
    ap.add_argument("--rows", type=int, default=5000, help="test rows whose posteriors are measured")
    args = ap.parse_args(argv)
    p = case.P
    train, test = case.samples()
    t0 = time.perf_counter()
    fit = ExactFit(train.configurations, "spin", ExactConfig(latents=p, features=16))
    drive(fit.train(), bar=False)
    seconds = time.perf_counter() - t0
    grid, model = fit.grid, fit.model
    z = grid.nodes
    agg = np.zeros(grid.size)
    means, evs = [], []
    x = test.configurations[: args.rows]
    for a in range(0, len(x), 500):  # (rows, nodes) float64 posteriors, a chunk at a time
        post = model.posterior(model.prepare(x[a:a + 500]), grid)
        agg += post.sum(0)
        m = post @ z
        cov = np.einsum("bg,gi,gj->bij", post, z, z) - np.einsum("bi,bj->bij", m, m)
        means.append(m)
        evs.append(np.linalg.eigvalsh(cov))
    agg /= len(x)
    mean, ev = np.concatenate(means), np.clip(np.concatenate(evs), 0, None)
    sd_min, sd_max = np.sqrt(ev[:, 0]), np.sqrt(ev[:, -1])
    radius = np.linalg.norm(mean, axis=1)
    a_mean = agg @ z
    a_cov = (agg[:, None] * z).T @ z - np.outer(a_mean, a_mean)

    def nodes_for(w: np.ndarray, share: float = 0.99) -> int:
        return int(np.searchsorted(np.cumsum(np.sort(w)[::-1]), share) + 1)

    spacing = lambda g: (2 * g.half_width / (g.n - 1)  # noqa: E731
                         * np.linalg.svd(g.axes, compute_uv=False)).tolist()
    by_radius = []
    for lo, hi in ((0, 0.5), (0.5, 1.0), (1.0, 1.5), (1.5, 2.0), (2.0, 3.0), (3.0, np.inf)):
        s = (radius >= lo) & (radius < hi)
        if s.any():
            by_radius.append({"radius": [lo, None if np.isinf(hi) else hi], "share": float(s.mean()),
                              "median_sd_min": float(np.median(sd_min[s])),
                              "median_sd_max": float(np.median(sd_max[s]))})
    q = [0.05, 0.25, 0.5, 0.75, 0.95]
    out = {"command": "python scripts/hopfield_posterior_widths.py",
           "parameters": {**case.PARAMETERS, "rows": len(x)},
           "fit_seconds": round(seconds, 1), "features_kept": fit.features,
           "training_lattice": {"nodes_per_axis": fit.lattice.n, "nodes": int(fit.lattice.size),
                                "spacing_z": spacing(fit.lattice)},
           "evaluation_grid": {"nodes_per_axis": grid.n, "nodes": int(grid.size),
                               "spacing_z": spacing(grid)},
           "quantiles": q, "sd_min_quantiles": np.quantile(sd_min, q).tolist(),
           "sd_max_quantiles": np.quantile(sd_max, q).tolist(), "by_radius": by_radius,
           "aggregate_mean": a_mean.tolist(), "aggregate_cov_eigenvalues": np.linalg.eigvalsh(a_cov).tolist(),
           "nodes_99_aggregate": nodes_for(agg), "nodes_99_prior": nodes_for(grid.weights),
           "cpu_count": os.cpu_count()}
    with open(args.output, "w") as fh:
        json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
