"""What every vaemf dock widget shares: a settings form, Start/Stop, a job runner, clean close.

Subclasses build a core job in ``_make_job`` and apply its results in ``_apply`` (main
thread); they register viewer-event connections with ``_connect`` so that ``close`` can
undo every one of them.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from qtpy.QtCore import QEvent, QTimer
from qtpy.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .._napari.view import watch
from ..core.errors import VaemfError
from ..core.progress import Progress, shown_metrics
from ._form import SettingsForm
from ._runner import JobRunner, Outcome
from ._triton_guard import keep_triton_out_if_it_would_crash

if TYPE_CHECKING:
    import napari

__all__ = ["JobWidget", "LayerPicker", "put_layer"]

log = logging.getLogger(__name__)


class JobWidget(QWidget):
    """Base dock widget: ``form`` (settings), ``start_button``/``stop_button``, ``status``."""

    settings_cls: type
    settings_key: str
    job_name: str = "job"
    start_text: str = "Start"
    start_tip: str = "Start the job in a background thread (napari stays responsive)."
    stop_tip: str = "Stop after the current step; what was computed so far is kept."

    def __init__(self, napari_viewer: napari.viewer.Viewer, choices: dict | None = None):
        super().__init__()
        self.viewer = napari_viewer
        watch(napari_viewer)  # new recording layers open framed on their first minute (_napari.view)
        self._connections: list[tuple[Any, Callable]] = []
        self._closed = False
        self._watched = None  # the top-level window whose closing we watch
        self._tabbed = False  # tabbed with sibling vaemf docks (first show)
        self.form = SettingsForm(self.settings_cls, self.settings_key, choices=choices)
        self.runner = JobRunner(
            self.job_name,
            on_progress=self._on_progress,
            on_result=self._on_result,
            on_error=self._on_error,
            on_finished=self._on_finished,
        )
        self.start_button = QPushButton(self.start_text)
        self.start_button.setToolTip(self.start_tip)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip(self.stop_tip)
        self.stop_button.setEnabled(False)
        self.start_button.clicked.connect(self._on_start)
        self.stop_button.clicked.connect(self._on_stop)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setToolTip("What the widget is doing, and the last result in words.")

        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        self.main_layout = QVBoxLayout(self)
        self.main_layout.addWidget(self.form.native)
        self.main_layout.addLayout(buttons)
        self.main_layout.addWidget(self.status)

    # -- to override ----------------------------------------------------------------------
    def _make_job(self, settings: Any):
        """Return ``(job, then)`` or ``(job, then, each)``: a core generator, an optional
        worker-side post-step for its result and one for each progress record."""
        raise NotImplementedError

    def _apply(self, outcome: Outcome) -> None:
        """Show the result (main thread)."""

    def _on_progress(self, rec: Progress) -> None:
        if rec.metrics:
            shown = ", ".join(f"{k}={v}" for k, v in shown_metrics(rec).items())
            self.status.setText(f"{rec.stage} {rec.step}/{rec.total or '?'}: {shown}")
        else:
            self.status.setText(f"{rec.stage} {rec.step}/{rec.total or '?'}")

    # -- plumbing -------------------------------------------------------------------------
    def _connect(self, emitter, callback: Callable) -> None:
        """Connect a napari/psygnal emitter and remember it for ``close``."""
        emitter.connect(callback)
        self._connections.append((emitter, callback))

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.form.set_enabled(not running)

    def _on_start(self) -> None:
        settings = self.form.values()
        self.form.save()
        # Before _make_job: building a fit makes a torch optimizer, which imports triton via
        # torch._dynamo, and that import segfaults once napari's OpenGL context exists.
        keep_triton_out_if_it_would_crash()
        try:
            made = self._make_job(settings)
        except VaemfError as exc:
            self._report_error(exc)
            return
        if made is None:
            return
        job, then, each = (tuple(made) + (None,))[:3]
        self._set_running(True)
        self.status.setText(f"{self.job_name}: starting")
        self.runner.start(job, then, each)

    # -- closing napari while a job runs ------------------------------------------------
    # napari's own close quits the worker (it registered it when the worker was created);
    # we also watch the top-level window so that we can wait for the thread to leave the job.
    def _tab_with_siblings(self) -> None:
        """Share a tab with the vaemf widgets already docked in the same area (napari stacks
        menu-opened docks, which on a 1080p screen squeezes each form), and come to the front."""
        dock = self.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        main = dock.parentWidget() if dock is not None else None
        if not isinstance(main, QMainWindow):
            return
        area = main.dockWidgetArea(dock)
        for other in main.findChildren(QDockWidget):
            if (other is not dock and other.isVisible() and main.dockWidgetArea(other) == area
                    and other.findChild(JobWidget) is not None and other not in main.tabifiedDockWidgets(dock)):
                main.tabifyDockWidget(other, dock)
                break
        dock.raise_()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if not self._tabbed:
            self._tabbed = True
            self._tab_with_siblings()
        top = self.window()
        if top is not self and top is not self._watched:
            if self._watched is not None:
                self._watched.removeEventFilter(self)
            top.installEventFilter(self)
            self._watched = top
        super().showEvent(event)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt naming)
        if obj is self._watched and event.type() == QEvent.Type.Close and self.runner.running:
            if event.spontaneous():  # the user's close button: napari may still ask to confirm
                QTimer.singleShot(0, self._after_window_close)
            else:
                self.shutdown()
        return False

    def _after_window_close(self) -> None:
        if self._watched is not None and not self._watched.isVisible():
            self.shutdown()

    def _on_stop(self) -> None:
        self.status.setText(f"{self.job_name}: stopping after the current step")
        self.runner.stop()

    def _on_result(self, outcome: Outcome) -> None:
        if self._closed:
            return
        self._apply(outcome)

    def _on_error(self, exc: BaseException) -> None:
        self.status.setText(f"{self.job_name} failed: {exc}")

    def _on_finished(self) -> None:
        if not self._closed:
            self._set_running(False)

    def _report_error(self, exc: BaseException) -> None:
        from napari.utils.notifications import show_error

        show_error(f"{self.job_name}: {exc}")
        self.status.setText(f"{self.job_name}: {exc}")

    def shutdown(self, timeout_s: float = 60.0) -> None:
        """Stop any running job, wait for its thread, save settings, disconnect everything."""
        if self._closed:
            return
        self._closed = True
        self.runner.stop_and_wait(timeout_s)
        self.runner.detach()
        self.form.save()
        for emitter, callback in self._connections:
            emitter.disconnect(callback)
        self._connections.clear()
        if self._watched is not None:
            self._watched.removeEventFilter(self)
            self._watched = None

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self.shutdown()
        super().closeEvent(event)


class LayerPicker(QComboBox):
    """A combo box of the viewer's layers that pass ``accept(layer)``, kept up to date."""

    def __init__(self, owner: JobWidget, accept: Callable[[Any], bool], tooltip: str):
        super().__init__()
        self._viewer = owner.viewer
        self._accept = accept
        self.setToolTip(tooltip)
        events = owner.viewer.layers.events
        for emitter in (events.inserted, events.removed, events.moved):
            owner._connect(emitter, self.refresh)
        self.refresh()

    def refresh(self, event=None) -> None:
        current = self.currentText()
        names = [layer.name for layer in self._viewer.layers if self._accept(layer)]
        self.blockSignals(True)
        self.clear()
        self.addItems(names)
        if current in names:
            self.setCurrentText(current)
        elif event is not None and getattr(event, "type", "") == "inserted" and names:
            new = getattr(event, "value", None)
            if new is not None and new.name in names:
                self.setCurrentText(new.name)
        self.blockSignals(False)

    def layer(self):
        """The chosen layer, or None."""
        name = self.currentText()
        return self._viewer.layers[name] if name in self._viewer.layers else None


def put_layer(viewer, layer_tuple) -> Any:
    """Add a LayerDataTuple to ``viewer``; a layer of the same name and type is updated in place.

    Updating keeps the layer's identity (pickers, selections and links stay valid) and
    avoids napari's garbage collection on layer removal, a visible hitch with big data.
    """
    from napari.layers import Layer

    data, meta, layer_type = (tuple(layer_tuple) + ({}, "image"))[:3]
    meta = dict(meta or {})
    name = meta.get("name")
    old = viewer.layers[name] if name is not None and name in viewer.layers else None
    if old is not None and _kind(old) == layer_type and _update_in_place(old, data, meta):
        return old
    if old is not None:
        viewer.layers.remove(old)
    layer = Layer.create(data, meta, layer_type)
    viewer.add_layer(layer)
    return layer


def _kind(layer) -> str:
    """"image", "points", ... (the class name; works through napari's plugin proxies)."""
    return layer.__class__.__name__.lower()


_SETTABLE = (
    "scale", "translate", "contrast_limits", "colormap", "opacity", "metadata", "features",
    "size", "face_color", "border_color", "edge_color", "edge_width", "units", "axis_labels",
)


def _update_in_place(layer, data, meta: dict) -> bool:
    kind = _kind(layer)
    if kind in ("image", "labels"):
        if bool(meta.get("multiscale", False)) != bool(getattr(layer, "multiscale", False)):
            return False
        if bool(meta.get("rgb", False)) != bool(getattr(layer, "rgb", False)):
            return False
        if np.ndim(data) != layer.ndim and not meta.get("multiscale", False):
            return False
    elif kind == "points":
        if np.ndim(data) != 2 or np.shape(data)[1] != layer.ndim:
            return False
    elif kind == "shapes":
        if len(data) != layer.nshapes:
            return False
        data = (data, meta.get("shape_type", "path"))
    else:
        return False
    layer.data = data
    for key in _SETTABLE:
        if key in meta:
            setattr(layer, key, meta[key])
    return True
