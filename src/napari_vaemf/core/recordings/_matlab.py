"""MATLAB files: v5/v7 through scipy, v7.3 (HDF5) through h5py.

A file holds a raster (2-D numeric counts/binary/±1 array) or a spike list ((n, 2) rows of
[unit id, time in s]). The variable is chosen by ``variable=`` or, when there is exactly one
numeric 2-D candidate, automatically.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = ["read_mat_arrays", "pick_variable"]

log = logging.getLogger(__name__)


def _mat_version(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(128)
    if len(head) < 128 or not head.startswith(b"MATLAB"):
        if head.startswith(b"\x89HDF"):
            return "7.3"
        raise InputError(path, "not a MATLAB .mat file (no MATLAB header)")
    return "7.3" if b"MATLAB 7.3" in head[:20] else "5"


def read_mat_arrays(path) -> dict[str, np.ndarray]:
    """All numeric 2-D/3-D arrays of a .mat file, in MATLAB's (row, column) orientation."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    if _mat_version(path) == "7.3":
        return _read_v73(path)
    import scipy.io

    try:
        contents = scipy.io.loadmat(path)
    except (ValueError, TypeError, OSError, EOFError, scipy.io.matlab.MatReadError) as err:
        raise InputError(path, f"cannot read this MATLAB file: {err}") from err
    return {
        k: v for k, v in contents.items()
        if not k.startswith("__") and isinstance(v, np.ndarray) and v.dtype.kind in "biuf" and v.ndim in (2, 3)
    }


def _read_v73(path: Path) -> dict[str, np.ndarray]:
    import h5py

    from ._nwb import open_hdf5

    out: dict[str, np.ndarray] = {}
    with open_hdf5(path) as f:
        for k, ds in f.items():
            if k.startswith("#") or not isinstance(ds, h5py.Dataset):
                continue
            if ds.dtype.kind not in "biuf" or ds.ndim not in (2, 3):
                continue
            # MATLAB writes column-major: h5py sees the transpose of the MATLAB array
            out[k] = np.asarray(ds[()]).T
    return out


def pick_variable(arrays: dict[str, np.ndarray], path: Path, variable: str | None) -> tuple[str, np.ndarray]:
    """The array to use: ``variable`` if given, else the only candidate."""
    if variable is not None:
        if variable not in arrays:
            raise InputError(path, f"no numeric array named {variable!r} (found: {sorted(arrays) or 'none'})")
        return variable, arrays[variable]
    cands = {k: v for k, v in arrays.items() if v.size > 1}
    if not cands:
        raise InputError(path, "no recognisable raster or spike-list array in this .mat file")
    if len(cands) > 1:
        for preferred in ("data", "raster", "spikes", "spks", "configurations"):
            if preferred in cands:
                log.info("%s: several arrays %s; using %r", path, sorted(cands), preferred)
                return preferred, cands[preferred]
        raise InputError(
            path, f"several candidate arrays {sorted(cands)}; choose one with --variable NAME (Python: variable='NAME')"
        )
    return next(iter(cands.items()))
