"""Screenshot of the Theory widget's read-off energy: docs/screenshots/theory_energy_retina.png.

    xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/theory_screenshot.py \\
        --data /tmp/s6/even.mat --run /tmp/s6/run1 [--out PATH]

Fits nothing: RUN must hold an exact K = 2 fit of DATA (``vaemf fit DATA --latents 2 -o
RUN``; for the docs, the salamander retina's even repeats). Opens DATA the way a drop on the
window does (``viewer.open`` with the plugin's reader), attaches RUN/model.pt to the raster
as the Theory widget's "Load checkpoint…" does, runs the generalized Hopfield read-off in
the widget (energy, attractors, quadratic share, landscape: about a minute on the retina)
and saves the whole window, framed on the start of the raster with the attractor image,
the basin track and the landscape with the recording's trajectory.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def settle(app, n: int = 40) -> None:
    for _ in range(n):
        app.processEvents()
        time.sleep(0.02)


def wait(app, widget, timeout: float = 900.0) -> None:
    """Process events until the widget's worker has finished."""
    end = time.perf_counter() + timeout
    while widget.runner.worker is not None:
        app.processEvents()
        time.sleep(0.02)
        if time.perf_counter() > end:
            raise TimeoutError(f"{widget.job_name} did not finish in {timeout} s")
    settle(app, 10)


def frame(viewer, x0: float, x1: float, y0: float, y1: float) -> None:
    """Show the world rectangle [x0, x1] x [y0, y1] (columns, rows) as large as it fits."""
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
    h, w = viewer.window._qt_viewer.canvas.size
    camera.center = (0.0, (y0 + y1) / 2, (x0 + x1) / 2)[-len(camera.center):]
    camera.zoom = min(w / (x1 - x0), h / (y1 - y0))


def extent(layer) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) world edges of a 2-D layer."""
    (y0, x0), (y1, x1) = layer.extent.world
    return x0, x1, y0, y1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the recording the fit was made on")
    parser.add_argument("--run", type=Path, required=True, help="run folder with an exact K = 2 model.pt")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "theory_energy_retina.png")
    parser.add_argument("--bins", type=float, default=330.0, help="raster width shown (world x units)")
    args = parser.parse_args()

    import napari
    import torch
    from qtpy.QtWidgets import QApplication

    from napari_vaemf._widgets._theory import TheoryWidget

    torch.set_num_threads(2)
    viewer = napari.Viewer(title="napari-vaemf: the read-off energy", show=True)
    viewer.window._qt_window.resize(1920, 1080)
    app = QApplication.instance()
    [layer] = viewer.open(args.data, plugin="napari-vaemf")
    th = TheoryWidget(viewer)
    viewer.window.add_dock_widget(th, name="Theory", area="right")
    settle(app)
    th._on_load_checkpoint(path=str(args.run / "model.pt"), layer=layer)
    if "fit" not in layer.metadata:
        raise SystemExit(f"could not attach {args.run / 'model.pt'}: {th.status.text()}")
    th.form.set_values(theory="generalized-hopfield")
    th.start_button.click()
    wait(app, th)
    if th.energy_report is None:
        raise SystemExit(f"no energy: {th.status.text()}")
    name = layer.name
    boxes = [extent(viewer.layers[f"{name}: {what}"]) for what in ("attractors", "landscape", "basins")]
    x0 = min(b[0] for b in boxes)
    y1 = max(b[3] for b in boxes)
    x_raster = extent(layer)[0]
    frame(viewer, x0 - 3, x_raster + args.bins, -3, y1 + 3)
    viewer.layers.selection.active = viewer.layers[f"{name}: basins"]
    viewer.cursor.position = (25.0, x_raster + 0.25 * args.bins)
    settle(app)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(args.out), canvas_only=False, flash=False)
    print(f"wrote {args.out}: {th.status.text()}")
    th.close()
    viewer.close()


if __name__ == "__main__":
    main()
