"""Configuration files: equilibrium samples of a model plus the truth that generated them.

A configuration file is an ``.npz`` archive with

- ``configurations``: (T, N) int8 spins in {-1, +1}, (T, N) int8 in {0, 1} (spikes), or
  (T, N, 3) float32 unit vectors;
- ``model``: a 0-d unicode array naming the model ("curie-weiss", "hopfield", ...);
- ``params``: a 0-d unicode array holding a JSON object with every parameter and the seed;
- any further arrays are ground truth (``patterns`` (N, P) int8 for Hopfield, ...).

:func:`save_configurations` writes archives byte-for-byte reproducibly (fixed zip time
stamps), so the same seed gives the same file. :func:`load_configurations` checks shape,
dtype, values and unit norms and raises :class:`~napari_vaemf.core.errors.InputError`
naming the file and the problem.
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from napari_vaemf.core.encoding import Encoding, detect_encoding
from napari_vaemf.core.errors import InputError

__all__ = ["SampleSet", "save_configurations", "load_configurations", "validate_configurations", "jsonable"]

RESERVED = ("configurations", "model", "params")
UNIT_NORM_TOL = 1e-3  # largest accepted | |n| - 1 | for vector configurations


@dataclass
class SampleSet:
    """Samples of a model with the ground truth and parameters that produced them."""

    model: str  # model name, e.g. "curie-weiss", "hopfield", "maier-saupe", "ising2d"
    configurations: np.ndarray  # (T, N) int8 ±1 or {0,1}, or (T, N, 3) float32 unit vectors
    params: dict[str, Any] = field(default_factory=dict)  # every parameter, incl. "seed"
    truth: dict[str, np.ndarray] = field(default_factory=dict)  # ground-truth arrays

    @property
    def encoding(self) -> Encoding:
        """"vector" for (T, N, 3), "spin" for ±1, "binary" for {0, 1} configurations."""
        return detect_encoding(self.configurations)

    @property
    def n_samples(self) -> int:
        """T, the number of configurations."""
        return int(self.configurations.shape[0])

    @property
    def n_units(self) -> int:
        """N, the number of spins / units / vectors per configuration."""
        return int(self.configurations.shape[1])


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy arrays and scalars, bytes and paths turned into plain JSON values.

    Dicts get string keys; lists, tuples and object arrays are converted element-wise; other
    values are returned unchanged. The one converter for params, layer metadata and NWB
    scratch JSON.
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()] if obj.dtype == object else obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    if isinstance(obj, Path):
        return str(obj)
    return obj


def save_configurations(path: str | PathLike, s: SampleSet) -> Path:
    """Write ``s`` to ``path`` (an ``.npz``); the same SampleSet always gives the same bytes."""
    path = Path(path)
    x = validate_configurations(s.configurations, source=path)
    arrays: dict[str, np.ndarray] = {
        "configurations": x,
        "model": np.array(str(s.model)),
        "params": np.array(json.dumps(jsonable(s.params), sort_keys=True)),
    }
    for key, value in s.truth.items():
        if key in RESERVED:
            raise InputError(path, f"truth array name {key!r} is reserved")
        arr = np.asarray(value)
        if arr.dtype == object:
            raise InputError(path, f"truth array {key!r} has dtype object")
        arrays[key] = arr
    # Fixed time stamps and order: reproducible bytes (np.savez stamps the current time).
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in arrays:
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.array(arrays[key], order="C"), allow_pickle=False)
            zf.writestr(info, buf.getvalue())
    return path


def validate_configurations(x: Any, source: str | PathLike | None = None) -> np.ndarray:
    """Check a configuration array; return it as int8 (T, N) or float32 (T, N, 3).

    The input is never modified (a converted copy is returned when the dtype changes).
    """
    x = np.asarray(x)
    if x.dtype == object or x.dtype.kind not in "biuf":
        raise InputError(source, f"configurations must be numeric, got dtype {x.dtype}")
    if x.ndim == 3:
        if x.shape[2] != 3:
            raise InputError(
                source, f"vector configurations must have shape (T, N, 3), got {x.shape}"
            )
        if x.dtype.kind != "f":
            raise InputError(source, f"vector configurations must be float, got {x.dtype}")
        if 0 in x.shape:
            raise InputError(source, f"configurations are empty, shape {x.shape}")
        if not np.isfinite(x).all():
            raise InputError(source, "vector configurations contain NaN or infinite values")
        norms = np.linalg.norm(x.astype(np.float64), axis=2)
        worst = float(np.abs(norms - 1.0).max())
        if worst > UNIT_NORM_TOL:
            raise InputError(
                source, f"vectors must have unit norm; largest | |n| - 1 | is {worst:.3g}"
            )
        return x.astype(np.float32, copy=False)
    if x.ndim != 2:
        raise InputError(
            source, f"configurations must have shape (T, N) or (T, N, 3), got {x.shape}"
        )
    if 0 in x.shape:
        raise InputError(source, f"configurations are empty, shape {x.shape}")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise InputError(source, "configurations contain NaN or infinite values")
    values = np.unique(x)
    if not (set(values.tolist()) <= {-1, 1} or set(values.tolist()) <= {0, 1}):
        shown = ", ".join(f"{v:g}" for v in values[:6]) + (" ..." if values.size > 6 else "")
        raise InputError(
            source, f"configurations must hold only -1/+1 (spins) or 0/1 (spikes); found {shown}"
        )
    return x.astype(np.int8, copy=False)


def load_configurations(path: str | PathLike) -> SampleSet:
    """Read a configuration ``.npz``; raise InputError naming the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise InputError(path, f"not a readable .npz archive ({err})") from err
    if "configurations" not in arrays:
        raise InputError(
            path, f"no 'configurations' array (found: {', '.join(sorted(arrays)) or 'none'})"
        )
    x = validate_configurations(arrays.pop("configurations"), source=path)
    model = arrays.pop("model", np.array("unknown"))
    if model.ndim != 0 or model.dtype.kind != "U":
        raise InputError(path, "'model' must be a 0-d string array")
    raw = arrays.pop("params", np.array("{}"))
    if raw.ndim != 0 or raw.dtype.kind != "U":
        raise InputError(path, "'params' must be a 0-d string array holding JSON")
    try:
        params = json.loads(str(raw))
    except json.JSONDecodeError as err:
        raise InputError(path, f"'params' is not valid JSON ({err})") from err
    if not isinstance(params, dict):
        raise InputError(path, "'params' must be a JSON object")
    truth = dict(arrays)
    if "patterns" in truth:
        pat = truth["patterns"]
        if pat.ndim != 2 or pat.shape[0] != x.shape[1]:
            raise InputError(
                path, f"'patterns' must have shape (N={x.shape[1]}, P), got {pat.shape}"
            )
        if pat.dtype.kind not in "biu" or not np.isin(pat, (-1, 1)).all():
            raise InputError(path, "'patterns' must be integers in {-1, +1}")
    return SampleSet(model=str(model), configurations=x, params=params, truth=truth)
