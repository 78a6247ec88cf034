"""The size rule of a capacity sweep: does what the data need grow with the system's size?

A mean-field system needs the same few order parameters at every size; a critical or
short-range system needs more as it grows. :func:`compare_sizes` compares sweeps of several
sizes; :func:`sublattice_rule` makes the second size from the file itself (the L/2 x L/2
corner sub-lattice of the same configurations), so the rule needs no other recording.
"""
from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from napari_vaemf.core.capacity._report import CapacityReport, headline_mi
from napari_vaemf.core.progress import Job

__all__ = ["compare_sizes", "sublattice", "sublattice_rule"]

log = logging.getLogger(__name__)


def sublattice(x: np.ndarray, side: int, sub: int) -> np.ndarray:
    """The ``sub`` x ``sub`` corner block of every configuration of a ``side`` x ``side``
    lattice (rows of ``x`` are row-major lattices), as (T, sub²) rows."""
    return np.ascontiguousarray(x.reshape(len(x), side, side)[:, :sub, :sub].reshape(len(x), -1))


def sublattice_rule(x: np.ndarray, encoding: str, test_index: np.ndarray, settings, config,
                    report: CapacityReport, k_max: int, seeds: int, store=None) -> Job[dict]:
    """Sweep the L/2 x L/2 sub-lattice of the same configurations (same held-out rows and
    settings) and apply :func:`compare_sizes` to it and ``report`` (which it may mark not
    mean-field). Returns the comparison with the sub-lattice's own verdict numbers."""
    from napari_vaemf.core.capacity._sweep import capacity_sweep
    from napari_vaemf.core.capacity._tasks import sweep_key

    side = int(settings.layout[0])
    sub = side // 2
    xs = sublattice(x, side, sub)
    sst = replace(settings, layout=(sub, sub), control="none", size_rule=False)
    sstore = None
    if store is not None:
        sstore = store.with_key(sweep_key(xs, test_index, encoding, sst, sst.vae_config()),
                                f"sub{sub}-")
    log.info("size rule: sweeping the %dx%d sub-lattice of the same configurations", sub, sub)
    small = yield from capacity_sweep(xs, encoding, k_max, seeds, config=config,
                                      test_index=test_index, settings=sst, store=sstore)
    growth = compare_sizes({sub * sub: small, side * side: report})
    return {"rule": f"bipartite MI and needed rate of the {sub}x{sub} sub-lattice vs the "
                    f"{side}x{side} lattice (same configurations)",
            **growth, "sub_latents_needed": small.latents_needed,
            "sub_engine": small.settings.get("engine"), "sub_reasons": small.reasons}


def compare_sizes(reports: dict[int, CapacityReport]) -> dict:
    """Across system sizes: does the needed rate / bipartite MI grow with size?

    Growth counts only when every step up in size raises the number by more than its
    uncertainty (MI: the interval; rate: twice the seed std). When both grow, every report
    but the smallest is marked ``mean_field = False`` with the reason.
    """
    sizes = sorted(reports)
    mi, rate = [], []
    for size in sizes:
        rep = reports[size]
        head = headline_mi(rep.bipartite_mi)
        mi.append((head["estimate"], head["lower"], head["upper"]))
        rows = {r["latents"]: r for r in rep.per_k()}
        k = rep.latents_needed or max(rows)
        rate.append((rows[k]["rate_nats"], rows[k]["rate_std"]))
    mi_grows = all(b[1] > a[2] for a, b in zip(mi, mi[1:]))
    rate_grows = all(b[0] - 2 * b[1] > a[0] + 2 * a[1] for a, b in zip(rate, rate[1:]))
    if mi_grows and rate_grows:
        for size in sizes[1:]:
            reports[size].mean_field = False
            reports[size].reasons.append(
                "Size rule: the bipartite MI and the needed rate grow with system size "
                f"({', '.join(str(s) for s in sizes)}): no finite set of order parameters.")
    return {"sizes": sizes, "mi": [m[0] for m in mi], "needed_rate": [r[0] for r in rate],
            "mi_grows": mi_grows, "rate_grows": rate_grows}
