"""Theory dock widget: read a mean-field theory off a fitted decoder and show it.

Works on any layer that the Fit VAE widget has fitted (the fit is kept in the layer's
``metadata["fit"]``) or whose checkpoint is loaded here. Shows the parameters in a table
and adds the patterns/fields images and the pattern-overlap strip beside the raster. The
generalized Hopfield read-off of an exact fit also reads the decoder's energy
(:func:`~napari_vaemf.core.extraction.energy_report.energy_report`): its attractors, the
basin track and, for K = 2, the landscape with the recording's trajectory
(:mod:`napari_vaemf._napari.attractors`); "Save energy…" writes it as ``energy.npz``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtWidgets import QFileDialog, QPushButton, QTableWidget, QTableWidgetItem

from ..core.errors import InputError
from ..core.progress import Progress
from .._napari import attractors, overlays
from ._base import JobWidget, LayerPicker, put_layer
from ._fit import layer_data
from ..core.extraction import ExtractionSettings
from ..core.stats import pattern_overlaps
from ._form import option
from ._runner import Outcome

if TYPE_CHECKING:
    import napari

__all__ = ["TheorySettings", "TheoryWidget"]


@dataclass
class TheorySettings(ExtractionSettings):
    """Settings of the Theory widget: the read-off's (core) plus how overlaps are shown."""

    overlap_threshold: float = option(0.0, min=0.0, max=100.0, step=0.1, cli=False)  # |overlap| above which a bin is labelled with its pattern; 0 = automatic (0.5 for spins, 2 standard deviations for binary data)


def has_fit(layer) -> bool:
    return "fit" in layer.metadata


@dataclass
class EnergyView:
    """The read-off energy of an exact fit and what the widget shows of it."""

    report: Any  # core.extraction.energy_report.EnergyReport
    landscape: dict | None = None  # core.extraction.attractors.landscape (K = 2), else None
    trajectory: np.ndarray | None = None  # (T, 2) E[z | x] of the recorded bins (K = 2)


def _has_energy(fit, theory: str) -> bool:
    return (theory == "generalized-hopfield" and getattr(fit, "method", None) == "exact"
            and getattr(fit, "x", None) is not None)


def _extract_job(fit, s: ExtractionSettings):
    """The read-off; for a generalized Hopfield read-off of an exact fit also the energy.
    Returns ``(Extraction, EnergyView or None)``."""
    from ..core.extraction import extract

    yield Progress("extract", 0, 1)
    ex = extract(fit, s.theory, seed=s.seed, n_samples=s.prior_samples)
    yield Progress("extract", 1, 1)
    if not _has_energy(fit, s.theory):
        return ex, None
    view = yield from _energy_job(fit, s.seed)
    ex.summary.update(view.report.summary())  # as `vaemf extract` writes it
    ex.diagnostics["n_attractors"] = len(view.report.attractors)
    return ex, view


def _energy_job(fit, seed: int):
    from ..core.extraction.attractors import landscape, posterior_mean
    from ..core.extraction.energy_report import energy_report

    yield Progress("energy: attractors, quadratic share", 0, 1)
    report = energy_report(fit, fit.x, getattr(fit, "test_index", None))
    yield Progress("energy: attractors, quadratic share", 1, 1)
    if report.energy.nodes.shape[1] != 2:
        return EnergyView(report)
    yield Progress("energy: landscape", 0, 1)
    view = EnergyView(report, landscape(report.energy, seed=seed), posterior_mean(report.energy, fit.x))
    yield Progress("energy: landscape", 1, 1)
    return view


class TheoryWidget(JobWidget):
    """Extract Curie-Weiss, Hopfield, Maier-Saupe or generalized Hopfield parameters."""

    settings_cls = TheorySettings
    settings_key = "theory"
    job_name = "Theory read-off"
    start_text = "Extract"
    start_tip = "Read the chosen theory off the layer's fitted decoder (background thread)."
    stop_tip = "Cancel the read-off."

    def __init__(self, napari_viewer: napari.viewer.Viewer):
        super().__init__(napari_viewer)
        self.picker = LayerPicker(self, has_fit, "Fitted layer (fit it with the Fit VAE widget, or load a checkpoint).")
        self.main_layout.insertWidget(0, self.picker)
        self.load_button = QPushButton("Load checkpoint…")
        self.load_button.setToolTip("Attach a saved fit (.pt) to the selected raster layer.")
        self.load_button.clicked.connect(self._on_load_checkpoint)
        self.main_layout.insertWidget(1, self.load_button)
        self.save_energy_button = QPushButton("Save energy…")
        self.save_energy_button.setToolTip(
            "Write the read-off energy (generalized Hopfield read-off of an exact fit) as energy.npz.")
        self.save_energy_button.clicked.connect(self._on_save_energy)
        self.save_energy_button.setEnabled(False)
        self.main_layout.addWidget(self.save_energy_button)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["parameter", "value"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setToolTip("Parameters read off the decoder, the consistency score and diagnostics.")
        self.main_layout.addWidget(self.table)
        self.extraction = None  # the last Extraction
        self.energy_report = None  # the last EnergyReport (generalized Hopfield, exact fits)
        self._layer = None

    def _on_load_checkpoint(self, checked: bool = False, path: str | None = None, layer=None) -> None:
        from ..core.errors import VaemfError
        from ..core.fitting import load_fit
        from ._fit import is_raster_layer

        layer = layer or self.viewer.layers.selection.active
        if layer is None or not is_raster_layer(layer):
            self._report_error(InputError(None, "select the raster layer the checkpoint was fitted on"))
            return
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Load checkpoint", "", "Checkpoint (*.pt)")
            if not path:
                return
        try:
            data, _rec = layer_data(layer, 0.0)
            layer.metadata["fit"] = load_fit(path, x=data.x)
        except (VaemfError, OSError) as exc:
            self._report_error(exc)
            return
        self.picker.refresh()
        self.picker.setCurrentText(layer.name)
        self.status.setText(f"Loaded {path} onto '{layer.name}'.")

    def _on_save_energy(self, checked: bool = False, path: str | None = None) -> None:
        if self.energy_report is None:
            self._report_error(InputError(None, "no energy to save: run the generalized-hopfield "
                                                "read-off on a layer fitted with the exact engine"))
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save energy", "energy.npz", "Energy (*.npz)")
            if not path:
                return
        try:
            saved = self.energy_report.energy.save(path)
        except OSError as exc:
            self._report_error(InputError(path, f"cannot write the energy ({exc.strerror or exc})"))
            return
        if self.extraction is not None:
            self.extraction.diagnostics["energy_file"] = str(saved)
        self.status.setText(f"Saved the energy to {saved}.")

    def _make_job(self, s: TheorySettings):
        layer = self.picker.layer()
        if layer is None:
            raise InputError(None, "no fitted layer: fit one with the Fit VAE widget first")
        self._layer = layer
        self._settings = s
        return _extract_job(layer.metadata["fit"], s), None

    def _apply(self, outcome: Outcome) -> None:
        if outcome.stopped or outcome.value is None:
            self.status.setText("Read-off cancelled.")
            return
        ex, energy = outcome.value
        self.extraction = ex
        self.energy_report = None if energy is None else energy.report
        self.save_energy_button.setEnabled(energy is not None)
        self._fill_table(ex)
        text = f"{ex.theory}: consistency {ex.consistency:.3f} (1 = the decoder has exactly this form)."
        if energy is not None:
            text += (f" Energy: {len(energy.report.attractors)} attractors besides the silent state"
                     f" ({energy.report.silent_state['fraction']:.0%} of bins descend to it).")
        self.status.setText(text)
        layer = self._layer
        if layer is not None and layer in self.viewer.layers:
            self.show_layers(layer, ex, self._settings.overlap_threshold, energy)

    def _fill_table(self, ex) -> None:
        rows = [(k, v) for k, v in ex.parameters.items()]
        rows.append(("consistency", ex.consistency))
        rows += [(k, v) for k, v in ex.diagnostics.items() if np.isscalar(v)]
        rows += [(k, v) for k, v in ex.summary.items() if np.isscalar(v)]
        self.table.setRowCount(len(rows))
        for i, (k, v) in enumerate(rows):
            text = f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)
            self.table.setItem(i, 0, QTableWidgetItem(str(k)))
            self.table.setItem(i, 1, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def show_layers(self, layer, ex, threshold: float, energy: EnergyView | None = None) -> None:
        """Patterns and fields beside the raster; the overlap strip under it; with ``energy``
        the attractors left of them, the basin track and the landscape."""
        fit = layer.metadata["fit"]
        geom = overlays.RasterGeometry.of(layer)
        patterns, fields, label = ex.patterns, ex.fields, f"{layer.name}: {ex.theory} patterns"
        if patterns is None and fit.encoding != "vector":
            patterns = fit.model.W.detach().cpu().numpy().reshape(geom.n_units, -1)
            fields = fit.model.b.detach().cpu().numpy()
            label = f"{layer.name}: decoder W"
        beside = [] if patterns is None else overlays.pattern_layers(patterns, fields, geom, name=label)
        for t in beside:
            put_layer(self.viewer, t)
        if energy is not None:
            for t in attractors.energy_layers(energy.report, geom, layer.name, beside,
                                              energy.landscape, energy.trajectory):
                put_layer(self.viewer, t)
        if patterns is None:
            return
        if ex.patterns is not None and fit.x is not None:
            m = pattern_overlaps(fit.x, ex.patterns, fit.encoding)
            if threshold <= 0:
                threshold = 0.5 if fit.encoding == "spin" else 2.0
            put_layer(
                self.viewer,
                overlays.overlap_labels_layer(m, geom, threshold, name=f"{layer.name}: overlaps"),
            )
            self._add_overlap_features(f"{layer.name}: latent space", m)
        self.viewer.layers.selection.active = layer

    def _add_overlap_features(self, name: str, m: np.ndarray) -> None:
        """Give the Fit widget's latent-space points the overlaps m0.. of their bins."""
        if name not in self.viewer.layers:
            return
        points = self.viewer.layers[name]
        features = points.features.copy()
        if "bin" not in features:
            return
        bins = features["bin"].to_numpy()
        for mu in range(m.shape[1]):
            features[f"m{mu}"] = m[bins, mu]
        points.features = features
