"""The one rule for what kind of values an array holds, and what a fit sees of it.

Encodings of a recording: ``"counts"`` (spikes per bin), ``"binary"`` ({0, 1}), ``"spin"``
(±1) and ``"vector"`` ((T, N, 3) unit vectors). A fit sees binary, spin or vector data:
counts become binary (a unit is active in a bin when it spiked at least once).

No imports from the rest of the package: everything may import this module.
"""
from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["detect_encoding", "fitting_encoding", "FIT_ENCODINGS", "Encoding"]

Encoding = Literal["spin", "binary", "vector"]
FIT_ENCODINGS = ("binary", "spin", "vector")


def detect_encoding(x: np.ndarray) -> Encoding:
    """The encoding of configurations ``x``.

    (T, N, 3) -> "vector"; bool or unsigned -> "binary"; any -1 -> "spin"; else any 0 ->
    "binary"; all +1 -> "spin". Values are not checked here (see
    :func:`napari_vaemf.core.configs.validate_configurations`).
    """
    x = np.asarray(x)
    if x.ndim == 3:
        return "vector"
    if x.dtype == np.bool_ or x.dtype.kind == "u":
        return "binary"
    if x.size and (x < 0).any():
        return "spin"
    if x.size and (x == 0).any():
        return "binary"
    return "spin"  # all +1: read as spins


def fitting_encoding(recording_encoding: str) -> Encoding:
    """What a fit sees of a recording in ``recording_encoding``: counts -> "binary"."""
    return "binary" if recording_encoding == "counts" else recording_encoding  # type: ignore[return-value]
