"""MATLAB files: v5/v7 through scipy, v7.3 (HDF5) through h5py.

A file holds a raster (2-D numeric counts/binary/±1 array) or a spike list ((n, 2) rows of
[unit id, time in s]). The variable is chosen by ``variable=`` or, when there is exactly one
numeric 2-D candidate, automatically.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..limits import check_alloc, check_dataset

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


# MATLAB classes that hold numbers (v7.3 files name them in the MATLAB_class attribute)
_NUMERIC = {"double": 8, "single": 4, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4,
            "uint32": 4, "int64": 8, "uint64": 8, "logical": 1}
_KINDS = {"char": "a character array", "cell": "a cell array", "struct": "a struct",
          "sparse": "a sparse matrix", "object": "a MATLAB object", "function_handle": "a function handle"}


def _describe(cls: str) -> str:
    return _KINDS.get(cls, f"a MATLAB {cls} object")


def _not_numeric(path: Path, skipped: dict[str, str], variable: str | None) -> InputError:
    """The error for a file (or a chosen variable) that holds no numeric array we can read."""
    if variable is not None and variable in skipped:
        return InputError(path, f"variable {variable!r} is {_describe(skipped[variable])}, not a numeric "
                                "array: save the raster or spike list as a numeric matrix "
                                "(e.g. table2array, double(...)) and choose it with --variable NAME")
    kinds = ", ".join(f"{k!r} is {_describe(c)}" for k, c in sorted(skipped.items()))
    return InputError(path, f"no numeric array in this .mat file ({kinds}): save the raster or spike "
                            "list as a numeric matrix (e.g. table2array, double(...))")


def _check_named(path: Path, variable: str | None, names: list[str]) -> None:
    if variable is not None and variable not in names:
        raise InputError(path, f"no variable named {variable!r} (found: {', '.join(sorted(names)) or 'none'})")


def read_mat_arrays(path, variable: str | None = None) -> dict[str, np.ndarray]:
    """The numeric 2-D/3-D arrays of a .mat file, in MATLAB's (row, column) orientation.

    With ``variable`` only that one is read. Declared sizes are checked against the memory
    budget (:mod:`napari_vaemf.core.limits`) before anything is read; a file (or variable) that
    holds only MATLAB objects, cells, structs or text says so.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    if _mat_version(path) == "7.3":
        return _read_v73(path, variable)
    return _read_v5(path, variable)


def _read_v5(path: Path, variable: str | None) -> dict[str, np.ndarray]:
    import scipy.io

    errors = (ValueError, TypeError, OSError, EOFError, scipy.io.matlab.MatReadError)
    try:
        listing = scipy.io.whosmat(path)
    except errors as err:
        raise InputError(path, f"cannot read this MATLAB file: {err}") from err
    _check_named(path, variable, [name for name, _, _ in listing])
    skipped = {}
    wanted = []
    for name, shape, cls in listing:
        if variable is not None and name != variable:
            continue
        if cls not in _NUMERIC:
            skipped[name] = cls
            continue
        wanted.append(name)
        nbytes = math.prod(int(s) for s in shape) * _NUMERIC[cls]
        check_alloc(nbytes, f"MATLAB variable {name!r} ({' x '.join(map(str, shape))} {cls})", source=path,
                    hint="choose another with --variable NAME" if len(listing) > 1 else None)
    if not wanted:
        if skipped:
            raise _not_numeric(path, skipped, variable)
        return {}
    try:
        contents = scipy.io.loadmat(path, variable_names=wanted)
    except errors as err:
        raise InputError(path, f"cannot read this MATLAB file: {err}") from err
    return {
        k: v for k, v in contents.items()
        if not k.startswith("__") and isinstance(v, np.ndarray) and v.dtype.kind in "biuf" and v.ndim in (2, 3)
    }


def _read_v73(path: Path, variable: str | None) -> dict[str, np.ndarray]:
    import h5py

    from ._nwb import open_hdf5

    out: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    with open_hdf5(path) as f:
        _check_named(path, variable, [k for k in f if not k.startswith("#")])
        for k, ds in f.items():
            if k.startswith("#") or (variable is not None and k != variable):
                continue
            cls = ds.attrs.get("MATLAB_class", b"")
            cls = cls.decode("ascii", "replace") if isinstance(cls, bytes) else str(cls)
            if cls and (cls not in _NUMERIC or "MATLAB_object_decode" in ds.attrs):
                skipped[k] = cls
                continue
            if isinstance(ds, h5py.Group):
                if "MATLAB_sparse" in ds.attrs:
                    skipped[k] = "sparse"
                continue
            if ds.attrs.get("MATLAB_empty", 0) or ds.dtype.kind not in "biuf" or ds.ndim not in (2, 3):
                continue
            check_dataset(ds, path, f"MATLAB variable {k!r}")
            # MATLAB writes column-major: h5py sees the transpose of the MATLAB array
            out[k] = np.asarray(ds[()]).T
    if not out and skipped:
        raise _not_numeric(path, skipped, variable)
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
