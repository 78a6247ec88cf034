"""Screenshot of a first look at a long recording: docs/screenshots/mtl_first_view.png.

    xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/mtl_first_view.py [--out PATH]

Opens the human MTL recording (35 units, 47 minutes, 141,054 bins of 20 ms) the way a drop on
the window does (``viewer.open``), with the Fit VAE and Load recording widgets docked (they
share tabs; Load recording in front), in a 1920 x 1080 window, and saves the whole window: the first minute across the canvas, every unit in view,
the scale bar in seconds, and the unit under the cursor named top left.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MTL = ROOT / ".." / "shared" / "data" / "nwb-human-mtl-zheng2022-sub4" / "sub-4_ses-4_ecephys+image.nwb"


def settle(app, n: int = 40) -> None:
    for _ in range(n):
        app.processEvents()
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "mtl_first_view.png")
    parser.add_argument("--file", type=Path, default=MTL)
    args = parser.parse_args()

    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(title="napari-vaemf: first look", show=True)
    viewer.window._qt_window.resize(1920, 1080)
    app = QApplication.instance()
    for name in ("Fit VAE", "Load recording"):  # a second widget: vaemf docks share tabs
        viewer.window.add_plugin_dock_widget("napari-vaemf", name)
        settle(app)
    [layer] = viewer.open(args.file, plugin="napari-vaemf")
    settle(app)
    # the pointer over unit row 20, 25 s in: its id goes to the text overlay
    viewer.cursor.position = (20.0, layer.translate[-1] + 25.0)
    settle(app)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(args.out), canvas_only=False, flash=False)
    print(f"wrote {args.out}")
    viewer.close()


if __name__ == "__main__":
    main()
