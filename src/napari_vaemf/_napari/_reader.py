"""napari reader contribution for ``*.nwb``, ``*.mat``, ``*.npy``, ``*.npz`` and phy / Kilosort
folders (the folder itself, or its ``params.py``).

Which files it claims (:func:`get_reader`, which only looks at the first bytes and, for
NumPy files, the array header and a few values):

- **None** (napari may use another reader) for everything that is not a file of a kind we
  read: a missing path, several paths, a ``.nwb``/``.mat`` without the HDF5 or MATLAB
  signature, a ``.npy``/``.npz`` holding an image (grey or RGB floats, an image stack) rather
  than a raster, spike list or unit vectors; a folder (or a ``params.py``) that holds no
  ``spike_times.npy``, ``spike_clusters.npy`` or ``spike_templates.npy``.
- **A reader** for every file of our kinds, including damaged or unsupported ones (NWB 1.x,
  NWB without Units, zero or invalid spike times, truncated HDF5, a ``.mat`` without a
  usable array). The reader does the work in
  :func:`napari_vaemf.core.recordings.load_recording` and raises our
  :class:`~napari_vaemf.core.errors.InputError` naming the file and the problem. napari
  wraps it in a ``ReaderPluginError`` whose text ends with our message, shows it as a
  notification and, when another plugin also reads that extension, offers it in its
  reader dialog. Declining such a file instead would leave the user with napari's bare
  "refused the file" (we are the only reader of ``*.nwb`` and ``*.mat``), so an NWB 1.x file
  dropped on napari must be claimed to be explained.
"""
from __future__ import annotations

import logging
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from napari_vaemf.core.errors import InputError
from napari_vaemf.core.limits import check_npz
from napari_vaemf.core.recordings import SUFFIXES, is_tsgroup_npz, load_recording, phy_folder

from .layers import recording_layer
from .view import watch_current_viewer

__all__ = ["get_reader", "read_recording"]

log = logging.getLogger(__name__)

_HDF5 = b"\x89HDF\r\n\x1a\n"


def _head(path: Path, n: int = 1024) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def _array_ok(fh, sample: int = 4096) -> bool:
    """Does the NumPy array at ``fh`` (a .npy file or a .npz member) look like our data?

    Reads the header and only the first ``sample`` values: counts, binary or ±1 rasters, a
    spike list (integer ids in one column of a 2-column float array) or unit vectors (..., 3)
    pass; image arrays (grey or RGB floats, 0-255 RGB stacks) are left to napari's reader.
    """
    try:
        version = np.lib.format.read_magic(fh)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(fh)
        if dtype.kind not in "biuf" or not (len(shape) == 2 or (len(shape) == 3 and shape[-1] == 3)):
            return False
        if fortran:  # the first bytes are not the first rows: judge by the header alone
            return True
        count = min(sample - sample % 6, int(np.prod(shape)))
        head = np.frombuffer(fh.read(count * dtype.itemsize), dtype=dtype).astype(np.float64)
    except (ValueError, OSError, EOFError):
        return False
    if head.size < count:  # truncated after a header of ours: claimed, so load_recording explains
        return True
    if head.size == 0 or not np.all(np.isfinite(head)):
        return False
    if len(shape) == 3:
        return bool(np.all(np.abs(np.linalg.norm(head.reshape(-1, 3), axis=1) - 1) < 1e-3))
    if shape[1] == 2 and dtype.kind == "f":  # spike list: integer ids in one column
        col = head.reshape(-1, 2)
        return bool(np.all(col[:, 0] == np.round(col[:, 0])) or np.all(col[:, 1] == np.round(col[:, 1])))
    return bool(np.all(head == np.round(head)) and head.min() >= -1)


def _looks_readable(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES or not path.is_file():
        return False
    head = _head(path)
    if suffix == ".nwb":
        # HDF5 signature at 0 (or after a user block at 512, 1024, ...)
        return head.startswith(_HDF5) or _head(path, 520)[512:520] == _HDF5
    if suffix == ".mat":
        return head.startswith(b"MATLAB") or head.startswith(_HDF5)
    if suffix == ".npy":
        with open(path, "rb") as fh:
            return _array_ok(fh)
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if "configurations.npy" in names or is_tsgroup_npz(names):  # ours, or pynapple's TsGroup.save
                return True
            arrays = [n for n in names if n.endswith(".npy") and n[:-4] not in ("bin_size", "unit_ids", "t_start")]
            pick = "raster.npy" if "raster.npy" in arrays else (arrays[0] if len(arrays) == 1 else None)
            if pick is None:
                return False
            try:
                check_npz(path)  # declared sizes, method and ratio, before decompressing anything
            except InputError:
                return True  # ours but refused (a decompression bomb...): the reader says why
            with zf.open(pick) as fh:
                return _array_ok(fh)
    except (zipfile.BadZipFile, OSError):
        return False


def get_reader(path: str | list[str]) -> Callable[[Any], list] | None:
    """napari's entry point: a reader for a single supported file or spike-sorter folder, else None."""
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    p = Path(path)
    if phy_folder(p) is not None:
        return read_recording
    if not _looks_readable(p):
        return None
    return read_recording


def read_recording(path: str | list[str]) -> list[tuple]:
    """Read one file or folder into a list with one image LayerDataTuple (raises InputError when bad)."""
    if isinstance(path, (list, tuple)):
        path = path[0]
    rec = load_recording(path)
    watch_current_viewer()  # napari's viewer frames the new layer on its first minute (see .view)
    return [recording_layer(rec)]
