"""Smoke test of the plugin as napari users get it: napari finds it, opens its sample data and
docks a widget. ``.ci/package.sh`` copies this file out of the source tree and runs it against
the installed wheel with ``VAEMF_SMOKE_INSTALLED=1``, so ``napari_vaemf`` must then come from
site-packages; in the normal suite it runs on the checkout."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.mark.gui
def test_napari_opens_the_plugin_and_its_sample(make_napari_viewer):
    import napari_vaemf

    where = Path(napari_vaemf.__file__).resolve()
    if os.environ.get("VAEMF_SMOKE_INSTALLED"):
        assert "site-packages" in where.parts, f"napari_vaemf imported from {where}, not the installed wheel"
        assert (where.parent / "napari.yaml").is_file()  # the manifest travelled in the wheel
    viewer = make_napari_viewer()
    (layer,) = viewer.open_sample("napari-vaemf", "curie_weiss")
    assert layer.data.shape == (64, 2000) and layer.metadata["vaemf"]["model"] == "curie-weiss"
    _dock, widget = viewer.window.add_plugin_dock_widget("napari-vaemf", "Fit VAE")
    assert widget.picker.layer() is not None
    widget.close()
