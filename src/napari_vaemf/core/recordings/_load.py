"""``load_recording``: the one entry point for every supported file."""
from __future__ import annotations

import logging
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import InputError, ParameterError
from ..limits import check_npy, check_npz
from ._arrays import is_spike_list, raster_from_array, spikes_from_list
from ._binning import SpikeTrains
from ._matlab import pick_variable, read_mat_arrays
from ._nwb import read_nwb_units
from ._phy import read_phy
from ._pynapple import is_tsgroup_npz, read_tsgroup_npz
from ._recording import Recording

__all__ = ["load_recording", "apply_bin_size", "DEFAULT_BIN_SIZE", "SUFFIXES"]

log = logging.getLogger(__name__)

DEFAULT_BIN_SIZE = 0.02  # seconds; the bin size spike times are binned at unless told
SUFFIXES = (".nwb", ".mat", ".npy", ".npz")


def load_recording(
    path,
    *,
    bin_size: float | None = None,
    t_start: float | None = None,
    t_stop: float | None = None,
    layout: str = "auto",
    repeats: int | str | None = "auto",
    variable: str | None = None,
    units_path: str | None = None,
    lazy: bool | None = None,
    labels: str | None = None,
    sample_rate: float | None = None,
) -> Recording:
    """Read a recording or configuration file (or a spike-sorter folder) into a :class:`Recording`.

    - ``.nwb``: NWB 2 ``Units.spike_times`` (see :func:`read_nwb_units`), binned at
      ``bin_size`` (default 20 ms) over ``[t_start, t_stop)``; ``units_path`` picks a Units
      table inside a processing module.
    - ``.mat`` (v5 or v7.3): a raster (``layout``, ``repeats`` as in
      :func:`raster_from_array`) or a spike list of [unit id, time s] rows; ``variable`` picks
      the array.
    - ``.npy``: a raster or a spike list. ``.npz``: a vaemf configuration file (key
      ``configurations``), else a raster under ``raster`` (or its only array), with optional
      ``bin_size`` and ``unit_ids``; a pynapple ``TsGroup.save`` file is spike times.
    - a phy / Kilosort folder (or its ``params.py``): the clusters ``labels`` picks (see
      :func:`~napari_vaemf.core.recordings._phy.read_phy`), spike samples divided by
      ``sample_rate`` (default: ``params.py``'s), binned like NWB spike times.

    The bin-size rule: spike data are binned at ``bin_size`` (default 20 ms), lazily (dask)
    when ``lazy`` is True or the raster would exceed ``LAZY_CELLS``; a raster that states its
    bin size (an ``.npz`` with ``bin_size``, a file written by the napari writer) is re-binned
    to ``bin_size``; for a raster that states none ``bin_size`` is its label (None: unknown).
    """
    path = Path(path)
    if path.is_dir() or (path.name.lower() == "params.py" and path.is_file()):
        folder = path if path.is_dir() else path.parent
        trains = read_phy(folder, labels=labels, sample_rate=sample_rate)
        return _bin(trains, bin_size, t_start, t_stop, lazy)
    if not path.is_file():
        raise InputError(path, "file not found")
    if labels is not None or sample_rate is not None:
        raise ParameterError(f"{path}: --labels and --sample-rate apply to spike-sorter (phy / Kilosort) "
                             "folders only")
    suffix = path.suffix.lower()
    if suffix == ".nwb":
        trains = read_nwb_units(path, units_path=units_path)
        return _bin(trains, bin_size, t_start, t_stop, lazy)
    if suffix == ".mat":
        name, arr = pick_variable(read_mat_arrays(path, variable), path, variable)
        log.info("%s: using MATLAB variable %r %s", path.name, name, arr.shape)
        return _from_array(arr, path, bin_size, t_start, t_stop, layout, repeats, lazy)
    if suffix == ".npy":
        check_npy(path)  # the header's size against the file and the memory budget, before reading
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise InputError(path, f"cannot read this .npy file: {err}") from err
        return _from_array(arr, path, bin_size, t_start, t_stop, layout, repeats, lazy)
    if suffix == ".npz":
        return _load_npz(path, bin_size, t_start, t_stop, layout, repeats, variable, lazy)
    raise InputError(path, f"unsupported file type {suffix!r} (supported: {', '.join(SUFFIXES)})")


def _bin(trains: SpikeTrains, bin_size, t_start, t_stop, lazy) -> Recording:
    bs = DEFAULT_BIN_SIZE if bin_size is None else bin_size
    return Recording.from_spike_trains(trains, bs, t_start=t_start, t_stop=t_stop, lazy=lazy)


def _from_array(arr, path, bin_size, t_start, t_stop, layout, repeats, lazy, extra=None) -> Recording:
    arr = np.asarray(arr)
    if is_spike_list(arr):
        return _bin(spikes_from_list(arr, path), bin_size, t_start, t_stop, lazy)
    if arr.ndim == 3 and arr.shape[2] == 3 and arr.dtype.kind == "f" and layout == "auto":
        from ..configs import validate_configurations

        vectors = validate_configurations(arr, source=path)  # (T, N, 3) unit vectors
        return Recording(raster=np.ascontiguousarray(np.swapaxes(vectors, 0, 1)), source=path, encoding="vector")
    raster, n_rep, encoding = raster_from_array(arr, path, layout=layout, repeats=repeats)
    units = {}
    if extra is not None and "unit_ids" in extra:
        ids = np.asarray(extra["unit_ids"])
        if ids.shape != (raster.shape[0],):
            raise InputError(path, f"unit_ids has shape {ids.shape}, expected ({raster.shape[0]},)")
        units["id"] = ids
    if bin_size is not None and not (bin_size > 0):
        from ..errors import ParameterError

        raise ParameterError(f"{path}: bin size must be > 0, got {bin_size!r}")
    rec = Recording(
        raster=raster, bin_size=None if bin_size is None else float(bin_size), units=units,
        source=path, repeats=n_rep, encoding=encoding,
    )
    if t_start is not None or t_stop is not None:
        rec = rec.select(t_start=t_start, t_stop=t_stop)
    return rec


def _load_npz(path, bin_size, t_start, t_stop, layout, repeats, variable, lazy) -> Recording:
    check_npz(path)  # every member's method, ratio, header and size, before any is decompressed
    try:
        # our own file handle: np.load leaks it when the zip is damaged
        with open(path, "rb") as fh:
            z = np.load(fh, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):  # a plain .npy under a .npz name
                configs, tsgroup, arrays = False, False, {"raster": np.asarray(z)}
            else:
                with z:
                    tsgroup = is_tsgroup_npz(z.files)  # pynapple's TsGroup.save: spike times
                    configs = "configurations" in z.files
                    skip = ("_metadata",) if tsgroup else ()  # a pickle: never read
                    arrays = {} if configs else {k: z[k] for k in z.files if k not in skip}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise InputError(path, f"cannot read this .npz file: {err}") from err
    if tsgroup:
        return _bin(read_tsgroup_npz(arrays, path), bin_size, t_start, t_stop, lazy)
    if configs:
        from ..configs import load_configurations

        rec = Recording.from_sampleset(load_configurations(path), source=path)
        if t_start is not None or t_stop is not None:
            rec = rec.select(t_start=t_start, t_stop=t_stop)
        return apply_bin_size(rec, bin_size)
    extra = {k: arrays.pop(k) for k in ("bin_size", "unit_ids", "t_start") if k in arrays}
    if variable is None and "raster" in arrays:
        variable = "raster"
    name, arr = pick_variable({k: v for k, v in arrays.items() if v.dtype.kind in "biuf"}, path, variable)
    stated = float(extra["bin_size"]) if "bin_size" in extra else None
    rec = _from_array(arr, path, stated if stated is not None else bin_size, None, None, layout,
                      repeats, lazy, extra)
    if "t_start" in extra and rec.spike_trains is None:
        rec.t_start = float(extra["t_start"])
    if t_start is not None or t_stop is not None:
        rec = rec.select(t_start=t_start, t_stop=t_stop)
    return apply_bin_size(rec, bin_size)


def apply_bin_size(rec: Recording, bin_size: float | None) -> Recording:
    """The bin-size rule for a raster: re-bin one that states its bin size, label one that
    does not (spike times are binned at ``bin_size`` directly, see :func:`load_recording`)."""
    if bin_size is None:
        return rec
    if rec.bin_size is None:
        return replace(rec, bin_size=float(bin_size))
    if abs(rec.bin_size - bin_size) <= 1e-12 * max(1.0, bin_size):
        return rec
    log.info("%s: re-binning %g s bins to %g s", rec.source, rec.bin_size, bin_size)
    return rec.rebin(bin_size)
