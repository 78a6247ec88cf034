"""Whether the exact (quadrature) engine can take a data set: the affordability rule.

The cost of one training pass is the data term over every (distinct pattern, lattice node)
pair: n_distinct × n_units × nodes multiply-adds (gather-adds for sparse patterns), plus one
exp per (pattern, node). Measured on one shared CPU thread: the salamander retina (25,535
distinct patterns, 50 cells, K = 2 on 797 nodes, 1.0e9 per pass) trains at about 0.8 s per
epoch; Curie-Weiss N = 100 (45,000 patterns, K = 1, 129 nodes, 5.8e8) at about 0.15 s.
The default budget, :data:`MAX_WORK` = 2e10 per pass, is about 20 s per epoch: a fit of
40-60 epochs in 15-20 minutes at one thread. Tensor grids need n^K nodes, so K > 3 is
declined outright, as are N > :data:`MAX_UNITS` units, whose posteriors (width ~ 1/sqrt(N)
in field space) need lattices too fine to pay for.
"""
from __future__ import annotations

from dataclasses import dataclass

from napari_vaemf.core.exact._grid import MAX_LATENTS, lattice_grid

__all__ = ["Affordability", "exact_affordable", "MAX_WORK", "MAX_UNITS"]

MAX_UNITS = 1000  # posteriors narrow like 1/sqrt(N): thousands of units need too fine a grid
MAX_WORK = 2e10  # distinct patterns × units × nodes per training pass (≈ 20 s at one thread)


@dataclass(frozen=True)
class Affordability:
    """The rule's answer: ``ok``, the ``reason`` (always set), and the numbers behind it."""

    ok: bool
    reason: str
    nodes: int  # training-lattice nodes assumed
    work: float  # n_distinct × n_units × nodes, multiply-adds per training pass


def exact_affordable(n_units: int, latents: int, n_distinct: int, nodes: int | None = None,
                     max_work: float = MAX_WORK, max_units: int = MAX_UNITS) -> Affordability:
    """Whether an exact fit of ``latents`` latents to ``n_distinct`` distinct patterns (pass the
    number of rows T when it is not known; it is an upper bound) of ``n_units`` units fits the
    budget. ``nodes``: training-lattice nodes (default: the lattice :class:`ExactConfig`
    uses for that K). Declines K outside 1..3, N > ``max_units``, or a pass costing more than
    ``max_work`` multiply-adds; ``reason`` says which (or the cost when accepted)."""
    from napari_vaemf.core.exact.config import TRAIN_NODES

    ok_k = 1 <= latents <= MAX_LATENTS
    if nodes is None:
        nodes = lattice_grid(latents, TRAIN_NODES[latents]).size if ok_k else 0
    work = float(n_distinct) * float(n_units) * float(nodes)
    if not ok_k:
        return Affordability(False, f"K = {latents}: the exact engine takes 1 to {MAX_LATENTS} latents "
                                    f"(tensor grids grow as n^K)", nodes, work)
    if n_units > max_units:
        return Affordability(False, f"N = {n_units} units > {max_units}: posteriors too sharp for a "
                                    f"lattice", nodes, work)
    if work > max_work:
        return Affordability(False, f"{n_distinct} distinct patterns × {n_units} units × {nodes} nodes "
                                    f"= {work:.2g} > {max_work:.2g} per pass", nodes, work)
    return Affordability(True, f"{work:.2g} multiply-adds per pass ({n_distinct} patterns × "
                               f"{n_units} units × {nodes} nodes)", nodes, work)
