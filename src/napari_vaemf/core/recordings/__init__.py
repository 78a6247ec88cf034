"""Recordings in, fits out: NWB, MATLAB, NumPy, phy / Kilosort and pynapple spike data as
one :class:`Recording`.

``load_recording(path, **options)`` reads any supported file or spike-sorter folder;
``read_nwb_units``, ``read_phy`` and ``bin_spikes`` are the building blocks;
``recording_from_tsgroup`` and ``latents_to_pynapple`` go to and from pynapple;
``save_fit_to_nwb`` writes a fit to a new NWB file.
"""
from __future__ import annotations

from ._arrays import detect_repeats
from ._binning import SpikeTrains, as_binary, bin_spikes, bin_spikes_lazy
from ._load import DEFAULT_BIN_SIZE, SUFFIXES, apply_bin_size, load_recording
from ._filetimes import FileTimes
from ._nwb import read_nwb_units
from ._packed import PackedRaster, pack_recording
from ._phy import phy_folder, read_phy
from ._pynapple import is_tsgroup_npz, latents_to_pynapple, recording_from_tsgroup
from ._recording import Recording

__all__ = [
    "Recording",
    "SpikeTrains",
    "FileTimes",
    "PackedRaster",
    "pack_recording",
    "load_recording",
    "apply_bin_size",
    "read_nwb_units",
    "read_phy",
    "phy_folder",
    "is_tsgroup_npz",
    "recording_from_tsgroup",
    "latents_to_pynapple",
    "bin_spikes",
    "bin_spikes_lazy",
    "as_binary",
    "detect_repeats",
    "save_fit_to_nwb",
    "DEFAULT_BIN_SIZE",
    "SUFFIXES",
]


def __getattr__(name: str):
    # pynwb is imported only when a fit is written
    if name == "save_fit_to_nwb":
        from ._nwb_write import save_fit_to_nwb

        return save_fit_to_nwb
    raise AttributeError(name)
