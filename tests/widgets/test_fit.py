"""Simulate -> Fit VAE (trained in a child process): layers appear with the right shapes,
Stop keeps the best model and leaves no process behind."""
from __future__ import annotations

import time

import numpy as np
import pytest

from napari_vaemf._widgets._fit import FitWidget
from napari_vaemf._widgets._simulate import SimulateWidget

N, T = 12, 600


@pytest.fixture
def cw_layer(make_napari_viewer, press_and_wait):
    viewer = make_napari_viewer()
    sim = SimulateWidget(viewer)
    sim.form.set_values(model="curie-weiss", n=N, beta_j=1.3, samples=T, seed=1)
    press_and_wait(sim)
    layer = sim.layer
    assert layer is not None and layer.data.shape == (N, T)
    assert set(np.unique(layer.data)) <= {-1, 1}
    sim.close()
    return viewer, layer


def test_fit_adds_latent_layers(cw_layer, press_and_wait):
    viewer, layer = cw_layer
    w = FitWidget(viewer)
    assert w.picker.layer() is layer
    w.form.set_values(latents=2, epochs=3, batch_size=128, device="cpu", holdout=0.2, features=0)
    seen = []  # (kind, epoch) in the order the main thread handled them
    show, result = w.runner.on_progress, w.runner.on_result
    w.runner.on_progress = lambda rec: (seen.append(("p", rec.metrics["epoch"])), show(rec))
    w.runner.on_result = lambda out: (seen.append(("r", None)), result(out))
    press_and_wait(w)
    epochs = [e for kind, e in seen if kind == "p"]
    assert epochs == sorted(epochs) and seen[-1] == ("r", None)
    assert w.fit is not None and w.fit.epoch == 3
    assert [h["epoch"] for h in w.history] == [1, 2, 3]
    # the result is shown after the last progress record, not overwritten by it
    assert w.status.text().startswith("Fit finished after 3 epochs")
    assert all(np.isfinite(h["rate_z1"]) for h in w.history)
    assert w.latents.shape == (T, 2)
    paths = viewer.layers[f"{layer.name}: latents"]
    assert len(paths.data) == 2 and paths.data[0].shape == (T, 2)
    pts = viewer.layers[f"{layer.name}: latent space"]
    assert pts.data.shape == (T, 2)
    assert np.allclose(pts.features["time"], np.arange(T))
    # zooming onto a few samples re-draws the paths at full resolution for that window
    lod = paths.metadata["lod"]
    lod.max_vertices = 200  # pretend the recording is long (600 bins > 200)
    camera = getattr(viewer, "scene", viewer).camera
    camera.center = (0.0, 5.0, 100.0)[-len(camera.center):]
    camera.zoom = 50.0
    w._refresh_paths()
    j0, j1 = lod.window
    assert 0 < j0 < 100 < j1 < T and len(paths.data[0]) == j1 - j0
    # lines were drawn for train, held-out and each latent
    assert len(w.plot.axes[0].lines) == 2 and len(w.plot.axes[1].lines) == 2
    w.close()


def fit_children() -> list:
    """This process's spawned children (the fit's child process), not its resource tracker."""
    import psutil  # a dependency of distributed

    return [c for c in psutil.Process().children()
            if c.is_running() and c.status() != psutil.STATUS_ZOMBIE
            and any("spawn_main" in part for part in c.cmdline())]


def test_stop_mid_fit_keeps_best_model(cw_layer, qtbot):
    viewer, layer = cw_layer
    w = FitWidget(viewer)
    w.form.set_values(latents=1, epochs=10_000, batch_size=8, device="cpu", holdout=0.2)
    w.start_button.click()
    qtbot.waitUntil(lambda: len(w.history) >= 2, timeout=60_000)
    assert len(fit_children()) == 1  # the fit trains in a child process
    assert w.stop_button.isEnabled() and not w.start_button.isEnabled()
    assert w.fit is None  # the fit comes back when the child has finished
    t0 = time.perf_counter()
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.runner.worker is None, timeout=30_000)
    stop_s = time.perf_counter() - t0
    assert w.start_button.isEnabled() and not w.stop_button.isEnabled()
    assert 2 <= w.fit.epoch < 10_000
    # the child stopped at its next record (epochs of 60 steps here) and the fit came back
    # with its best model: the one that scored the best held-out -ELBO
    assert stop_s < 15.0, stop_s
    assert np.isfinite(w.fit.best_test_neg_elbo)
    monitor = -w.fit.test_loglik() if w.fit.method == "exact" else w.fit._heldout_neg_elbo()
    assert monitor == pytest.approx(w.fit.best_test_neg_elbo, rel=1e-5)
    assert w.latents is not None and w.latents.shape == (T, 1)
    assert w.status.text().startswith("Fit stopped after")
    assert fit_children() == []
    w.close()


def test_sample_data_fit_theory(make_napari_viewer, press_and_wait):
    """The plugin's own Hopfield sample data -> Fit VAE -> Theory: layers with the right shapes."""
    from napari_vaemf._widgets._theory import TheoryWidget

    viewer = make_napari_viewer()
    (layer,) = viewer.open_sample("napari-vaemf", "hopfield")
    n, t = layer.data.shape
    truth = np.asarray(layer.metadata["vaemf"]["truth"]["patterns"])
    p = truth.shape[1]
    # the widgets as napari makes them from the Plugins menu (behind its plugin proxy)
    _dock, fit_w = viewer.window.add_plugin_dock_widget("napari-vaemf", "Fit VAE")
    # three epochs: too few for the default's choice of decoder class to mean anything, so
    # the Hopfield form (rank-K fields, H = K) is asked for
    fit_w.form.set_values(latents=p, epochs=3, batch_size=128, device="cpu", features=0)
    press_and_wait(fit_w)
    assert layer.metadata["fit"] is fit_w.fit
    assert viewer.layers[f"{layer.name}: latent space"].data.shape == (t, 2)
    _dock, th = viewer.window.add_plugin_dock_widget("napari-vaemf", "Theory")
    assert isinstance(th, TheoryWidget) and th.picker.layer() == layer
    th.form.set_values(theory="hopfield")
    press_and_wait(th)
    ex = th.extraction
    assert ex is not None and ex.patterns.shape == (n, p)
    pat = viewer.layers[f"{layer.name}: hopfield patterns"]
    assert pat.data.shape == (n, p)
    lo, hi = pat.contrast_limits
    assert lo == -hi  # diverging colormap centred at 0
    feats = viewer.layers[f"{layer.name}: latent space"].features
    assert {f"m{mu}" for mu in range(p)} <= set(feats.columns)
    assert np.all(np.abs(feats["m0"].to_numpy()) <= 1.0)  # spin overlaps
    labels = viewer.layers[f"{layer.name}: overlaps"]
    assert labels.data.shape == (1, t) and labels.data.max() <= p
    names = [th.table.item(i, 0).text() for i in range(th.table.rowCount())]
    assert "consistency" in names and "beta" in names
    for w in (fit_w, th):
        w.close()


def test_fit_streams_a_large_recording_layer(make_napari_viewer, press_and_wait, monkeypatch):
    """A recording binned lazily (too large to hold densely) trains in the child from its bits."""
    from napari_vaemf._napari.layers import recording_layer
    from napari_vaemf.core.recordings import PackedRaster, Recording, SpikeTrains

    rng = np.random.default_rng(3)
    trains = SpikeTrains.from_list([np.sort(rng.uniform(0, 60, 400)) for _ in range(9)])
    rec = Recording.from_spike_trains(trains, 0.05, lazy=True)
    viewer = make_napari_viewer()
    data, kwargs, _ = recording_layer(rec, "big")
    layer = viewer.add_image(data, **kwargs)
    w = FitWidget(viewer)
    assert w.picker.layer() is layer
    w.form.set_values(latents=2, epochs=2, method="vae", device="cpu", holdout=0.2)
    press_and_wait(w)
    assert w.fit is not None and isinstance(w.fit.x, PackedRaster), w.status.text()
    assert w.fit.epoch == 2 and w.latents.shape == (rec.n_bins, 2)
    assert w.fit.time_base["streamed"] is True
    w.close()
