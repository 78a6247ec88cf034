"""Widget tests: settings go to a temporary folder; torch stays on one thread."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("pytestqt")


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    from napari_vaemf._widgets._settings import CONFIG_ENV

    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "settings"))
    torch.set_num_threads(1)


@pytest.fixture
def press_and_wait(qtbot):
    """Click a widget's Start and wait until its worker has finished (signals delivered)."""

    def run(widget, timeout=60_000):
        widget.start_button.click()
        assert widget.runner.worker is not None, widget.status.text()
        qtbot.waitUntil(lambda: widget.runner.worker is None, timeout=timeout)
        assert widget.start_button.isEnabled()

    return run
