"""A first look that reads: a dropped recording opens on its first minute, scale bar in seconds,
the unit under the cursor named; vaemf docks share tabs."""
from __future__ import annotations

import pytest

from napari_vaemf._napari.view import camera, canvas_overlay


def visible_x(viewer) -> tuple[float, float]:
    """World x range the canvas shows."""
    cam = camera(viewer)
    h, w = viewer.canvas.size
    cx, span = cam.center[-1], w / cam.zoom
    return cx - span / 2, cx + span / 2


def test_a_dropped_recording_opens_on_its_first_minute(make_napari_viewer, shared):
    path = shared.need(shared.MTL)  # 35 units x 141,054 bins of 20 ms: 47 minutes
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(path), plugin="napari-vaemf")  # as a drop: no vaemf widget open
    x0, x1 = visible_x(viewer)
    start = layer.translate[-1] - layer.scale[-1] / 2
    assert x1 - x0 <= 120.0  # at most two minutes across, not the 47-minute sliver
    assert x0 <= start + 1.0 and x1 >= start + 30.0  # the start of the recording, 30 s or more
    bar = canvas_overlay(viewer, "scale_bar")
    assert bar.visible and str(viewer.layers.units[-1]) == "second"  # the bar reads seconds
    # every unit in view: the rows span the canvas height at this zoom or less
    rows_px = layer.data.shape[0] * layer.scale[-2] * camera(viewer).zoom
    assert rows_px <= viewer.canvas.size[0]
    # the unit under the cursor is named (id and, for this file, its brain area)
    ids = layer.metadata["vaemf"]["unit_ids"]
    viewer.cursor.position = (7.0, start + 12.0)
    text = canvas_overlay(viewer, "text").text
    assert f"unit id {ids[7]}" in text and "t = 12.0" in text


def test_rebinning_keeps_the_users_view(make_napari_viewer, qtbot, press_and_wait, tmp_path):
    import numpy as np

    from napari_vaemf._widgets._load_recording import LoadRecordingWidget

    rng = np.random.default_rng(0)  # 3 units over 200 s: a spike list, binned at 20 ms
    ids = np.repeat([1.0, 2.0, 3.0], 300)
    np.save(tmp_path / "spikes.npy", np.column_stack([ids, rng.uniform(0, 200, ids.size)]))
    viewer = make_napari_viewer()
    w = LoadRecordingWidget(viewer)
    w._on_open(path=str(tmp_path / "spikes.npy"))
    qtbot.waitUntil(lambda: w.runner.worker is None, timeout=60_000)
    x0, x1 = visible_x(viewer)
    assert 30.0 <= x1 - x0 <= 120.0 and canvas_overlay(viewer, "scale_bar").visible
    camera(viewer).zoom *= 2  # the user zooms in
    zoom = camera(viewer).zoom
    w.form.set_values(bin_size=0.04)
    press_and_wait(w)  # Apply re-bins in place: no new layer, no re-framing
    assert viewer.layers["spikes"].scale[-1] == pytest.approx(0.04)
    assert camera(viewer).zoom == pytest.approx(zoom)


def test_vaemf_docks_share_tabs(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    (first, w1), (second, w2) = (viewer.window.add_plugin_dock_widget("napari-vaemf", name)
                                 for name in ("Load recording", "Fit VAE"))
    qtbot.wait(50)
    assert first in viewer.window._qt_window.tabifiedDockWidgets(second)
    for w in (w1, w2):  # before the viewer goes: they watch its window
        w.close()
