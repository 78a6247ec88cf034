"""Capacity dock widget: sweep the number of latents K and compare rate with bipartite MI.

Runs :func:`napari_vaemf.core.capacity.capacity_sweep` in a worker, then plots rate and the
data's bipartite-MI lower bound against K, and the held-out log-likelihood against K, and
states the report's verdict in words.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..core.errors import InputError
from ._base import JobWidget, LayerPicker
from ._fit import available_devices, heldout_index, is_raster_layer, layer_samples
from ._form import option
from ._plots import PlotCanvas, legend, style
from ._runner import Outcome

if TYPE_CHECKING:
    import napari

__all__ = ["CapacityWidgetSettings", "CapacityWidget"]


@dataclass
class CapacityWidgetSettings:
    """Settings of the Capacity widget."""

    k_max: int = option(3, min=1, max=32)  # largest number of latents K in the sweep (K = 1..k_max)
    seeds: int = option(2, min=1, max=20)  # restarts per K; the best on validation data represents K
    epochs: int = option(150, min=1, max=100_000)  # maximum epochs per fit (early stopping may end sooner)
    batch_size: int = option(256, min=1, max=1_000_000)  # samples per optimisation step (small data want small batches)
    test_fraction: float = option(0.2, min=0.05, max=0.9, step=0.05)  # data never trained on, for judging (whole repeats when known)
    infonce: bool = False  # also bound the bipartite MI with an InfoNCE critic (slower, tighter for large N)
    model_mi: bool = True  # estimate each fit's own bipartite MI from model samples
    device: str = "auto"  # where to train: only devices present are listed
    seed: int = option(0, min=0, max=2**31 - 1)  # seed of the cuts, the split and the first fit


class CapacityWidget(JobWidget):
    """How many latents does the layer need, and is it mean-field at all?"""

    settings_cls = CapacityWidgetSettings
    settings_key = "capacity"
    job_name = "Capacity sweep"
    start_text = "Run sweep"
    start_tip = "Fit K = 1..k_max latents in a background thread and judge them on held-out data."
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

    def _make_job(self, s: CapacityWidgetSettings):
        from ..core.capacity import CapacitySettings, capacity_sweep
        from ..core.vae import VAEConfig

        layer = self.picker.layer()
        if layer is None:
            raise InputError(None, "choose a raster or configuration layer")
        x, encoding, rec = layer_samples(layer)
        config = VAEConfig(epochs=s.epochs, batch_size=s.batch_size, device=s.device, seed=s.seed)
        known = {f.name for f in dataclasses.fields(CapacitySettings)}
        settings = CapacitySettings(
            **{k: v for k, v in dataclasses.asdict(s).items() if k in known}
        )
        job = capacity_sweep(
            x, encoding, k_max=s.k_max, seeds=s.seeds, config=config, settings=settings,
            test_index=heldout_index(rec, s.test_fraction, s.seed),
        )
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
        from ..core.capacity._report import headline_mi

        rows = report.per_k()
        ks = np.array([r["latents"] for r in rows])
        ax_rate, ax_ll = self.plot.axes
        for ax in self.plot.axes:
            ax.cla()
            style(ax)
        rate = np.array([r["rate_nats"] for r in rows])
        ax_rate.plot(ks, rate, marker="o", label="rate")
        mi = headline_mi(report.bipartite_mi)
        if mi["estimate"] is not None:
            lo = mi["lower"] if mi["lower"] is not None else mi["estimate"]
            hi = mi["upper"] if mi["upper"] is not None and math.isfinite(mi["upper"]) else mi["estimate"]
            ax_rate.axhspan(lo, max(hi, lo), color="#1f77b4", alpha=0.25)
            ax_rate.axhline(mi["estimate"], color="#1f77b4", ls="--", label="bipartite MI (data)")
        model = [r.get("model_mi_nats") for r in rows]
        if any(m is not None for m in model):
            ax_rate.plot(ks, [np.nan if m is None else m for m in model], "s:", label="MI (model)")
        ax_rate.set_ylabel("nats", fontsize=8)
        ax_rate.set_title("rate and bipartite MI")
        legend(ax_rate)
        ll = np.array([r["test_loglik_nats"] for r in rows])
        ax_ll.plot(ks, ll, marker="o", color="#2ca02c")
        if len(report.points) > len(rows):  # every restart, so failed ones stay visible
            ax_ll.plot([p.latents for p in report.points],
                       [p.test_loglik_nats for p in report.points], ".", color="0.6")
        if report.latents_needed is not None:
            ax_ll.axvline(report.latents_needed, color="#d62728", ls="--", label=f"K needed = {report.latents_needed}")
            legend(ax_ll)
        ax_ll.set_xlabel("latents K", fontsize=8)
        ax_ll.set_ylabel("nats / sample", fontsize=8)
        ax_ll.set_title("held-out log-likelihood")
        for ax in self.plot.axes:
            ax.set_xticks(ks)
        self.plot.redraw()
