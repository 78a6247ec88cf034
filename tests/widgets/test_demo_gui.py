"""`vaemf demo --gui` opens napari with the plugin's widgets docked and a sample loaded."""
from __future__ import annotations

import napari

from napari_vaemf.cli import main


def test_demo_gui_docks_the_widgets(make_napari_viewer, monkeypatch):
    made = []

    def viewer(**kwargs):
        made.append(make_napari_viewer())
        return made[-1]

    monkeypatch.setattr(napari, "Viewer", viewer)
    monkeypatch.setattr(napari, "run", lambda *a, **k: None)
    assert main(["demo", "--gui"]) == 0
    (v,) = made
    assert any(layer.name.startswith("Hopfield") for layer in v.layers)
    docked = set(v.window.dock_widgets)
    for name in ("Simulate", "Fit VAE", "Capacity", "Theory"):
        assert any(name in title for title in docked), (name, docked)
