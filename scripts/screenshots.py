"""Render screenshots of the plugin at work into docs/screenshots/*.png (run under xvfb).

    xvfb-run -a python scripts/screenshots.py [--out docs/screenshots] [--quick]

1. hopfield_fit_theory.png: the Hopfield sample data, fitted with the Fit VAE widget (live
   plot), read off with the Theory widget: patterns and fields left of the raster, latent
   trajectories above it, the overlap strip and the latent-space cloud below it.
2. salamander_latents.png: the salamander retina (50 x 283,041 bins of 20 ms) opened with the
   Load recording widget and fitted, zoomed onto 40 s of the recording.
3. capacity_curie_weiss.png: the Capacity widget's sweep on Curie-Weiss data, with its verdict.
4. trials_mtl.png: the human MTL recording (35 units, 20 ms bins) fitted with K = 2 and its
   90 video clips aligned to their first boundary by stimulus category with the Trials
   widget: markers at the boundaries above the raster, the aligned raster below it, the mean
   ± s.e.m. of each latent per category in the dock.
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
SALAMANDER = DATA / "marre2014-salamander-retina-50" / "original_data_num_neurons_50_1.mat"
MTL = DATA / "nwb-human-mtl-zheng2022-sub4" / "sub-4_ses-4_ecephys+image.nwb"

log = logging.getLogger("screenshots")


def wait(app, widget, timeout: float = 600.0) -> None:
    """Process events until the widget's worker has finished."""
    end = time.perf_counter() + timeout
    while widget.runner.worker is not None:
        app.processEvents()
        time.sleep(0.01)
        if time.perf_counter() > end:
            raise TimeoutError(f"{widget.job_name} did not finish in {timeout} s")
    for _ in range(10):
        app.processEvents()


def settle(app, n: int = 30) -> None:
    for _ in range(n):
        app.processEvents()
        time.sleep(0.01)


def save(viewer, path: Path, app) -> None:
    settle(app)
    img = viewer.screenshot(str(path), canvas_only=False, flash=False)
    log.info("wrote %s %s", path, getattr(img, "shape", ""))


def zoom_to(viewer, x0: float, x1: float, y0: float, y1: float) -> None:
    """Show world rectangle [x0, x1] x [y0, y1] (columns, rows)."""
    camera = getattr(viewer, "scene", viewer).camera
    canvas = viewer.window._qt_viewer.canvas.size
    h, w = canvas
    camera.center = (0.0, (y0 + y1) / 2, (x0 + x1) / 2)[-len(camera.center):]
    camera.zoom = min(w / (x1 - x0), h / (y1 - y0))


def hopfield_fit_theory(out: Path, app, epochs: int) -> None:
    import napari

    from napari_vaemf._widgets._fit import FitWidget
    from napari_vaemf._widgets._theory import TheoryWidget

    viewer = napari.Viewer(show=True)
    viewer.window.resize(1700, 1050)
    (layer,) = viewer.open_sample("napari-vaemf", "hopfield")
    fit_w = FitWidget(viewer)
    viewer.window.add_dock_widget(fit_w, name="Fit VAE", area="right")
    fit_w.form.set_values(latents=3, epochs=epochs, batch_size=128, device="cpu", seed=0)
    fit_w.start_button.click()
    wait(app, fit_w)
    th = TheoryWidget(viewer)
    viewer.window.add_dock_widget(th, name="Theory", area="right")
    th.form.set_values(theory="hopfield")
    th.start_button.click()
    wait(app, th)
    viewer.reset_view()
    n, t = layer.data.shape
    zoom_to(viewer, -20, t * 0.45, -60, n + 130)
    save(viewer, out / "hopfield_fit_theory.png", app)
    fit_w.close()
    th.close()
    viewer.close()


def salamander(out: Path, app, epochs: int) -> None:
    import napari

    from napari_vaemf._widgets._fit import FitWidget
    from napari_vaemf._widgets._load_recording import LoadRecordingWidget

    if not SALAMANDER.exists():
        log.warning("skipping the salamander screenshot: %s not found", SALAMANDER)
        return
    viewer = napari.Viewer(show=True)
    viewer.window.resize(1700, 1050)
    load_w = LoadRecordingWidget(viewer)
    viewer.window.add_dock_widget(load_w, name="Load recording", area="right")
    load_w._on_open(path=str(SALAMANDER))
    wait(app, load_w)
    fit_w = FitWidget(viewer)
    viewer.window.add_dock_widget(fit_w, name="Fit VAE", area="right")
    fit_w.form.set_values(latents=2, epochs=epochs, batch_size=1024, device="cpu", holdout=0.1)
    fit_w.start_button.click()
    wait(app, fit_w)
    layer = fit_w.source_layer
    t0 = float(layer.translate[-1])
    zoom_to(viewer, t0 - 25, t0 + 60, -40, 50 + 70)
    save(viewer, out / "salamander_latents.png", app)
    fit_w.close()
    load_w.close()
    viewer.close()


def capacity(out: Path, app, epochs: int) -> None:
    import napari

    from napari_vaemf._widgets._capacity import CapacityWidget

    viewer = napari.Viewer(show=True)
    viewer.window.resize(1500, 1000)
    viewer.open_sample("napari-vaemf", "curie_weiss")
    w = CapacityWidget(viewer)
    viewer.window.add_dock_widget(w, name="Capacity", area="right")
    w.form.set_values(k_max=3, seeds=2, epochs=epochs, batch_size=256, device="cpu",
                      infonce=False, model_mi=True)
    w.start_button.click()
    wait(app, w)
    save(viewer, out / "capacity_curie_weiss.png", app)
    w.close()
    viewer.close()


def trials_mtl(out: Path, app, epochs: int) -> None:
    import napari

    from napari_vaemf._widgets._fit import FitWidget
    from napari_vaemf._widgets._trials import TrialsWidget

    if not MTL.exists():
        log.warning("skipping the trials screenshot: %s not found", MTL)
        return
    viewer = napari.Viewer(show=True)
    viewer.window.resize(1700, 1050)
    (layer,) = viewer.open(str(MTL), plugin="napari-vaemf")
    fit_w = FitWidget(viewer)
    viewer.window.add_dock_widget(fit_w, name="Fit VAE", area="right")
    fit_w.form.set_values(latents=2, epochs=epochs, device="cpu", seed=0)
    fit_w.start_button.click()
    wait(app, fit_w)
    fit_w.close()
    viewer.window.remove_dock_widget(fit_w)
    w = TrialsWidget(viewer)
    viewer.window.add_dock_widget(w, name="Trials", area="right")
    w.form.set_values(table="encoding_table", time="boundary1_time", by="stimCategory", window=(-1.0, 3.0))
    w.start_button.click()
    wait(app, w)
    n = layer.data.shape[0]
    zoom_to(viewer, -4, 110, -40, n + 80)
    save(viewer, out / "trials_mtl.png", app)
    w.close()
    viewer.close()


def main() -> None:
    ap = argparse.ArgumentParser(description="render the README screenshots")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    ap.add_argument("--quick", action="store_true", help="few epochs (to check the script)")
    ap.add_argument("--only", choices=["hopfield", "salamander", "capacity", "trials"], default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import os
    import tempfile

    from napari_vaemf._widgets._settings import CONFIG_ENV

    # the widgets' defaults, not this machine's saved settings
    os.environ[CONFIG_ENV] = tempfile.mkdtemp(prefix="vaemf-screenshots-")
    import torch
    from qtpy.QtWidgets import QApplication

    import napari

    torch.set_num_threads(2)
    args.out.mkdir(parents=True, exist_ok=True)
    napari.Viewer(show=False).close()  # create the QApplication
    app = QApplication.instance()
    jobs = {
        "hopfield": (hopfield_fit_theory, 3 if args.quick else 60),
        "salamander": (salamander, 1 if args.quick else 6),
        "capacity": (capacity, 3 if args.quick else 120),
        "trials": (trials_mtl, 1 if args.quick else 10),
    }
    for name, (fn, epochs) in jobs.items():
        if args.only in (None, name):
            t = time.perf_counter()
            fn(args.out, app, epochs)
            log.info("%s: %.1f s", name, time.perf_counter() - t)


if __name__ == "__main__":
    main()
