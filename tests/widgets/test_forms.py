"""Widget forms are generated from the core settings dataclasses: the same fields, the same
defaults as the CLI (nothing stored yet: the test config dir is empty)."""
from __future__ import annotations

import pytest

from napari_vaemf._widgets._capacity import CapacityWidget
from napari_vaemf._widgets._fit import FitWidget
from napari_vaemf._widgets._theory import TheoryWidget
from napari_vaemf.core.capacity import CapacitySettings
from napari_vaemf.core.extraction import ExtractionSettings
from napari_vaemf.core.settings import gui_fields
from napari_vaemf.core.vae import VAEConfig


@pytest.mark.parametrize("widget_cls, core_cls", [
    (FitWidget, VAEConfig), (CapacityWidget, CapacitySettings), (TheoryWidget, ExtractionSettings)])
def test_form_fields_are_the_settings_fields(make_napari_viewer, widget_cls, core_cls):
    w = widget_cls(make_napari_viewer())
    try:
        assert issubclass(w.settings_cls, core_cls)
        shown = {f.name for f in gui_fields(w.settings_cls)}
        assert set(w.form.widgets) == shown
        assert {f.name for f in gui_fields(core_cls)} <= shown
        defaults = w.settings_cls()
        for name, control in w.form.widgets.items():
            assert control.value == getattr(defaults, name), name
        assert w.form.values() == defaults
    finally:
        w.close()
