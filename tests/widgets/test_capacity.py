"""Capacity widget: a tiny sweep runs in a worker, plots against K and states a verdict."""
from __future__ import annotations

import numpy as np

from napari_vaemf._widgets._capacity import CapacityWidget
from napari_vaemf._widgets._simulate import SimulateWidget


def test_tiny_sweep(make_napari_viewer, press_and_wait):
    viewer = make_napari_viewer()
    sim = SimulateWidget(viewer)
    sim.form.set_values(model="curie-weiss", n=8, beta_j=1.5, samples=400, seed=3)
    press_and_wait(sim)
    w = CapacityWidget(viewer)
    w.form.set_values(k_max=2, seeds=1, epochs=2, batch_size=128, device="cpu", infonce=False,
                      model_mi=False)
    press_and_wait(w, timeout=120_000)
    rep = w.report
    assert rep is not None
    assert sorted({p.latents for p in rep.points}) == [1, 2]
    assert "Verdict" in w.status.text()
    ax_rate, ax_ll = w.plot.axes
    xs, ys = ax_ll.lines[0].get_data()
    assert list(xs) == [1, 2]
    assert np.allclose(ys, [r["test_loglik_nats"] for r in rep.per_k()])
    w.close()
    sim.close()


def test_sweep_on_a_local_cluster_from_napari(make_napari_viewer, press_and_wait):
    """The scheduler setting sends the fits to a Dask LocalCluster; progress still shows."""
    viewer = make_napari_viewer()
    sim = SimulateWidget(viewer)
    sim.form.set_values(model="curie-weiss", n=8, beta_j=1.5, samples=400, seed=3)
    press_and_wait(sim)
    w = CapacityWidget(viewer)
    assert "scheduler" in w.form.widgets
    w.form.set_values(k_max=2, seeds=1, epochs=2, batch_size=128, device="cpu", infonce=False,
                      model_mi=False, scheduler="local:2")
    seen = []
    shown = w.runner.on_progress
    w.runner.on_progress = lambda rec: (seen.append(rec.stage), shown(rec))
    press_and_wait(w, timeout=180_000)
    assert "sweep" in seen  # one record per finished fit, from the cluster
    rep = w.report
    assert rep is not None and sorted({p.latents for p in rep.points}) == [1, 2]
    assert "Verdict" in w.status.text()
    w.close()
    sim.close()


def test_sweep_runs_in_a_child_process_and_stops(make_napari_viewer, qtbot, press_and_wait):
    """The sweep trains in a spawned child; Stop ends it without a report and no process is
    left behind."""
    import psutil  # a dependency of distributed

    def children():
        return [c for c in psutil.Process().children()
                if c.is_running() and c.status() != psutil.STATUS_ZOMBIE
                and any("spawn_main" in part for part in c.cmdline())]

    viewer = make_napari_viewer()
    sim = SimulateWidget(viewer)
    sim.form.set_values(model="curie-weiss", n=8, beta_j=1.5, samples=2000, seed=3)
    press_and_wait(sim)
    w = CapacityWidget(viewer)
    w.form.set_values(k_max=3, seeds=2, epochs=10_000, batch_size=16, device="cpu",
                      infonce=False, model_mi=False)
    seen = []
    shown = w.runner.on_progress
    w.runner.on_progress = lambda rec: (seen.append(rec.stage), shown(rec))
    w.start_button.click()
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=120_000)  # the child is at work
    assert len(children()) == 1
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.runner.worker is None, timeout=60_000)
    assert w.status.text() == "Sweep stopped; no report." and w.report is None
    assert children() == []
    w.close()
    sim.close()


def test_sweep_streams_a_large_recording_layer(make_napari_viewer, press_and_wait):
    """A recording binned lazily (too large to hold densely) is swept from its bits."""
    from napari_vaemf._napari.layers import recording_layer
    from napari_vaemf.core.recordings import Recording, SpikeTrains

    rng = np.random.default_rng(4)
    trains = SpikeTrains.from_list([np.sort(rng.uniform(0, 60, 400)) for _ in range(9)])
    rec = Recording.from_spike_trains(trains, 0.05, lazy=True)
    viewer = make_napari_viewer()
    data, kwargs, _ = recording_layer(rec, "big")
    viewer.add_image(data, **kwargs)
    w = CapacityWidget(viewer)
    w.form.set_values(k_max=1, seeds=1, epochs=2, device="cpu", infonce=False, model_mi=False)
    press_and_wait(w, timeout=120_000)
    rep = w.report
    assert rep is not None, w.status.text()
    assert rep.settings["engine"] == "vae" and "streamed" in rep.settings["engine_reason"]
    assert rep.settings["n_train"] + rep.settings["n_test"] == rec.n_bins
    w.close()
