"""Load recording: open a file in a worker, re-bin / window / select in memory, bad files."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf._widgets._load_recording import LoadRecordingWidget
from napari_vaemf.core.data import parse_units
from napari_vaemf.core.errors import ParameterError


def open_and_wait(qtbot, w, path):
    w._on_open(path=str(path))
    qtbot.waitUntil(lambda: w.runner.worker is None, timeout=30_000)


def test_parse_units():
    ids = np.arange(5)  # the widget selects units by id (row positions when ids are 0..N-1)
    assert parse_units("all", ids) is None
    assert parse_units(" 0-2, 4 ", ids).tolist() == [0, 1, 2, 4]
    with pytest.raises(ParameterError):
        parse_units("3-9", ids)
    with pytest.raises(ParameterError):
        parse_units("a", ids)


def test_rebin_spike_recording_without_disk(
    make_napari_viewer, qtbot, press_and_wait, monkeypatch, tmp_path, shared
):
    aplysia = shared.need(shared.APLYSIA_JAN)
    viewer = make_napari_viewer()
    w = LoadRecordingWidget(viewer)
    open_and_wait(qtbot, w, aplysia)
    layer = viewer.layers[aplysia.stem]
    rec0 = layer.metadata["recording"]
    assert rec0.spike_trains is not None
    n_units, n_bins = layer.data.shape
    # no file reads from here on
    import napari_vaemf.core.recordings._load as load_mod

    monkeypatch.setattr(load_mod, "load_recording", lambda *a, **k: pytest.fail("re-read the file"))
    w.form.set_values(bin_size=0.1, t_from=10.0, t_to=30.0, units="1-10")  # ids 1..102
    press_and_wait(w)
    new = viewer.layers[aplysia.stem]
    rec = new.metadata["recording"]
    assert new.data.shape == (10, 200)
    assert new.scale[-1] == pytest.approx(0.1)
    assert rec.t_start == pytest.approx(rec0.t_start + 10.0)
    # counts in the window equal the spikes of those units in [t0+10, t0+30)
    st = rec0.spike_trains
    lo, hi = rec0.t_start + 10.0, rec0.t_start + 30.0
    expected = sum(
        int(np.count_nonzero((t >= lo) & (t < hi)))
        for t in np.split(st.times, st.ends[:-1])[:10]
    )
    assert int(np.asarray(rec.raster).sum()) == expected
    # fit the re-binned layer briefly and save the fit as a checkpoint and as NWB
    from napari_vaemf._widgets._fit import FitWidget

    fit_w = FitWidget(viewer)
    fit_w.form.set_values(latents=1, epochs=2, batch_size=64, device="cpu", holdout=0.2)
    press_and_wait(fit_w)
    ckpt = fit_w._on_save_checkpoint(path=str(tmp_path / "fit.pt"))
    assert ckpt is not None and ckpt.exists()
    out = fit_w._on_save_nwb(path=str(tmp_path / "fit.nwb"))
    assert out is not None
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        series = [o for o in nwb.objects.values() if type(o).__name__ == "TimeSeries"]
        assert any(np.asarray(ts.data).shape == (200, 1) for ts in series)
    fit_w.close()
    # going back to all units at the original bin size restores the first raster exactly
    w.form.set_values(bin_size=float(rec0.bin_size), t_from=0.0, t_to=0.0, units="all")
    press_and_wait(w)
    back = viewer.layers[aplysia.stem]
    assert back.data.shape == (n_units, n_bins)
    assert np.array_equal(np.asarray(back.data), np.asarray(layer.data))
    w.close()


def test_bad_file_is_a_notification(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    import napari_vaemf._widgets._runner as runner_mod

    shown = []
    monkeypatch.setattr(runner_mod, "show_error", shown.append)
    bad = tmp_path / "broken.nwb"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)  # truncated HDF5
    viewer = make_napari_viewer()
    w = LoadRecordingWidget(viewer)
    open_and_wait(qtbot, w, bad)
    assert len(shown) == 1 and "broken.nwb" in shown[0]
    assert len(viewer.layers) == 0
    assert w.start_button.isEnabled() and w.open_button.isEnabled()
    w.close()


def test_raster_file_gets_the_bin_size_and_merges_bins(make_napari_viewer, qtbot, press_and_wait, tmp_path):
    raster = (np.random.default_rng(0).random((5, 100)) < 0.3).astype(np.uint8)
    path = tmp_path / "raster.npy"
    np.save(path, raster)
    viewer = make_napari_viewer()
    w = LoadRecordingWidget(viewer)
    w.form.set_values(bin_size=0.05)
    open_and_wait(qtbot, w, path)
    layer = viewer.layers["raster"]
    assert layer.data.shape == (5, 100) and layer.scale[-1] == pytest.approx(0.05)
    w.form.set_values(bin_size=0.1)
    press_and_wait(w)
    assert layer.data.shape == (5, 50)  # updated in place, same layer object
    assert np.array_equal(np.asarray(layer.data), raster.reshape(5, 50, 2).sum(axis=2))
    w.close()
