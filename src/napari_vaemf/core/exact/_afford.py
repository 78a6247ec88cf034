"""Whether the exact (quadrature) engine can take a data set: the affordability rule."""
from __future__ import annotations

from dataclasses import dataclass

from napari_vaemf.core.exact._grid import MAX_LATENTS

__all__ = ["Affordability", "exact_affordable", "MAX_WORK", "MAX_UNITS"]

MAX_UNITS = 1000  # posteriors narrow like 1/sqrt(N): thousands of units need too fine a grid
MAX_WORK = 2e10  # distinct patterns × units × nodes per pass (≈ 10 s per pass at one thread)


@dataclass(frozen=True)
class Affordability:
    """The rule's answer: ``ok``, the ``reason`` (always set), and the numbers behind it."""

    ok: bool
    reason: str
    nodes: int  # grid nodes assumed
    work: float  # n_distinct × n_units × nodes, multiply-adds per pass


def exact_affordable(n_units: int, latents: int, n_distinct: int, nodes: int = 16384,
                     max_work: float = MAX_WORK, max_units: int = MAX_UNITS) -> Affordability:
    """Decline when K > 3 (tensor grids), N > ``max_units`` or the data term of one pass,
    ``n_distinct`` × ``n_units`` × ``nodes``, exceeds ``max_work``."""
    work = float(n_distinct) * float(n_units) * float(nodes)
    if not 1 <= latents <= MAX_LATENTS:
        return Affordability(False, f"K = {latents}: the exact engine takes 1 to {MAX_LATENTS} latents",
                             nodes, work)
    if n_units > max_units:
        return Affordability(False, f"N = {n_units} units > {max_units}", nodes, work)
    if work > max_work:
        return Affordability(False, f"{n_distinct} distinct patterns × {n_units} units × {nodes} "
                                    f"nodes = {work:.2g} > {max_work:.2g} per pass", nodes, work)
    return Affordability(True, f"{work:.2g} multiply-adds per pass", nodes, work)
