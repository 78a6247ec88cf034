"""Capacity dock widget: sweep the number of latents K and compare rate with bipartite MI.

Runs :func:`napari_vaemf.core.capacity.capacity_sweep` in a spawned child process
(:func:`napari_vaemf.core.fit_process.sweep_in_process`: training there does not share
napari's GIL; the ``scheduler`` setting still sends the fits to Dask from the child), then
plots rate and the data's bipartite-MI lower bound against K, and the held-out
log-likelihood against K, and states the report's verdict in words.
"""
from __future__ import annotations

from dataclasses import replace

from typing import TYPE_CHECKING

from ..core.capacity import CapacitySettings
from ..core.errors import InputError
from ._base import JobWidget, LayerPicker
from ._fit import available_devices, is_raster_layer, layer_data
from ._plots import PlotCanvas, legend, style
from ._runner import Outcome

if TYPE_CHECKING:
    import napari

__all__ = ["CapacityWidget"]


class CapacityWidget(JobWidget):
    """How many latents does the layer need, and is it mean-field at all?"""

    settings_cls = CapacitySettings
    settings_key = "capacity"
    job_name = "Capacity sweep"
    start_text = "Run sweep"
    start_tip = "Fit K = 1..k_max latents in a background process and judge them on held-out data."
    stop_tip = "Stop the sweep (fits done so far are discarded)."

    def __init__(self, napari_viewer: napari.viewer.Viewer):
        super().__init__(napari_viewer, choices={"device": available_devices()})
        self.picker = LayerPicker(self, is_raster_layer, "Raster or configuration layer to analyse.")
        self.main_layout.insertWidget(0, self.picker)
        self.plot = PlotCanvas(
            rows=2, tooltip="Rate and bipartite MI against K; held-out log-likelihood against K."
        )
        self.main_layout.addWidget(self.plot)
        self.report = None  # the last CapacityReport
        self.runner.activity_bar = False  # the status line follows the sweep (JobRunner.activity_bar)

    def _make_job(self, s: CapacitySettings):
        import torch

        from ..core.capacity._partitions import resolve_layout
        from ..core.fit_process import sweep_in_process

        layer = self.picker.layer()
        if layer is None:
            raise InputError(None, "choose a raster or configuration layer")
        data, rec = layer_data(layer, s.test_fraction, s.seed, stream=True)  # large rasters stream
        s = replace(s, layout=resolve_layout(s.cuts, data.time_base.get("model"), data.x.shape[1]))
        job = sweep_in_process(data, s, repeats=None if rec is None else rec.repeats,
                               threads=torch.get_num_threads())
        self.status.setText("Estimating the bipartite mutual information…")
        return job, None

    def _apply(self, outcome: Outcome) -> None:
        if outcome.stopped or outcome.value is None:
            self.status.setText("Sweep stopped; no report.")
            return
        self.report = outcome.value
        self.status.setText(self.report.verdict())
        self.plot_report(self.report)

    def plot_report(self, report) -> None:
        """Draw the report with the CLI's figure code, in napari's colours."""
        from ..core.capacity._report import draw_report

        for ax in self.plot.axes:
            ax.cla()
        draw_report(report, *self.plot.axes)
        for ax in self.plot.axes:
            style(ax)
            if ax.get_legend() is not None:
                legend(ax)
        self.plot.redraw()
