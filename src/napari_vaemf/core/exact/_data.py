"""Distinct binary patterns with their counts (the exact engine trains on these, not on rows)."""
from __future__ import annotations

import numpy as np

from napari_vaemf.core.errors import InputError

__all__ = ["distinct_patterns", "as_01"]


def as_01(x: np.ndarray, encoding: str) -> np.ndarray:
    """{0, 1} int8 copy of binary data, or of spins by (s + 1) / 2 (the model's convention)."""
    x = np.asarray(x)
    if encoding not in ("binary", "spin"):
        raise InputError(None, f"the exact engine takes binary or spin data, not {encoding!r}")
    if x.ndim != 2:
        raise InputError(None, f"{encoding} data must have shape (T, N), got {x.shape}")
    allowed = (0, 1) if encoding == "binary" else (-1, 1)
    if x.size and not np.isin(x, allowed).all():
        raise InputError(None, f"{encoding} data must hold only {allowed}")
    return ((x + 1) // 2).astype(np.int8) if encoding == "spin" else x.astype(np.int8)


def distinct_patterns(x01: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of a {0, 1} array (T, N), their counts and where each row went.

    Returns ``(patterns, counts, inverse)``: (U, N) int8 rows in a fixed (byte-sorted) order,
    (U,) int64 counts summing to T, and (T,) indices with ``patterns[inverse] == x01``. Rows
    are packed to bytes first, so this is one sort of T short byte strings.
    """
    x01 = np.asarray(x01, dtype=np.uint8)
    if x01.ndim != 2:
        raise InputError(None, f"patterns must be a (T, N) array, got shape {x01.shape}")
    if len(x01) == 0:
        return np.zeros((0, x01.shape[1]), np.int8), np.zeros(0, np.int64), np.zeros(0, np.int64)
    packed = np.ascontiguousarray(np.packbits(x01, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True,
                                          return_counts=True)
    return x01[first].astype(np.int8), counts.astype(np.int64), inverse.ravel().astype(np.int64)
