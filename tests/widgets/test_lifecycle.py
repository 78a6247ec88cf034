"""Widgets persist their settings, explain every control, and close without leaking."""
from __future__ import annotations

import dataclasses
import json

import pytest

from napari_vaemf._widgets._capacity import CapacityWidget
from napari_vaemf._widgets._fit import FitWidget
from napari_vaemf._widgets._load_recording import LoadRecordingWidget
from napari_vaemf._widgets._settings import CONFIG_ENV, config_dir
from napari_vaemf.core.settings import field_help
from napari_vaemf._widgets._simulate import SimulateWidget
from napari_vaemf._widgets._theory import TheoryWidget

WIDGETS = [SimulateWidget, LoadRecordingWidget, FitWidget, CapacityWidget, TheoryWidget]


def fit_children() -> list:
    """This process's spawned children (a fit's child process), not its resource tracker."""
    import psutil  # a dependency of distributed

    return [c for c in psutil.Process().children()
            if c.is_running() and c.status() != psutil.STATUS_ZOMBIE
            and any("spawn_main" in part for part in c.cmdline())]


def test_every_control_has_a_tooltip(make_napari_viewer):
    viewer = make_napari_viewer()
    names = ["Simulate", "Load recording", "Fit VAE", "Capacity", "Theory"]
    for cls, name in zip(WIDGETS, names):
        # as napari does it from the Plugins menu (npe2 manifest -> class -> viewer argument)
        _dock, w = viewer.window.add_plugin_dock_widget("napari-vaemf", name)
        assert type(w) is cls
        assert getattr(w.viewer, "__wrapped__", w.viewer) is viewer  # napari's plugin proxy
        helps = field_help(w.settings_cls)
        for name, control in w.form.widgets.items():
            assert control.tooltip and control.tooltip == helps[name], (cls.__name__, name)
        for button in (w.start_button, w.stop_button):
            assert button.toolTip()
        if hasattr(w, "picker"):
            assert w.picker.toolTip()
        w.close()


def test_settings_persist_between_sessions(make_napari_viewer, tmp_path, monkeypatch):
    assert config_dir() == tmp_path / "settings"  # the tests never touch the user's folder
    viewer = make_napari_viewer()
    w = FitWidget(viewer)
    w.form.set_values(latents=5, epochs=7, holdout=0.25, seed=11)
    w.close()
    stored = json.loads((tmp_path / "settings" / "fit.json").read_text())
    assert stored["latents"] == 5 and stored["holdout"] == 0.25
    again = FitWidget(viewer)
    got = again.form.values()
    assert (got.latents, got.epochs, got.holdout, got.seed) == (5, 7, 0.25, 11)
    again.close()
    # a corrupt or mistyped file falls back to defaults instead of failing
    (tmp_path / "settings" / "fit.json").write_text('{"latents": "many", "epochs": 9}')
    third = FitWidget(viewer)
    assert third.form.values().latents == type(third.form.values())().latents
    assert third.form.values().epochs == 9
    third.close()
    monkeypatch.delenv(CONFIG_ENV)
    assert "napari-vaemf" in str(config_dir())


def test_close_while_fitting_stops_worker_and_disconnects(make_napari_viewer, qtbot, press_and_wait):
    viewer = make_napari_viewer()
    sim = SimulateWidget(viewer)
    sim.form.set_values(model="curie-weiss", n=10, samples=2000, seed=4)
    press_and_wait(sim)
    layers_events = viewer.layers.events
    before = {n: len(getattr(layers_events, n).callbacks) for n in ("inserted", "removed", "moved")}
    w = FitWidget(viewer)
    assert len(layers_events.inserted.callbacks) > before["inserted"]
    w.form.set_values(latents=1, epochs=100_000, batch_size=16, device="cpu")
    w.start_button.click()
    qtbot.waitUntil(lambda: len(w.history) >= 1, timeout=60_000)
    assert len(fit_children()) == 1
    runner = w.runner
    w.close()  # must stop the fit's child process and wait for its thread
    assert runner._done.is_set()
    assert fit_children() == []
    assert 1 <= w.fit.epoch < 100_000  # the child's best model came back before the close ended
    qtbot.waitUntil(lambda: runner.worker is None, timeout=10_000)
    after = {n: len(getattr(layers_events, n).callbacks) for n in ("inserted", "removed", "moved")}
    assert after == before
    assert w._connections == []
    sim.close()


def test_napari_closing_cancels_running_fit(make_napari_viewer, qtbot, press_and_wait):
    viewer = make_napari_viewer(show=True)
    sim = SimulateWidget(viewer)
    sim.form.set_values(model="curie-weiss", n=10, samples=2000, seed=5)
    press_and_wait(sim)
    w = FitWidget(viewer)
    viewer.window.add_dock_widget(w, name="Fit VAE")
    w.form.set_values(latents=1, epochs=100_000, batch_size=16, device="cpu")
    w.start_button.click()
    qtbot.waitUntil(lambda: len(w.history) >= 1, timeout=60_000)
    assert len(fit_children()) == 1
    runner = w.runner
    viewer.close()  # closes the main window (the close button does the same, after confirming)
    assert runner._done.is_set() and w._closed
    assert fit_children() == []  # no training process outlives napari's window
    assert 1 <= w.fit.epoch < 100_000


def test_settings_dataclasses_have_comments():
    from napari_vaemf.core.capacity import CapacitySettings
    from napari_vaemf.core.data import InputOptions
    from napari_vaemf.core.vae import VAEConfig
    from napari_vaemf._widgets._load_recording import LoadSettings
    from napari_vaemf._widgets._simulate import SimulateSettings
    from napari_vaemf._widgets._theory import TheorySettings

    for cls in (SimulateSettings, LoadSettings, VAEConfig, CapacitySettings, TheorySettings,
                InputOptions):
        missing = [f.name for f in dataclasses.fields(cls) if not field_help(cls)[f.name]]
        assert not missing, (cls.__name__, missing)


@pytest.mark.parametrize(
    "failure, words",
    [("nan", "the training loss became nan"),
     ("killed", "the fit process ended unexpectedly (killed by signal sigkill)"),
     ("oom", "runtimeerror: cuda out of memory")],
)
def test_worker_errors_are_notifications(make_napari_viewer, qtbot, monkeypatch, failure, words):
    """A NaN loss (a huge learning rate) or a killed fit process becomes one notification of
    one line and the widget is usable again; so does a torch RuntimeError (e.g. CUDA out of
    memory) in a job that runs in the worker thread (the fit's thread path stands in)."""
    import numpy as np

    import napari_vaemf._widgets._runner as runner_mod
    from napari_vaemf.core.progress import Progress
    from napari_vaemf.core.vae import Fit

    shown = []
    monkeypatch.setattr(runner_mod, "show_error", shown.append)
    viewer = make_napari_viewer()
    viewer.add_image((np.random.default_rng(0).random((6, 2000)) < 0.3).astype(np.uint8))
    w = FitWidget(viewer)
    w.form.set_values(device="cpu", epochs=100_000, batch_size=16, method="vae")
    if failure == "nan":  # beyond the form's range: as a script or a settings file could set it
        values = w.form.values
        monkeypatch.setattr(w.form, "values", lambda: dataclasses.replace(values(), lr=1e30))
    elif failure == "oom":
        def broken_train(self, epochs=None):
            yield Progress("train", 1, 10, {"epoch": 0, "neg_elbo": 5.0})
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore details")

        monkeypatch.setattr(Fit, "train", broken_train)
        monkeypatch.setattr(FitWidget, "in_process", False)
    w.start_button.click()
    if failure == "killed":
        qtbot.waitUntil(lambda: len(w.history) >= 1, timeout=60_000)
        (child,) = fit_children()
        child.kill()
    qtbot.waitUntil(lambda: w.runner.worker is None, timeout=60_000)
    assert len(shown) == 1 and words in shown[0].lower(), shown
    assert "\n" not in shown[0] and "Traceback" not in shown[0]
    assert w.start_button.isEnabled() and not w.stop_button.isEnabled()
    assert fit_children() == []
    w.close()


def test_simulate_can_be_cancelled(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    sim = SimulateWidget(viewer)
    sim.form.set_values(model="curie-weiss", n=64, samples=5_000_000, seed=0)
    sim.start_button.click()
    qtbot.waitUntil(lambda: "sample" in sim.status.text() or "/" in sim.status.text(), timeout=20_000)
    sim.stop_button.click()
    qtbot.waitUntil(lambda: sim.runner.worker is None, timeout=20_000)
    assert sim.status.text() == "Simulation cancelled." and len(viewer.layers) == 0
    assert sim.start_button.isEnabled()
    sim.close()
