"""Trials widget on the MTL recording: open, fit (K = 2, 2 epochs), align the clips to their
first boundary by stimulus category; layers, plot and the view following a trial."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf._widgets._fit import FitWidget
from napari_vaemf._widgets._trials import TrialsWidget


@pytest.fixture
def mtl_fitted(make_napari_viewer, press_and_wait, shared):
    path = shared.need(shared.MTL)
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(path), plugin="napari-vaemf")
    fit_w = FitWidget(viewer)
    fit_w.form.set_values(latents=2, epochs=2, device="cpu")
    press_and_wait(fit_w, timeout=300_000)
    assert layer.metadata["fit"] is fit_w.fit
    fit_w.close()
    return viewer, layer


def _center_x(viewer) -> float:
    return float(getattr(viewer, "scene", viewer).camera.center[-1])


def test_align_the_mtl_clips_in_napari(mtl_fitted, press_and_wait):
    viewer, layer = mtl_fitted
    n_units, n_bins = layer.data.shape
    # the widget as napari makes it from the Plugins menu (napari.yaml)
    _dock, w = viewer.window.add_plugin_dock_widget("napari-vaemf", "Trials")
    assert isinstance(w, TrialsWidget) and w.picker.layer() == layer  # through napari's proxy
    # the form lists the file's tables, the table's time columns and its categorical columns
    assert {"encoding_table", "recognition_table", "events"} <= set(w.form.widgets["table"].choices)
    w.form.set_values(table="encoding_table")
    assert "boundary1_time" in w.form.widgets["time"].choices
    assert "stimCategory" in w.form.widgets["by"].choices
    w.form.set_values(time="boundary1_time", by="stimCategory", window=(-1.0, 3.0))
    press_and_wait(w)
    a = w.aligned
    assert a is not None and a.n_trials == 90 and a.group_sizes() == [30, 30, 30]
    assert a.latents.shape == (90, 200, 2) and a.counts.shape == (90, 200, n_units)
    assert "90 trials: 0 (n=30), 1 (n=30), 2 (n=30)" in w.status.text()
    assert "1=no boundary (NB)" in w.status.text()
    # layers: event markers above the raster, the aligned raster (units x trials rows) below it
    label = "encoding_table boundary1_time"
    events = viewer.layers[f"{layer.name}: {label}"]
    assert events.data.shape == (90, 2) and np.allclose(events.data[:, 1], a.event_times)
    assert set(events.features["group"]) == {"0", "1", "2"}
    raster = viewer.layers[f"{layer.name}: aligned {label}"]
    assert raster.data.shape == (n_units * 90, 200)
    assert viewer.layers[f"{layer.name}: aligned {label}: groups"].data.shape == (n_units * 90, 1, 3)
    # rows of the first unit block are its trials sorted by group: the first 30 are group 0
    order = a.order()
    assert np.array_equal(raster.data[:90], a.counts[order, :, 0])
    assert (a.group[order[:30]] == 0).all()
    # the plot: one panel per latent, one line per group
    assert len(w.plot.axes) == 2 and len(w.plot.axes[0].lines) == 3 + 1  # + the event line
    # the trial list (by group) and the markers move the view to a trial
    assert w.trial_list.rowCount() == 90
    w._on_trial_clicked(45)
    t = a.event_times[order[45]]
    assert _center_x(viewer) == pytest.approx(t + 1.0)
    events.selected_data = {7}
    assert _center_x(viewer) == pytest.approx(a.event_times[7] + 1.0)
    assert w.layer == layer and n_bins == 141054
    w.close()


def _small_nwb(path):
    """10 Poisson units over 100 s, 9 trials (side 1/2) and a 2-D position in processing/behavior."""
    from datetime import datetime, timezone

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.behavior import Position, SpatialSeries

    rng = np.random.default_rng(0)
    nwb = NWBFile(session_description="small", identifier="small",
                  session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    for _ in range(10):
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, 100, 800)))
    nwb.add_trial_column("side", "1 = left, 2 = right")
    for i in range(9):
        nwb.add_trial(start_time=10.0 * (i + 1), stop_time=10.0 * (i + 1) + 2, side=1 + i % 2)
    t = np.arange(0, 100, 0.05)
    xy = np.column_stack([np.sin(t / 5), np.cos(t / 7)])
    nwb.create_processing_module("behavior", "behaviour").add(Position(spatial_series=SpatialSeries(
        name="position", data=xy, timestamps=t, reference_frame="corner", unit="meters")))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def test_behaviour_lanes_and_refusals(make_napari_viewer, press_and_wait, tmp_path):
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(_small_nwb(tmp_path / "small.nwb")), plugin="napari-vaemf")
    w = TrialsWidget(viewer)
    assert w.form.widgets["table"].value == "trials" and w.form.widgets["time"].value == "start_time"
    w.form.set_values(by="side", window=(-1.0, 2.0))
    w.start_button.click()  # no fit on the layer yet: refused in words, no worker
    assert w.runner.worker is None and "no fit on this layer" in w.status.text()
    lanes = w._on_show_behavior(source="processing/behavior/Position")
    assert len(lanes.data) == 2 and lanes.data[0].shape[1] == 2  # x and y: two lanes
    assert lanes.data[0][:, 1].max() <= 100.0 and lanes.data[0][:, 0].max() < 0  # above the raster
    assert list(lanes.features["variable"]) == ["position[0]", "position[1]"]
    assert w._on_show_behavior(source=str(tmp_path / "absent.csv")) is None
    assert "absent.csv: --behavior: file not found" in w.status.text()
    fit_w = FitWidget(viewer)
    fit_w.form.set_values(latents=1, epochs=1, device="cpu")
    press_and_wait(fit_w)
    fit_w.close()
    w.form.set_values(window=(-1.0, 500.0))
    press_and_wait(w)
    assert "--window -1 500: 501 s is longer than the recording" in w.status.text()
    w.form.set_values(window=(-1.0, 2.0))
    press_and_wait(w)
    assert w.aligned.n_trials == 9 and w.aligned.groups == [1, 2]
    w.close()


def test_controls_explain_themselves_choices_persist_and_close_disconnects(make_napari_viewer, tmp_path):
    from napari_vaemf.core.settings import field_help

    viewer = make_napari_viewer()
    viewer.open(str(_small_nwb(tmp_path / "small.nwb")), plugin="napari-vaemf")
    w = TrialsWidget(viewer)
    helps = field_help(w.settings_cls)
    for name, control in w.form.widgets.items():
        assert control.tooltip and control.tooltip == helps[name], name
    for button in (w.start_button, w.stop_button, w.behavior_button):
        assert button.toolTip()
    assert w.picker.toolTip() and w.trial_list.toolTip()
    assert w.form.widgets["time"].choices == ("start_time", "stop_time")
    w.form.set_values(time="stop_time", by="side", window=(-0.5, 1.5))
    w.close()
    assert w._connections == [] and w._closed
    again = TrialsWidget(viewer)  # the last session's choices, once the layer lists them
    got = again.form.values()
    assert (got.table, got.time, got.by) == ("trials", "stop_time", "side")
    again.form.set_values(window=(2.0, 1.0))  # an impossible window is not saved
    again.close()
    third = TrialsWidget(viewer)
    assert third.form.values().window == (-1.0, 3.0)
    third.close()
