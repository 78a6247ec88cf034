"""Fit VAE dock widget: train a product-decoder VAE on a raster layer, live, in a child process.

Start trains ``new_fit(data, settings)`` in a spawned child process
(:func:`napari_vaemf.core.fit_process.train_in_process`): training holds Python's GIL, and in
a thread of napari's process it made napari's event loop wait. A worker thread waits on the
child's progress records; Stop ends the child's fit within one record (it keeps its best
model). The child sends back the checkpoint and the latents of every bin; the widget then
holds the same :class:`napari_vaemf.core.vae.Fit` (``self.fit``, also after a stop), the live
plot follows the records (redrawn at most once a second), and the latents are laid over the
raster (:mod:`napari_vaemf._napari.overlays`).
"""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QFileDialog, QHBoxLayout, QPushButton

from ..core.configs import validate_configurations
from ..core.data import FitData
from ..core.encoding import detect_encoding
from ..core.errors import InputError
from ..core.progress import Progress
from ..core.trials import stimulus_locked_text
from .._napari import overlays
from ._base import JobWidget, LayerPicker, put_layer
from ..core.vae.config import VAEConfig
from ._plots import PlotCanvas, legend
from ._runner import Outcome

if TYPE_CHECKING:
    import napari

__all__ = ["FitWidget", "available_devices", "layer_data"]

log = logging.getLogger(__name__)

# Main-thread work per progress record stays small: the live plot is redrawn at most every
# REDRAW_S (a draw is ~50 ms of CPU, several times that on a busy machine) and the status
# line rewritten at most every STATUS_S (each repaint of napari's window costs tens of ms with
# software OpenGL on a busy machine); the dock, not napari's activity bar, shows the progress
# (see JobRunner.activity_bar).
REDRAW_S = 1.0
STATUS_S = 0.5


def available_devices() -> list[str]:
    """"auto", "cpu", and "cuda"/"mps" when this machine has them."""
    import torch

    out = ["auto", "cpu"]
    if torch.cuda.is_available():
        out.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return out


def is_raster_layer(layer) -> bool:
    """A recording / configuration layer, or any plain 2-D image layer."""
    if "recording" in layer.metadata:
        return True
    return layer.__class__.__name__ == "Image" and layer.ndim == 2 and not getattr(layer, "rgb", False)


def layer_data(layer, holdout: float, seed: int = 0, stream: bool = False) -> tuple[FitData, Any]:
    """(FitData, Recording or None) of a raster layer, prepared by the core's one rule
    (``stream``: a large recording is packed one bit per cell, ``core.data.prepare``)."""
    from ..core.data import prepare
    from ..core.recordings import Recording

    rec = layer.metadata.get("recording")
    if rec is not None:
        return prepare(rec, holdout, seed, stream=stream), rec
    data = layer.data
    if getattr(layer, "multiscale", False):
        data = data[0]
    x = np.asarray(data)
    if x.ndim != 2:
        raise InputError(layer.name, f"layer data of shape {x.shape} is not a units x bins raster")
    try:
        x = validate_configurations(x.T, source=layer.name)
    except InputError as err:
        raise InputError(layer.name, "layer is neither a {0,1} raster nor ±1 configurations") from err
    plain = Recording(raster=np.ascontiguousarray(x.T), encoding=detect_encoding(x))
    return prepare(plain, holdout, seed), None


def latent_overlays(z: np.ndarray, geom, base: str) -> dict:
    """Layer data for latents ``z`` over a raster named ``base`` (no Qt: runs in the worker)."""
    points, marker, link = overlays.latent_points_layers(z, geom, name=f"{base}: latent space")
    paths = overlays.latent_trajectory_layer(z, geom, f"{base}: latents")
    return {"paths": paths, "points": points, "marker": marker, "link": link}


class FitWidget(JobWidget):
    """Fit a product-decoder VAE to a raster or configuration layer, with a live plot."""

    settings_cls = VAEConfig
    settings_key = "fit"
    job_name = "Fit VAE"
    start_text = "Start"
    start_tip = "Train in a background process (napari stays responsive); the plot follows every epoch."
    stop_tip = "Stop within one epoch; the fit keeps its best model so far."
    in_process = True  # False: train in a thread of napari's process (benchmarks compare the two)

    def __init__(self, napari_viewer: napari.viewer.Viewer):
        super().__init__(napari_viewer, choices={"device": available_devices()})
        self.picker = LayerPicker(
            self, is_raster_layer, "Raster or configuration layer to fit (units × bins)."
        )
        self.main_layout.insertWidget(0, self.picker)
        self.plot = PlotCanvas(
            rows=2, tooltip="Negative ELBO (train, held-out) and the rate of each latent."
        )
        self.main_layout.addWidget(self.plot)
        self.save_ckpt_button = QPushButton("Save checkpoint…")
        self.save_ckpt_button.setToolTip("Write the fit (config, model, history) as a .pt checkpoint.")
        self.save_nwb_button = QPushButton("Save NWB…")
        self.save_nwb_button.setToolTip(
            "Write latents, patterns, fields, config and metrics to a new NWB file."
        )
        row = QHBoxLayout()
        row.addWidget(self.save_ckpt_button)
        row.addWidget(self.save_nwb_button)
        self.main_layout.addLayout(row)
        self.save_ckpt_button.clicked.connect(self._on_save_checkpoint)
        self.save_nwb_button.clicked.connect(self._on_save_nwb)
        self.fit = None  # the core Fit object (kept after training, saved on request)
        self.recording = None  # the Recording fitted (None for plain image layers)
        self.source_layer = None
        self.latents: np.ndarray | None = None
        self.history: list[dict] = []  # one row per epoch, as plotted
        self._link = None
        self._paths_layer = None
        self._camera_connected = False
        self._lod_timer = QTimer(self)  # re-decimate the latent paths once the camera rests
        self._lod_timer.setSingleShot(True)
        self._lod_timer.setInterval(150)
        self._lod_timer.timeout.connect(self._refresh_paths)
        self._plot_timer = QTimer(self)  # a redraw held back by REDRAW_S
        self._plot_timer.setSingleShot(True)
        self._plot_timer.timeout.connect(self._update_plot)
        self._drawn_at = self._status_at = -math.inf
        self.runner.activity_bar = False
        self._set_saving(False)

    # -- start / progress -------------------------------------------------------------------
    def _make_job(self, s: VAEConfig):
        import torch

        from ..core.fit_process import train_in_process

        layer = self.picker.layer()
        if layer is None:
            raise InputError(None, "choose a raster or configuration layer to fit")
        data, rec = layer_data(layer, s.holdout, s.seed, stream=True)  # the fit streams large rasters
        self.fit, self.recording, self.source_layer = None, rec, layer
        self.latents = None
        self.history = []
        self._set_saving(False)
        self._reset_plot()
        geom, base = overlays.RasterGeometry.of(layer), layer.name
        if not self.in_process:
            return self._thread_job(data, s, geom, base)
        # the child uses as many torch threads as this process was set to (default: the cores)
        job = train_in_process(data, s, threads=torch.get_num_threads())

        def then(_metrics) -> dict | None:
            # worker thread: the fit rebuilt here from the child's checkpoint (after a stop
            # too: its best model), and the overlay layer data (numpy only)
            done = job.result
            if done is None:
                return None
            z = done.latents
            return {"fit": done.rebuild(data), "latents": z, **latent_overlays(z, geom, base)}

        return job, then

    def _thread_job(self, data, s: VAEConfig, geom, base):
        """The same fit trained in the worker thread (it shares the GIL with napari)."""
        from ..core.fit_process import with_rates
        from ..core.fitting import new_fit

        fit = new_fit(data, s)

        def then(_metrics) -> dict:
            z = fit.latents()
            return {"fit": fit, "latents": z, **latent_overlays(z, geom, base)}

        return with_rates(fit), then

    def _on_progress(self, rec: Progress) -> None:
        now = time.monotonic()
        if now - self._status_at >= STATUS_S:
            self._status_at = now
            super()._on_progress(rec)
        m = rec.metrics
        if "rate_z0" not in m or m.get("epoch", 0) <= len(self.history):
            return
        if not self.history and "loglik" in m:  # the exact engine: -ELBO is -log p itself
            self.plot.axes[0].set_title("negative log-likelihood (exact)")
        self.history.append(dict(m))
        wait = self._drawn_at + REDRAW_S - time.monotonic()
        if wait <= 0:
            self._update_plot()
        elif not self._plot_timer.isActive():
            self._plot_timer.start(int(1000 * wait) + 1)

    def _reset_plot(self) -> None:
        for ax in self.plot.axes:
            ax.cla()
        from ._plots import style

        for ax in self.plot.axes:
            style(ax)
        a, b = self.plot.axes
        a.set_ylabel("nats / sample", fontsize=8)
        a.set_title("negative ELBO")
        b.set_ylabel("rate (nats)", fontsize=8)
        b.set_xlabel("epoch", fontsize=8)
        b.set_title("rate per latent")
        self._lines: dict[str, Any] = {}
        self._plot_timer.stop()
        self.plot.draw_idle()

    def _update_plot(self, final: bool = False) -> None:
        """Draw the history. The constrained layout (half of a draw's cost) is recomputed
        when lines are added and for the ``final`` draw, and kept as it is in between."""
        self._plot_timer.stop()
        self._drawn_at = time.monotonic()
        if self._closed or not self.history:
            return
        ax_loss, ax_rate = self.plot.axes
        epochs = [h["epoch"] for h in self.history]
        series = {
            "train": ("neg_elbo", ax_loss, "#1f77b4"),
            "held-out": ("test_neg_elbo", ax_loss, "#bcbd22"),
        }
        k = sum(1 for key in self.history[-1] if key.startswith("rate_z"))
        for j in range(k):  # the same colour as latent j's path over the raster
            color = overlays.LATENT_COLORS[j % len(overlays.LATENT_COLORS)]
            series[f"z{j}"] = (f"rate_z{j}", ax_rate, color)
        relayout = final
        for label, (key, ax, color) in series.items():
            y = [h.get(key, math.nan) for h in self.history]
            if label not in self._lines:
                (self._lines[label],) = ax.plot(epochs, y, label=label, color=color, lw=1.2)
                legend(ax)
                relayout = True
            else:
                self._lines[label].set_data(epochs, y)
        self.plot.figure.set_layout_engine("constrained" if relayout else "none")
        self.plot.redraw()

    # -- results ----------------------------------------------------------------------------
    def _apply(self, outcome: Outcome) -> None:
        if outcome.value is None:
            return
        self.fit = outcome.value["fit"]
        self.latents = np.asarray(outcome.value["latents"])
        self._update_plot(final=True)  # the last epochs, laid out afresh
        self._set_saving(True)
        if self.source_layer is not None:
            # the Theory widget finds fits here
            self.source_layer.metadata["fit"] = self.fit
        done = "stopped" if outcome.stopped else "finished"
        if getattr(self.fit, "method", "vae") == "exact":
            best_words = (f"best held-out log-likelihood {self.fit.best_test_loglik:.4g} nats/sample "
                          f"(exact; decoder {self.fit.decoder_label})")
        else:
            best = self.fit.metrics.get("best_test_neg_elbo", math.nan)
            best_words = f"best held-out -ELBO {best:.4g} nats/sample"
        self.status.setText(
            f"Fit {done} after {self.fit.epoch} epochs; {best_words}."
            + stimulus_locked_text(self.latents, self.recording.repeats if self.recording else None)
        )
        self._show(outcome.value)

    def show_latents(self) -> None:
        """Latent trajectories above the raster and the latent-space cloud below it."""
        layer = self.source_layer
        if layer is None or self.latents is None:
            return
        geom = overlays.RasterGeometry.of(layer)
        self._show(latent_overlays(self.latents, geom, layer.name))

    def _show(self, made: dict) -> None:
        layer = self.source_layer
        if layer is None or layer not in self.viewer.layers:
            return
        self._paths_layer = put_layer(self.viewer, made["paths"])
        if not self._camera_connected:
            camera = getattr(self.viewer, "scene", self.viewer).camera  # napari >= 0.9: scene
            self._connect(camera.events.zoom, self._on_camera)
            self._connect(camera.events.center, self._on_camera)
            self._camera_connected = True
        self._refresh_paths()
        put_layer(self.viewer, made["points"])
        link = made["link"]
        link.marker = put_layer(self.viewer, made["marker"])
        if self._link is not None:
            self._disconnect(self.viewer.cursor.events.position, self._link)
        self._link = link
        self._connect(self.viewer.cursor.events.position, link)
        self.viewer.layers.selection.active = layer

    def _on_camera(self, event=None) -> None:
        self._lod_timer.start()

    def _visible_x(self) -> tuple[float, float] | None:
        camera = getattr(self.viewer, "scene", self.viewer).camera
        top = self.window()
        central = top.centralWidget() if hasattr(top, "centralWidget") else None
        width = float(central.width()) if central is not None else 1000.0  # ~ the canvas
        half = 0.5 * width / max(camera.zoom, 1e-12)
        x = float(camera.center[-1])
        return x - half, x + half

    def _refresh_paths(self) -> None:
        """Show the latent paths at full resolution in the visible window (zoomed in)."""
        layer = self._paths_layer
        if self._closed or layer is None or layer not in self.viewer.layers:
            return
        lod = layer.metadata.get("lod")
        window = self._visible_x()
        if lod is None or window is None or not lod.needs_update(*window):
            return
        layer.data = (lod.paths(*window), "path")

    def shutdown(self, timeout_s: float = 60.0) -> None:
        self._lod_timer.stop()
        self._plot_timer.stop()
        super().shutdown(timeout_s)
        # closed during a fit: the child stopped and sent its best model, which is kept here
        # (not shown: the widget is gone) for scripts that still hold the widget
        outcome = self.runner.outcome
        if self.fit is None and outcome is not None and outcome.value is not None:
            self.fit, self.latents = outcome.value["fit"], outcome.value["latents"]

    def _disconnect(self, emitter, callback) -> None:
        emitter.disconnect(callback)
        self._connections = [(e, c) for e, c in self._connections if c is not callback]

    def _set_saving(self, enabled: bool) -> None:
        self.save_ckpt_button.setEnabled(enabled)
        self.save_nwb_button.setEnabled(enabled)

    def _set_running(self, running: bool) -> None:
        super()._set_running(running)
        self.picker.setEnabled(not running)
        if running:
            self._set_saving(False)

    # -- saving -----------------------------------------------------------------------------
    def _on_save_checkpoint(self, checked: bool = False, path: str | None = None) -> Path | None:
        if self.fit is None:
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save checkpoint", "fit.pt", "Checkpoint (*.pt)")
            if not path:
                return None
        out = self.fit.save(path)
        self.status.setText(f"Saved checkpoint {out}")
        return out

    def _on_save_nwb(self, checked: bool = False, path: str | None = None) -> Path | None:
        if self.fit is None:
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save fit as NWB", "fit.nwb", "NWB (*.nwb)")
            if not path:
                return None
        from ..core.errors import VaemfError
        from ..core.recordings import save_fit_to_nwb

        from ..core.vae import FitSummary

        if self.recording is None:
            self._report_error(InputError(None, "NWB export needs a recording layer (with a time base)"))
            return None
        fit = self.fit
        vec = fit.encoding == "vector"
        summary = FitSummary(
            latents=self.latents if self.latents is not None else fit.latents(),
            patterns=None if vec else fit.model.W.detach().cpu().numpy().copy(),
            fields=None if vec else fit.model.b.detach().cpu().numpy().copy(),
            encoding=fit.encoding,
            config={**fit.config.to_dict(), "method": getattr(fit, "method", "vae")},
            metrics=dict(fit.metrics),
        )
        try:
            out = save_fit_to_nwb(summary, self.recording, path, overwrite=True)
        except (VaemfError, OSError) as exc:
            self._report_error(exc)
            return None
        self.status.setText(f"Saved NWB {out}")
        return out
