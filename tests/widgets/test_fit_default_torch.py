"""Start a fit the way a user does, in a fresh process: viewer (OpenGL context) first, then
Fit VAE from the Plugins menu, then Start.

With the default Linux torch wheel (CUDA build, depends on triton), making the optimizer
imports triton, whose LLVM clashes with the one Mesa's OpenGL driver loaded for napari's
canvas: napari died with a segmentation fault (see ``_widgets/_triton_guard``). The fit
runs in a child process because (1) a segfault must fail this test, not kill pytest, and
(2) the crash needs that order of events, which an earlier test in the same process
(any core fit imports torch._dynamo, and triton with it, before a viewer exists) would
hide. With the CPU wheel (no triton) it checks the same user path.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.gui  # the child makes napari's canvas: needs a display

CHILD = textwrap.dedent(
    """
    import json, sys, time

    import napari
    import torch
    from qtpy.QtWidgets import QApplication

    from napari_vaemf._widgets._triton_guard import llvm_in_global_scope

    torch.set_num_threads(1)
    viewer = napari.Viewer(show=False)  # napari's canvas: the OpenGL context exists now
    app = QApplication.instance()
    (layer,) = viewer.open_sample("napari-vaemf", "hopfield")
    p = len(layer.metadata["vaemf"]["truth"]["patterns"][0])
    # Fit VAE as napari makes it from the Plugins menu, after the context
    _dock, w = viewer.window.add_plugin_dock_widget("napari-vaemf", "Fit VAE")
    before = {"triton_loaded": "triton" in sys.modules, "llvm_global": llvm_in_global_scope()}
    w.form.set_values(latents=p, epochs=2, batch_size=128, device="cpu", features=0)
    w.start_button.click()  # made the optimizer -> torch._dynamo -> triton -> segfault
    deadline = time.monotonic() + 180
    while w.runner.worker is not None and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    out = {
        **before,
        "finished": w.runner.worker is None,
        "epoch": None if w.fit is None else w.fit.epoch,
        "status": w.status.text(),
        "triton_hidden": "triton" in sys.modules and sys.modules["triton"] is None,
    }
    w.close()
    viewer.close()
    print("RESULT " + json.dumps(out), flush=True)
    """
)


def _triton_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("triton") is not None


def test_fit_starts_in_napari_with_an_opengl_context(tmp_path):
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}  # the conftest set the settings folder
    proc = subprocess.run(
        [sys.executable, "-c", CHILD],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = (proc.stdout + proc.stderr).splitlines()
    tail = "\n".join(s for s in lines if not s.startswith("Extension modules"))[-4000:]
    assert proc.returncode != -signal.SIGSEGV, f"napari died with a segfault:\n{tail}"
    assert proc.returncode == 0, tail
    line = next(s for s in proc.stdout.splitlines() if s.startswith("RESULT "))
    out = json.loads(line[len("RESULT "):])
    assert out["finished"] and out["epoch"] == 2, out
    assert out["status"].startswith("Fit finished after 2 epochs"), out
    # the precondition of the crash was there, so the guard must have kept triton out
    if _triton_installed() and out["llvm_global"] and not out["triton_loaded"]:
        assert out["triton_hidden"], out
