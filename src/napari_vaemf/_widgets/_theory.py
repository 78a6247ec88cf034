"""Theory dock widget: read a mean-field theory off a fitted decoder and show it.

Works on any layer that the Fit VAE widget has fitted (the fit is kept in the layer's
``metadata["fit"]``) or whose checkpoint is loaded here. Shows the parameters in a table
and adds the patterns/fields images and the pattern-overlap strip beside the raster.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtWidgets import QFileDialog, QPushButton, QTableWidget, QTableWidgetItem

from ..core.errors import InputError
from ..core.progress import Progress
from .._napari import overlays
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


def _extract_job(fit, s: ExtractionSettings):
    from ..core.extraction import extract

    yield Progress("extract", 0, 1)
    return extract(fit, s.theory, seed=s.seed, n_samples=s.prior_samples)


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
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["parameter", "value"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setToolTip("Parameters read off the decoder, the consistency score and diagnostics.")
        self.main_layout.addWidget(self.table)
        self.extraction = None  # the last Extraction
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

    def _make_job(self, s: TheorySettings):
        layer = self.picker.layer()
        if layer is None:
            raise InputError(None, "no fitted layer: fit one with the Fit VAE widget first")
        self._layer = layer
        self._settings = s
        return _extract_job(layer.metadata["fit"], s), None

    def _apply(self, outcome: Outcome) -> None:
        ex = outcome.value
        if outcome.stopped or ex is None:
            self.status.setText("Read-off cancelled.")
            return
        self.extraction = ex
        self._fill_table(ex)
        self.status.setText(
            f"{ex.theory}: consistency {ex.consistency:.3f} (1 = the decoder has exactly this form)."
        )
        layer = self._layer
        if layer is not None and layer in self.viewer.layers:
            self.show_layers(layer, ex, self._settings.overlap_threshold)

    def _fill_table(self, ex) -> None:
        rows = [(k, v) for k, v in ex.parameters.items()]
        rows.append(("consistency", ex.consistency))
        rows += [(k, v) for k, v in ex.diagnostics.items() if np.isscalar(v)]
        self.table.setRowCount(len(rows))
        for i, (k, v) in enumerate(rows):
            text = f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)
            self.table.setItem(i, 0, QTableWidgetItem(str(k)))
            self.table.setItem(i, 1, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def show_layers(self, layer, ex, threshold: float) -> None:
        """Patterns and fields beside the raster; the overlap strip under it."""
        fit = layer.metadata["fit"]
        geom = overlays.RasterGeometry.of(layer)
        patterns, fields, label = ex.patterns, ex.fields, f"{layer.name}: {ex.theory} patterns"
        if patterns is None and fit.encoding != "vector":
            patterns = fit.model.W.detach().cpu().numpy().reshape(geom.n_units, -1)
            fields = fit.model.b.detach().cpu().numpy()
            label = f"{layer.name}: decoder W"
        if patterns is None:
            return
        for t in overlays.pattern_layers(patterns, fields, geom, name=label):
            put_layer(self.viewer, t)
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
