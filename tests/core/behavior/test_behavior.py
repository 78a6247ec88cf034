"""Behaviour read from NWB and files, resampled onto bins, and decoded from latents."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from napari_vaemf.core.behavior import (DecodeSettings, Resampled, circular_correlation,
                                        cv_predict, decode, load_behavior, resample)
from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.progress import drive


def _nwb(path, degrees: bool = False):
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.behavior import BehavioralTimeSeries, CompassDirection, Position, SpatialSeries

    nwb = NWBFile(session_description="behaviour", identifier="b",
                  session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    t = np.arange(0, 10, 0.02)
    mod = nwb.create_processing_module("behavior", "behaviour")
    xy = np.column_stack([t, 2 * t])
    mod.add(Position(spatial_series=SpatialSeries(name="position", data=xy, timestamps=t,
                                                  reference_frame="corner", unit="meters")))
    angle = np.rad2deg(t) if degrees else t
    mod.add(CompassDirection(spatial_series=SpatialSeries(
        name="heading", data=angle, timestamps=t, reference_frame="north",
        unit="degrees" if degrees else "radians")))
    mod.add(BehavioralTimeSeries(time_series=TimeSeries(name="speed", data=np.ones(100), unit="m/s",
                                                        rate=10.0, starting_time=0.0)))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def test_nwb_series_two_dimensional_positions_and_angles(tmp_path):
    path = _nwb(tmp_path / "b.nwb", degrees=True)
    (pos,) = load_behavior("processing/behavior/position", path)  # case does not matter
    assert pos.columns == ["position[0]", "position[1]"] and pos.circular == [False, False]
    (hd,) = load_behavior("processing/behavior/CompassDirection/heading", path)
    assert hd.circular == [True] and np.allclose(hd.values[:, 0], hd.times)  # degrees -> radians
    (speed,) = load_behavior("processing/behavior/BehavioralTimeSeries", path)
    assert np.allclose(speed.times, np.arange(100) / 10.0)  # starting_time + rate
    everything = load_behavior("processing/behavior", path)
    assert [s.columns[0] for s in everything] == ["speed", "heading", "position[0]"]
    with pytest.raises(InputError, match=r"--behavior 'processing/behavior/pos': no such object.*position"):
        load_behavior("processing/behavior/pos", path)


def test_files_first_column_time_and_monotonic_timestamps(tmp_path):
    csv = tmp_path / "b.csv"
    csv.write_text("t,x,theta\n0.0,1.0,0.1\n0.5,2.0,0.2\n1.0,3.0,0.3\n")
    (s,) = load_behavior(csv, angles="theta")
    assert s.columns == ["x", "theta"] and s.circular == [False, True]
    npy = tmp_path / "b.npy"
    np.save(npy, np.array([[0.0, 1.0], [1.0, 2.0]]))
    assert load_behavior(npy)[0].columns == ["v0"]
    bad = tmp_path / "bad.csv"
    bad.write_text("0.0,1\n1.0,2\n0.5,3\n")
    with pytest.raises(InputError, match=r"bad.csv: first column: timestamps are not monotonic: sample 2"):
        load_behavior(bad)
    with pytest.raises(InputError, match="file not found"):
        load_behavior(tmp_path / "absent.csv")
    with pytest.raises(ParameterError, match="--angles: no behaviour variable 'phi'"):
        load_behavior(csv, angles="phi")


def test_resampling_means_in_bins_circular_means_interpolation_and_nan_outside(tmp_path):
    from napari_vaemf.core.behavior import Series

    t = np.array([0.01, 0.05, 0.31, 0.35])  # two samples in bin 0, none in bins 1-2, two in bin 3
    x = np.array([1.0, 3.0, 5.0, 7.0])
    a = np.array([np.pi - 0.1, -np.pi + 0.1, 0.0, 0.0])  # either side of ±π: circular mean is π
    s = Series("s", t, np.column_stack([x, a]), ["x", "a"], [False, True])
    r = resample([s], t_start=0.0, bin_size=0.1, n_bins=6)
    assert r.values[0, 0] == pytest.approx(2.0) and r.values[3, 0] == pytest.approx(6.0)
    assert r.values[1, 0] == pytest.approx(np.interp(0.15, t, x))  # empty bin: interpolated
    assert abs(abs(r.values[0, 1]) - np.pi) < 1e-9  # not 0, the linear mean
    assert np.isnan(r.values[4:]).all() and r.valid.tolist() == [True] * 4 + [False] * 2
    assert r.kind == "mixed"


def _smooth(n: int, rng, tau: int = 50) -> np.ndarray:
    """A slow random signal (correlation time ``tau`` bins), standardised."""
    x = np.convolve(rng.standard_normal(n + 4 * tau), np.exp(-np.arange(4 * tau) / tau), "valid")[:n]
    return (x - x.mean()) / x.std()


def test_knn_finds_a_nonlinear_code_ridge_a_linear_one_the_shift_control_neither():
    rng = np.random.default_rng(0)
    n = 6000
    pos = np.tanh(_smooth(n, rng))  # a position in (-1, 1)
    z = np.column_stack([np.cos(2.5 * pos), np.sin(2.5 * pos)]) + 0.05 * rng.standard_normal((n, 2))
    behaviour = Resampled(pos[:, None], ["x"], np.array([False]))
    out = drive(decode(behaviour, z, z @ [[1.0, 0.2], [0.3, 1.0]], 0.1, DecodeSettings()), bar=False)
    assert out["kind"] == "linear" and out["metric"] == "R2"
    assert out["scores"]["latents"]["knn"] > 0.95 > out["scores"]["latents"]["ridge"]
    assert out["score"] == out["scores"]["latents"]["knn"] and out["regressor"] == "knn"
    assert out["score_shuffled"] < 0.1 and len(out["shifts_s"]) == 5
    assert all(60 <= s <= n * 0.1 - 60 for s in out["shifts_s"])
    assert out["variables"][0]["name"] == "x" and out["n_bins_with_behavior"] == n


def test_angles_are_decoded_through_cos_and_sin_and_scored_by_circular_correlation():
    rng = np.random.default_rng(1)
    n = 5000
    theta = np.angle(np.exp(1j * 3 * np.cumsum(_smooth(n, rng, 20)) / 20))
    z = np.column_stack([np.cos(theta), np.sin(theta)]) + 0.1 * rng.standard_normal((n, 2))
    behaviour = Resampled(theta[:, None], ["hd"], np.array([True]))
    out = drive(decode(behaviour, z, None, 0.1, DecodeSettings(shifts=2)), bar=False)
    assert out["kind"] == "circular" and out["metric"] == "circular correlation"
    assert out["score"] > 0.95 and out["score_counts"] is None and out["score_shuffled"] < 0.1
    assert circular_correlation(theta, theta + 0.01) == pytest.approx(1.0, abs=1e-3)


def test_blocked_folds_predict_every_row_from_the_other_blocks():
    x = np.arange(100, dtype=float)[:, None]
    y = np.where(np.arange(100) < 50, 0.0, 1.0)[:, None]
    pred = cv_predict(x, y, folds=2, regressor="knn", neighbors=1)
    # each half is predicted from the other half only: the nearest training row is across the split
    assert pred[:50].tolist() == [[1.0]] * 50 and pred[50:].tolist() == [[0.0]] * 50


def test_decoding_refuses_mixed_kinds_and_recordings_too_short_for_the_shift():
    z = np.zeros((100, 2))
    mixed = Resampled(np.zeros((100, 2)), ["x", "a"], np.array([False, True]))
    with pytest.raises(ParameterError, match="mixes angles and linear variables"):
        drive(decode(mixed, z, None, 0.1), bar=False)
    linear = Resampled(np.zeros((100, 1)), ["x"], np.array([False]))
    with pytest.raises(ParameterError, match=r"--shift 60: the recording \(10 s\) is too short"):
        drive(decode(linear, z, None, 0.1), bar=False)


@pytest.mark.parametrize("dims", [1, 12])  # a k-d tree below 11 features, brute force above
def test_knn_averages_tied_rows_instead_of_picking_some(dims):
    from napari_vaemf.core.behavior._decode import _knn

    a, b = np.zeros(dims), np.full(dims, 5.0)
    x = np.array([a, a, a, b])
    y = np.array([[0.0], [0.0], [3.0], [10.0]])
    got = _knn(x, y, np.array([a + 0.1, a + 0.1, b]), 2)
    assert got[:, 0].tolist() == [1.0, 1.0, pytest.approx((10.0 + 1.0) / 2)]  # 2 of the 3 tied: their mean
    assert _knn(x, y, a[None], 4)[0, 0] == pytest.approx(13 / 4)
