"""A first look that reads: a recording framed on its first minute, with a time scale and unit ids.

A raster of 35 units x 141,054 bins shown whole is a one-pixel sliver. When a recording
layer (built by :func:`~napari_vaemf._napari.layers.recording_layer`) is added, :func:`frame`
points the camera at its first :data:`FIRST_WINDOW_S` seconds (configuration layers: the
first samples that make a window as wide as the units are tall) across the canvas width,
with every unit in view when they fit (else the first ones); turns napari's scale bar on
(the raster's time axis is in seconds, so the bar reads seconds); and names the unit under
the cursor in the viewer's text overlay ("unit id 12 · t = 3.140 s · amygdala").

Where it runs: napari readers and sample-data commands return layer data only and cannot
move the camera, so this is a viewer hook. :func:`watch` connects (once per viewer) to
``viewer.layers.events.inserted`` and to the cursor. It is installed by every vaemf dock
widget (``JobWidget``), by ``vaemf demo --gui``, and by the reader itself through
``napari.current_viewer()`` when there is one, so a file dropped on a fresh window is framed
too. Only newly inserted recording layers are framed: re-binning in place (Load recording's
Apply) keeps the user's view.

No Qt here: only the viewer model (camera, canvas size, scale bar, text overlay).
"""
from __future__ import annotations

import logging
import weakref
from typing import Any


__all__ = ["frame", "first_window", "watch", "watch_current_viewer", "unit_words", "camera",
           "canvas_overlay", "FIRST_WINDOW_S"]

log = logging.getLogger(__name__)

FIRST_WINDOW_S = 60.0  # seconds of a recording in the first view
MARGIN = 0.04  # blank fraction of the canvas around the framed window
# id(viewer) -> its hook: napari's emitters hold bound methods weakly, so the hook lives here
# until its viewer is collected
_HOOKS: dict[int, "_Hook"] = {}


def camera(viewer: Any) -> Any:
    """The viewer's camera (``viewer.scene.camera`` since napari 0.9, ``viewer.camera`` before)."""
    scene = getattr(viewer, "scene", None)
    return scene.camera if scene is not None else viewer.camera


def canvas_overlay(viewer: Any, name: str) -> Any:
    """The ``scale_bar`` or ``text`` overlay (``viewer.canvas.overlays`` since napari 0.9)."""
    overlays = getattr(getattr(viewer, "canvas", None), "overlays", None)
    if overlays is not None and name in overlays:
        return overlays[name]
    return getattr(viewer, {"text": "text_overlay"}.get(name, name))


def is_recording_layer(layer: Any) -> bool:
    """A layer made by ``recording_layer`` (it carries the Recording in its metadata)."""
    meta = getattr(layer, "metadata", None)
    return isinstance(meta, dict) and "recording" in meta and "vaemf" in meta


def _geometry(layer: Any) -> tuple[int, int, float, float, float]:
    """(rows, columns, row height, column width, world x of the left edge) of a raster layer."""
    shape = tuple(layer.level_shapes[0]) if getattr(layer, "multiscale", False) else tuple(layer.data.shape)
    if getattr(layer, "rgb", False):
        shape = shape[:-1]
    rows, cols = int(shape[-2]), int(shape[-1])
    dy, dx = float(layer.scale[-2]), float(layer.scale[-1])
    left = float(layer.translate[-1]) - 0.5 * dx
    return rows, cols, dy, dx, left


def _has_seconds(layer: Any) -> bool:
    units = getattr(layer, "units", None)
    return units is not None and str(units[-1]) == "second"


def first_window(layer: Any, canvas_size: tuple[int, int], window_s: float = FIRST_WINDOW_S
                 ) -> tuple[float, float, float, float]:
    """World rectangle ``(x0, x1, y0, y1)`` of the first view of a raster layer.

    Time layers: the first ``window_s`` seconds. Configuration layers (sample index across):
    as many samples as make the window's aspect the canvas's with every unit in view.
    Never more than the layer holds.
    """
    rows, cols, dy, dx, left = _geometry(layer)
    h, w = canvas_size
    height = rows * dy
    width = cols * dx
    span = window_s if _has_seconds(layer) else height * max(w, 1) / max(h, 1)
    span = min(span, width)
    return left, left + span, -0.5 * dy, -0.5 * dy + height


def frame(viewer: Any, layer: Any, window_s: float = FIRST_WINDOW_S) -> None:
    """Show the first window of ``layer`` across the canvas width, units from the top, and
    turn the scale bar on."""
    h, w = (int(v) for v in viewer.canvas.size)
    if h <= 1 or w <= 1:  # not laid out yet: napari's default canvas
        h, w = 600, 800
    x0, x1, y0, y1 = first_window(layer, (h, w), window_s)
    zoom = w * (1 - 2 * MARGIN) / max(x1 - x0, 1e-12)
    shown_h = h / zoom  # world height on screen at that zoom
    cy = 0.5 * (y0 + y1) if (y1 - y0) <= shown_h * (1 - 2 * MARGIN) else y0 + 0.5 * shown_h - MARGIN * shown_h
    cam = camera(viewer)
    center = (0.0, cy, 0.5 * (x0 + x1))
    cam.center = center[-len(cam.center):]
    cam.zoom = zoom
    bar = canvas_overlay(viewer, "scale_bar")
    bar.visible = True
    bar.ticks = True
    log.debug("framed %s on x [%g, %g], zoom %g", layer.name, x0, x1, zoom)


def unit_words(layer: Any, world_position) -> str | None:
    """"unit id 12 · t = 3.140 s · amygdala" for the raster cell at ``world_position``, or None
    outside the raster."""
    data_pos = layer.world_to_data(world_position)
    rows, cols, _, _, _ = _geometry(layer)
    r, c = int(round(float(data_pos[-2]))), int(round(float(data_pos[-1])))
    if not (0 <= r < rows and 0 <= c < cols):
        return None
    meta = layer.metadata["vaemf"]
    units = meta.get("units") or {}
    ids = units.get("id") or meta.get("unit_ids") or list(range(rows))
    words = [f"unit id {ids[r]}" if r < len(ids) else f"row {r}"]
    if _has_seconds(layer):
        words.append(f"t = {float(world_position[-1]):.3f} s")
    else:
        words.append(f"sample {c}")
    for column in ("location", "brain_area", "quality"):
        values = units.get(column)
        if values is not None and r < len(values) and values[r] not in (None, ""):
            words.append(str(values[r]))
            break
    return " · ".join(words)


class _Hook:
    """What :func:`watch` connects: frame new recording layers, name the unit under the cursor."""

    def __init__(self, viewer: Any):
        self._viewer = weakref.ref(viewer)
        self._shown: str | None = None  # the text this hook last put in the overlay
        self._framed: tuple[weakref.ref, tuple, float] | None = None  # layer, center, zoom we set

    def on_inserted(self, event) -> None:
        viewer, layer = self._viewer(), getattr(event, "value", None)
        if viewer is None or layer is None or not is_recording_layer(layer):
            return
        self._frame(viewer, layer)

    def _frame(self, viewer: Any, layer: Any) -> None:
        frame(viewer, layer)
        cam = camera(viewer)
        self._framed = (weakref.ref(layer), tuple(cam.center), float(cam.zoom))

    def on_canvas_size(self, event=None) -> None:
        """The canvas settles after the layer arrives (docks resize): frame again while the
        camera is still where we put it, stop once the user has moved it."""
        viewer = self._viewer()
        if viewer is None or self._framed is None:
            return
        ref, center, zoom = self._framed
        layer, cam = ref(), camera(viewer)
        if layer is None or layer not in viewer.layers or tuple(cam.center) != center or float(cam.zoom) != zoom:
            self._framed = None
            return
        self._frame(viewer, layer)

    def on_cursor(self, event=None) -> None:
        viewer = self._viewer()
        if viewer is None:
            return
        position = viewer.cursor.position
        text = None
        for layer in reversed(list(viewer.layers)):  # the topmost recording under the cursor
            if layer.visible and is_recording_layer(layer):
                text = unit_words(layer, position)
                if text is not None:
                    break
        overlay = canvas_overlay(viewer, "text")
        if text is not None:
            overlay.text, overlay.visible = text, True
            self._shown = text
        elif self._shown is not None and overlay.text == self._shown:
            overlay.text, overlay.visible = "", False  # ours to clear; leave anyone else's
            self._shown = None


def watch(viewer: Any) -> bool:
    """Install the hook on ``viewer`` (once); True when it was installed now."""
    if viewer is None:
        return False
    old = _HOOKS.get(id(viewer))
    if old is not None and old._viewer() is viewer:
        return False
    hook = _Hook(viewer)
    viewer.layers.events.inserted.connect(hook.on_inserted)
    viewer.cursor.events.position.connect(hook.on_cursor)
    canvas = getattr(viewer, "canvas", None)  # napari >= 0.9 keeps the canvas size in the model
    if canvas is not None and hasattr(canvas.events, "size"):
        canvas.events.size.connect(hook.on_canvas_size)
    text = canvas_overlay(viewer, "text")
    text.position = "top_left"
    text.font_size = 11
    _HOOKS[id(viewer)] = hook
    weakref.finalize(viewer, _HOOKS.pop, id(viewer), None)
    return True


def watch_current_viewer() -> None:
    """:func:`watch` napari's current viewer, if there is one (from the reader)."""
    try:
        from napari import current_viewer
    except ImportError:  # pragma: no cover - napari is a dependency
        return
    viewer = current_viewer()
    if viewer is not None:
        watch(viewer)
