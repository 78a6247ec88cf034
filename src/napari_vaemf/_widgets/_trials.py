"""Trials dock widget: the layer's latents aligned to the trials or events of its NWB file.

Pick a recording layer that Fit VAE has fitted, a table (interval tables and event series
of the layer's NWB file), the time column, the window and the grouping (the form is
:class:`~napari_vaemf.core.trials.AlignSettings`), then **Align**: the latents and counts
are cut around the event times in a worker (:func:`napari_vaemf.core.trials.align`); the
plot shows each latent's mean ± s.e.m. per group, markers at the event times sit above the
raster, and the aligned raster (per unit its trials, sorted by group) appears below it.
Clicking a trial in the list, selecting its marker or clicking its row of the aligned
raster centres the view on it. **Show behaviour** draws a behavioural series of the file
(or a CSV/.npy) in lanes above the latent lanes.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtWidgets import (QHBoxLayout, QLineEdit, QPushButton, QTableWidget, QTableWidgetItem)

from .._napari import overlays
from .._napari.trials import aligned_raster_layers, behavior_lanes_layer, event_points_layer
from ..core.errors import InputError, VaemfError
from ..core.progress import Progress
from ..core.trials import AlignSettings, draw_aligned, find_tables, group_legend, read_table
from ._base import JobWidget, LayerPicker, put_layer
from ._plots import PlotCanvas, legend, style
from ._runner import Outcome
from ._settings import load_settings

if TYPE_CHECKING:
    import napari

__all__ = ["TrialsWidget"]

log = logging.getLogger(__name__)

NO_GROUP = ("(one group)", None)
MAX_PLOTTED_LATENTS = 4


def is_recording_layer(layer) -> bool:
    return "recording" in layer.metadata


def _align_job(fit, table, rec, s: AlignSettings):
    """Worker: the fit's latents of every bin, then the alignment."""
    from ..core.trials import align

    yield Progress("latents", 0, 2)
    z = fit.latents()
    if len(z) != rec.n_bins:
        raise InputError(rec.source, f"the fit has {len(z)} latent rows but the layer {rec.n_bins} "
                                     "bins: fit the layer again after changing it")
    yield Progress("align", 1, 2)
    return align(table, z, rec.bin_size, rec.t_start, s, counts=rec.raster)


class TrialsWidget(JobWidget):
    """Latents aligned to trials and events, grouped; the view follows a chosen trial."""

    settings_cls = AlignSettings
    settings_key = "trials"
    job_name = "Align trials"
    start_text = "Align"
    start_tip = "Cut the layer's latents and spike counts into windows around the chosen times."
    stop_tip = "Cancel the alignment."

    def __init__(self, napari_viewer: napari.viewer.Viewer):
        # placeholders until a layer is chosen (_on_layer_changed lists the file's tables)
        super().__init__(napari_viewer, choices={"table": [""], "time": [""], "by": [None]})
        self._wanted = load_settings(AlignSettings, self.settings_key)  # last session's choices
        self.picker = LayerPicker(self, is_recording_layer,
                                  "Recording layer (from an NWB file) fitted with Fit VAE.")
        self.main_layout.insertWidget(0, self.picker)
        self.plot = PlotCanvas(rows=2, tooltip="Mean ± s.e.m. of each latent per group, "
                                               "around the event time (dashed).")
        self.main_layout.addWidget(self.plot)
        self.trial_list = QTableWidget(0, 3)
        self.trial_list.setHorizontalHeaderLabels(["row", "group", "time (s)"])
        self.trial_list.horizontalHeader().setStretchLastSection(True)
        self.trial_list.verticalHeader().setVisible(False)
        self.trial_list.setToolTip("The aligned trials by group: click one to centre the view on it.")
        self.trial_list.cellClicked.connect(self._on_trial_clicked)
        self.main_layout.addWidget(self.trial_list)
        self.behavior_source = QLineEdit("processing/behavior")
        self.behavior_source.setToolTip("Behaviour to show beside the latents: a path inside the "
                                        "layer's NWB file, or a .csv/.npy file (first column: time).")
        self.behavior_button = QPushButton("Show behaviour")
        self.behavior_button.setToolTip("Resample the behaviour onto the raster's bins and draw it "
                                        "in lanes above the latent lanes.")
        self.behavior_button.clicked.connect(self._on_show_behavior)
        row = QHBoxLayout()
        row.addWidget(self.behavior_source)
        row.addWidget(self.behavior_button)
        self.main_layout.addLayout(row)
        self.aligned = None  # the last core.trials.Aligned
        self.layer = None  # the raster layer it was aligned on
        self.events_layer = None
        self._source = None  # NWB file whose tables the form lists
        self._restored = False  # the last session's choices were offered once the form filled
        self.picker.currentTextChanged.connect(self._on_layer_changed)
        for emitter in (self.viewer.layers.events.inserted, self.viewer.layers.events.removed):
            self._connect(emitter, self._on_layer_changed)
        by = self.form.widgets["by"]
        by.null_string = NO_GROUP[0]  # magicgui's own entry for None in an optional field
        self._by_nullable = None in by.choices
        self.form.widgets["table"].changed.connect(self._on_table_changed)
        self._on_layer_changed()

    # -- the form follows the layer's file ------------------------------------------------
    def _choose(self, name: str, choices: list, default=None) -> None:
        """Offer ``choices`` for field ``name``; keep the value shown if it is one of them
        (the last session's value first, until the form has been filled once)."""
        widget = self.form.widgets[name]
        current, wanted = widget.value, getattr(self._wanted, name)
        widget.choices = choices
        values = [c[1] if isinstance(c, tuple) else c for c in choices]
        order = (current, wanted) if self._restored else (wanted, current)
        for p in (*order, default):
            if p in values:
                widget.value = p
                return

    def _on_layer_changed(self, *_) -> None:
        layer = self.picker.layer()
        rec = None if layer is None else layer.metadata.get("recording")
        source = None if rec is None else rec.source
        if source == self._source:
            return
        self._source = source
        names: list[str] = []
        if source is not None and source.suffix.lower() == ".nwb":
            try:
                names = list(find_tables(source))
            except VaemfError as exc:
                self.status.setText(str(exc))
        if source is not None and not names:
            self.status.setText(f"{source.name}: no interval tables or event series")
        self._choose("table", names or [""], "trials")
        self._on_table_changed()
        self._restored = self._restored or bool(names)

    def _on_table_changed(self, *_) -> None:
        name = self.form.widgets["table"].value
        times, groups = [""], ([] if self._by_nullable else [NO_GROUP])
        if self._source is not None and name:
            try:
                table = read_table(self._source, name)
                times = table.time_columns() or [""]
                groups += [(c, c) for c in table.categorical_columns()]
            except VaemfError as exc:
                self.status.setText(str(exc))
        self._choose("time", times, "start_time" if "start_time" in times else times[0])
        self._choose("by", groups)

    # -- the job ----------------------------------------------------------------------------
    def _on_start(self) -> None:
        try:
            self.form.values()
        except VaemfError as exc:  # e.g. a window whose start is after its end
            self._report_error(exc)
            return
        super()._on_start()

    def _make_job(self, s: AlignSettings):
        layer = self.picker.layer()
        if layer is None:
            raise InputError(None, "choose a recording layer")
        fit = layer.metadata.get("fit")
        if fit is None:
            raise InputError(layer.name, "no fit on this layer: fit it with Fit VAE first")
        rec = layer.metadata["recording"]
        if rec.source is None or rec.bin_size is None:
            raise InputError(layer.name, "aligning needs a recording read from an NWB file")
        table = read_table(rec.source, s.table)
        geom, base = overlays.RasterGeometry.of(layer), layer.name
        self.layer = layer
        label = f"{s.table} {s.time}"

        def then(aligned) -> dict:
            # worker thread: the layers' data (numpy only)
            if aligned is None:
                return {}
            return {"aligned": aligned,
                    "events": event_points_layer(aligned, geom, f"{base}: {label}"),
                    "raster": aligned_raster_layers(aligned, geom, f"{base}: aligned {label}")}

        return _align_job(fit, table, rec, s), then

    def _apply(self, outcome: Outcome) -> None:
        made = outcome.value or {}
        if outcome.stopped or "aligned" not in made:
            self.status.setText("Alignment cancelled.")
            return
        a = self.aligned = made["aligned"]
        self._draw(a)
        self._fill_list(a)
        lost = {k: v for k, v in a.dropped.items() if v}
        text = f"{a.n_trials} trials: " + ", ".join(group_legend(a))
        if lost:
            text += "; dropped " + ", ".join(f"{v} {k}" for k, v in lost.items())
        if a.description:
            text += f". {a.settings.by}: {a.description}"
        for w in a.warnings:
            text += f"\n⚠ {w}"
        self.status.setText(text)
        if self.layer is None or self.layer not in self.viewer.layers:
            return
        events = put_layer(self.viewer, made["events"])
        if events is not self.events_layer:
            self._connect(events.selected_data.events.items_changed, self._on_event_selected)
            self.events_layer = events
        for t in made["raster"]:
            shown = put_layer(self.viewer, t)
            if "rows" in shown.metadata and self._on_raster_click not in shown.mouse_drag_callbacks:
                shown.mouse_drag_callbacks.append(self._on_raster_click)
        self.viewer.layers.selection.active = self.layer

    def _draw(self, a) -> None:
        fig = self.plot.figure
        fig.clear()
        k = min(MAX_PLOTTED_LATENTS, a.latents.shape[2])
        self.plot.axes = [fig.add_subplot(k, 1, i + 1) for i in range(k)]
        draw_aligned(a, self.plot.axes)
        for ax in self.plot.axes:
            style(ax)
            if ax.get_legend() is not None:
                legend(ax)
        self.plot.draw_idle()

    def _fill_list(self, a) -> None:
        order = a.order()
        self.trial_list.setRowCount(len(order))
        for i, t in enumerate(order):
            cells = (str(int(a.rows[t])), a.labels[a.group[t]], f"{a.event_times[t]:.3f}")
            for j, text in enumerate(cells):
                self.trial_list.setItem(i, j, QTableWidgetItem(text))
        self.trial_list.resizeColumnsToContents()

    # -- following a trial ------------------------------------------------------------------
    def go_to_trial(self, trial: int) -> None:
        """Centre the view on trial ``trial`` (an index into the aligned arrays): its window
        on the raster, zoomed so that about three windows fit across."""
        a, layer = self.aligned, self.layer
        if a is None or layer is None or not 0 <= trial < a.n_trials:
            return
        geom = overlays.RasterGeometry.of(layer)
        w0, w1 = a.settings.window
        camera = getattr(self.viewer, "scene", self.viewer).camera
        top = self.window()
        central = top.centralWidget() if hasattr(top, "centralWidget") else None
        width = float(central.width()) if central is not None else 1000.0
        height = float(central.height()) if central is not None else 800.0
        camera.zoom = min(width / (3.0 * (w1 - w0)), height / (1.5 * max(geom.n_units, 1)))
        centre = (0.5 * (geom.n_units - 1), float(a.event_times[trial]) + 0.5 * (w0 + w1))
        camera.center = (0.0, *centre)[-len(camera.center):]

    def _on_trial_clicked(self, row: int, column: int = 0) -> None:
        if self.aligned is not None and 0 <= row < self.aligned.n_trials:
            self.go_to_trial(int(self.aligned.order()[row]))

    def _on_event_selected(self, added=(), removed=()) -> None:
        if len(added) == 1:
            self.go_to_trial(int(next(iter(added))))

    def _on_raster_click(self, layer, event) -> None:
        rows = layer.metadata.get("rows")
        if rows is None or event.type != "mouse_press":
            return
        row = int(np.floor(layer.world_to_data(event.position)[-2] + 0.5))
        trial = rows.trial(row)
        if trial is not None:
            self.go_to_trial(trial)

    # -- behaviour --------------------------------------------------------------------------
    def _on_show_behavior(self, checked: bool = False, source: str | None = None):
        """Behaviour of ``source`` (default: the line edit) in lanes above the latent lanes."""
        from ..core.behavior import load_behavior, resample

        layer = self.picker.layer()
        source = source or self.behavior_source.text().strip()
        try:
            if layer is None:
                raise InputError(None, "choose a recording layer")
            rec = layer.metadata["recording"]
            if rec.bin_size is None:
                raise InputError(layer.name, "the layer has no time base (bin size)")
            b = resample(load_behavior(source, rec.source), rec.t_start, rec.bin_size, rec.n_bins)
        except VaemfError as exc:
            self._report_error(exc)
            return None
        fit = layer.metadata.get("fit")
        first = fit.config.latents if fit is not None else 0
        geom = overlays.RasterGeometry.of(layer)
        shown = put_layer(self.viewer, behavior_lanes_layer(b.values, b.columns, geom, first,
                                                            name=f"{layer.name}: behaviour"))
        self.status.setText(f"Behaviour: {', '.join(b.columns)} ({b.kind}) from {b.source}.")
        self.viewer.layers.selection.active = layer
        return shown

    def shutdown(self, timeout_s: float = 60.0) -> None:
        try:
            self.form.values()
        except VaemfError:  # keep a bad window out of the saved settings
            self.form.set_values(window=AlignSettings.window)
        super().shutdown(timeout_s)
