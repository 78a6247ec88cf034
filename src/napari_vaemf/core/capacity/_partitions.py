"""Bipartitions of the units into two halves A and B.

The capacity bound is about *every* bipartition, so the tools evaluate several: random
halves (no structure assumed), contiguous halves when the units have an order, and the
two straight cuts of a square lattice (left/right, top/bottom) for lattice models.
"""
from __future__ import annotations

import math

from dataclasses import dataclass

import numpy as np

from napari_vaemf.core.errors import ParameterError

__all__ = ["Bipartition", "random_halves", "contiguous_halves", "lattice_halves",
           "default_partitions"]


@dataclass(frozen=True)
class Bipartition:
    """Two disjoint sets of unit indices that together cover all units."""

    name: str  # short label, e.g. "random-0", "contiguous", "lattice-left-right"
    a: np.ndarray  # indices of the units in half A (sorted, int64)
    b: np.ndarray  # indices of the units in half B (sorted, int64)

    def __post_init__(self) -> None:
        a = np.sort(np.asarray(self.a, dtype=np.int64))
        b = np.sort(np.asarray(self.b, dtype=np.int64))
        if a.size == 0 or b.size == 0:
            raise ParameterError(f"bipartition {self.name!r}: both halves need units")
        if np.intersect1d(a, b).size:
            raise ParameterError(f"bipartition {self.name!r}: halves overlap")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)

    @property
    def n(self) -> int:
        return int(self.a.size + self.b.size)

    def as_dict(self) -> dict:
        """JSON-able description (indices as lists)."""
        return {"name": self.name, "a": self.a.tolist(), "b": self.b.tolist()}


def _check_n(n: int) -> None:
    if n < 2:
        raise ParameterError(f"need at least 2 units to cut in halves, got {n}")


def random_halves(n: int, count: int = 3, seed: int = 0) -> list[Bipartition]:
    """``count`` random half/half splits of ``n`` units (A gets ``n // 2`` units)."""
    _check_n(n)
    rng = np.random.default_rng(seed)
    out = []
    for c in range(count):
        perm = rng.permutation(n)
        out.append(Bipartition(f"random-{c}", perm[: n // 2], perm[n // 2:]))
    return out


def contiguous_halves(n: int) -> Bipartition:
    """Units ``0 .. n//2 - 1`` against the rest (for units with a meaningful order)."""
    _check_n(n)
    idx = np.arange(n)
    return Bipartition("contiguous", idx[: n // 2], idx[n // 2:])


def lattice_halves(length: int) -> list[Bipartition]:
    """Left/right and top/bottom halves of a ``length x length`` lattice (row-major units)."""
    if length < 2:
        raise ParameterError(f"lattice side must be >= 2, got {length}")
    grid = np.arange(length * length).reshape(length, length)
    h = length // 2
    return [
        Bipartition("lattice-left-right", grid[:, :h].ravel(), grid[:, h:].ravel()),
        Bipartition("lattice-top-bottom", grid[:h, :].ravel(), grid[h:, :].ravel()),
    ]


def resolve_layout(cuts: str, model: str | None, n: int) -> str | tuple[int, int] | None:
    """The layout of ``n`` units for the ``cuts`` setting: (L, L) for ``lattice`` (and for
    ``auto`` on 2-D Ising files, ``model == "ising2d"``), ``"ordered"``, or None."""
    side = int(round(math.sqrt(n)))
    if cuts == "lattice" or (cuts == "auto" and model == "ising2d"):
        if side * side != n:
            raise ParameterError(f"--cuts lattice needs a square number of units, got {n}")
        return (side, side)
    return "ordered" if cuts == "ordered" else None


def default_partitions(n: int, layout: str | tuple[int, int] | None = None,
                       random: int = 2, seed: int = 0) -> list[Bipartition]:
    """The bipartitions the capacity report evaluates by default.

    ``layout`` is None (units unordered: random halves only), ``"ordered"`` (add the
    contiguous halves) or ``(L, L)`` (a square lattice: add its two straight cuts).
    """
    parts: list[Bipartition] = []
    if isinstance(layout, tuple):
        if len(layout) != 2 or layout[0] != layout[1] or layout[0] * layout[1] != n:
            raise ParameterError(f"layout {layout} is not a square lattice of {n} units")
        parts += lattice_halves(layout[0])
    elif layout == "ordered":
        parts.append(contiguous_halves(n))
    elif layout is not None:
        raise ParameterError(f"unknown layout {layout!r} (None, 'ordered' or (L, L))")
    parts += random_halves(n, random, seed)
    return parts
