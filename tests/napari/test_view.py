"""The first-view hook on a viewer model (no Qt): framing, the scale bar, unit ids under the cursor."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf._napari.layers import recording_layer
from napari_vaemf._napari.view import camera, canvas_overlay, first_window, unit_words, watch
from napari_vaemf.core.recordings import Recording


@pytest.fixture
def viewer():
    from napari.components import ViewerModel

    return ViewerModel()


def add(viewer, rec, name="rec"):
    from napari.layers import Layer

    return viewer.add_layer(Layer.create(*recording_layer(rec, name=name)))


def spikes(n_units=4, n_bins=30_000, bin_size=0.02, t_start=100.0):
    rng = np.random.default_rng(0)
    raster = (rng.random((n_units, n_bins)) < 0.05).astype(np.uint8)
    units = {"id": np.arange(10, 10 + n_units), "location": np.array(["CA1", "CA3", "DG", "EC"][:n_units])}
    return Recording(raster=raster, bin_size=bin_size, t_start=t_start, units=units, encoding="binary")


def test_a_long_recording_opens_on_its_first_minute(viewer):
    assert watch(viewer) and not watch(viewer)  # installed once
    layer = add(viewer, spikes())  # 600 s
    cam = camera(viewer)
    h, w = viewer.canvas.size
    left = cam.center[-1] - w / cam.zoom / 2
    assert w / cam.zoom == pytest.approx(60.0 / (1 - 2 * 0.04))  # the first minute, with margins
    assert left < 100.0 < left + 5.0  # starting at the recording's start
    assert canvas_overlay(viewer, "scale_bar").visible
    assert tuple(str(u) for u in layer.units) == ("second", "second")


def test_short_recordings_and_configurations_are_framed_whole_or_by_the_canvas(viewer):
    watch(viewer)
    short = add(viewer, spikes(n_bins=1000), "short")  # 20 s: all of it
    x0, x1, y0, y1 = first_window(short, viewer.canvas.size)
    assert (x1 - x0) == pytest.approx(20.0) and (y1 - y0) == pytest.approx(4.0)
    configs = Recording(raster=np.where(np.random.default_rng(1).random((64, 5000)) < 0.5, 1, -1).astype(np.int8),
                        encoding="spin", model="curie-weiss")
    layer = add(viewer, configs, "configs")  # sample index across: a window as wide as the canvas
    x0, x1, y0, y1 = first_window(layer, (600, 800))
    assert (x1 - x0) == pytest.approx(64 * 800 / 600) and (y1 - y0) == pytest.approx(64.0)


def test_the_unit_under_the_cursor_is_named(viewer):
    watch(viewer)
    layer = add(viewer, spikes())
    assert unit_words(layer, (2.0, 100.0 + 12.34)) == "unit id 12 · t = 112.340 s · DG"
    assert unit_words(layer, (7.0, 112.0)) is None  # below the last unit
    viewer.cursor.position = (1.0, 130.0)
    text = canvas_overlay(viewer, "text")
    assert text.visible and text.text.startswith("unit id 11 ·")
    viewer.cursor.position = (50.0, 130.0)  # off the raster: the overlay clears
    assert not text.visible and text.text == ""


def test_layers_that_are_not_recordings_are_left_alone(viewer):
    watch(viewer)
    viewer.add_image(np.zeros((10, 10)))
    zoom = camera(viewer).zoom
    viewer.add_points(np.zeros((1, 2)))
    assert camera(viewer).zoom == zoom and not canvas_overlay(viewer, "scale_bar").visible
