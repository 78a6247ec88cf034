"""Load recording dock widget: open a file, then change bin size, time window and units.

Re-binning and selection start from the recording the layer was first made from (kept in
``layer.metadata["recording_original"]``): spike trains are re-binned in memory, rasters are
merged by whole bins, and nothing is read from disk again.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qtpy.QtWidgets import QFileDialog, QPushButton

from ..core.data import InputOptions, parse_units
from ..core.data import derive as core_derive
from ..core.errors import ParameterError
from ..core.progress import Progress
from ._base import JobWidget, LayerPicker, put_layer
from ._form import option
from ._runner import Outcome

if TYPE_CHECKING:
    import napari

__all__ = ["LoadSettings", "LoadRecordingWidget", "derive"]


@dataclass
class LoadSettings:
    """How to show a loaded recording (the fields of the Load recording widget)."""

    bin_size: float = option(0.02, min=0.0001, max=3600.0, step=0.005)  # seconds per bin: spikes are binned at it; a raster file without spike times is re-binned by whole multiples (or, if the file does not say, is taken to have this bin)
    t_from: float = option(0.0, min=0.0, max=1e7, step=1.0)  # start of the time window, seconds after the recording starts
    t_to: float = option(0.0, min=0.0, max=1e7, step=1.0)  # end of the time window in seconds after the start; 0 = to the end
    units: str = "all"  # units to keep by id: "all", or e.g. "0-9, 12, 20-24"


def derive(original, s: LoadSettings):
    """The recording shown for settings ``s`` (:func:`napari_vaemf.core.data.derive`: units
    by id, then the time window, then the bin-size rule); the window is relative to the
    recording's start."""
    t0 = original.t_start if original.bin_size else 0.0
    options = InputOptions(
        bin_size=float(s.bin_size), units=s.units,
        t_start=t0 + s.t_from if s.t_from > 0 else None,
        t_stop=t0 + s.t_to if s.t_to > 0 else None,
    )
    return core_derive(original, options)


def _derive_job(original, s: LoadSettings):
    yield Progress("re-bin", 0, 1)
    return derive(original, s)


def _load_job(path: str, bin_size: float):
    from ..core.recordings import load_recording

    yield Progress("read", 0, 1)
    if Path(path).suffix.lower() == ".npz":  # configuration files / rasters state their own
        return load_recording(path)
    return load_recording(path, bin_size=bin_size)


def is_recording_layer(layer) -> bool:
    return "recording" in layer.metadata


class LoadRecordingWidget(JobWidget):
    """Open a recording, and re-bin / window / sub-select a recording layer in memory."""

    settings_cls = LoadSettings
    settings_key = "load_recording"
    job_name = "Load recording"
    start_text = "Apply"
    start_tip = "Re-bin and select the chosen layer (from memory, the file is not re-read)."
    stop_tip = "Cancel (the layer is left as it was)."

    def __init__(self, napari_viewer: napari.viewer.Viewer):
        super().__init__(napari_viewer)
        self.picker = LayerPicker(self, is_recording_layer, "Recording layer to re-bin / select.")
        self.main_layout.insertWidget(0, self.picker)
        self.open_button = QPushButton("Open file…")
        self.open_button.setToolTip("Read an NWB, MATLAB (.mat), .npy or .npz recording into a new layer.")
        self.open_button.clicked.connect(self._on_open)
        self.main_layout.insertWidget(0, self.open_button)
        self._target = None  # (layer name, original recording) of the running Apply
        self.picker.currentTextChanged.connect(self._on_layer_changed)
        self._on_layer_changed()

    def _on_layer_changed(self, *_args) -> None:
        layer = self.picker.layer()
        if layer is None:
            return
        rec = layer.metadata["recording"]
        if rec.bin_size:
            self.form.set_values(bin_size=float(rec.bin_size))

    def _on_open(self, checked: bool = False, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "Open recording", "", "Recordings (*.nwb *.mat *.npy *.npz)"
            )
            if not path:
                return
        self._target = None
        self._set_running(True)
        self.status.setText(f"Reading {Path(path).name}…")
        self.runner.start(_load_job(str(path), self.form.values().bin_size))

    def _make_job(self, s: LoadSettings):
        layer = self.picker.layer()
        if layer is None:
            raise ParameterError("open a recording first (no recording layer)")
        original = layer.metadata.get("recording_original", layer.metadata["recording"])
        parse_units(s.units, original.units["id"])  # bad text: error now, not in the thread
        self._target = (layer.name, original)
        return _derive_job(original, s), None

    def _set_running(self, running: bool) -> None:
        super()._set_running(running)
        self.open_button.setEnabled(not running)
        self.picker.setEnabled(not running)

    def _apply(self, outcome: Outcome) -> None:
        from .._napari.layers import recording_layer

        rec = outcome.value
        if outcome.stopped or rec is None:
            self.status.setText("Cancelled.")
            return
        if self._target is None:  # a file was opened
            data, kwargs, kind = recording_layer(rec)
            kwargs["metadata"]["recording_original"] = rec
            layer = put_layer(self.viewer, (data, kwargs, kind))
        else:
            name, original = self._target
            data, kwargs, kind = recording_layer(rec, name=name)
            kwargs["metadata"]["recording_original"] = original
            layer = put_layer(self.viewer, (data, kwargs, kind))
        self.picker.setCurrentText(layer.name)
        bins = f"{rec.bin_size:g} s bins" if rec.bin_size else "samples"
        self.status.setText(f"'{layer.name}': {rec.n_units} units × {rec.n_bins} {bins}.")
