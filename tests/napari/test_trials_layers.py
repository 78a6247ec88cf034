"""Layer builders for trials and behaviour: shapes, placement, which trial a row shows."""
from __future__ import annotations

import numpy as np

from napari_vaemf._napari.overlays import RasterGeometry
from napari_vaemf._napari.trials import (AlignedRows, aligned_raster_layers, behavior_lanes_layer,
                                         event_marker_y, event_points_layer)
from napari_vaemf.core.trials import AlignSettings, EventTable, align


def _aligned():
    table = EventTable("t", "/intervals/t", "TimeIntervals",
                       {"start_time": np.array([1.0, 2.0, 3.0, 4.0]), "kind": np.array([2, 1, 2, 1])})
    counts = np.random.default_rng(0).poisson(1.0, (3, 100))  # (units, bins)
    s = AlignSettings(table="t", by="kind", window=(-0.5, 0.5))
    return align(table, np.zeros((100, 2)), 0.1, 0.0, s, counts=counts)


def test_markers_sit_above_the_raster_at_the_event_times():
    a, geom = _aligned(), RasterGeometry(3, 100, 0.1, 0.05)
    data, kw, kind = event_points_layer(a, geom, "events")
    assert kind == "points" and np.allclose(data[:, 1], [1, 2, 3, 4])
    assert np.all(data[:, 0] == event_marker_y(geom)) and event_marker_y(geom) < -0.5
    assert list(kw["features"]["group"]) == ["2", "1", "2", "1"]
    assert kw["face_color"][0] != kw["face_color"][1]  # one colour per group


def test_aligned_raster_rows_are_units_by_trials_sorted_by_group():
    a, geom = _aligned(), RasterGeometry(3, 100, 0.1, 0.05)
    (image, kw, _), (strip, _, _), (lines, _, _) = aligned_raster_layers(a, geom, "aligned")
    assert image.shape == (3 * 4, 10) and strip.shape == (12, 1, 3) and len(lines) == 1 + 2
    rows = kw["metadata"]["rows"]
    assert isinstance(rows, AlignedRows) and a.order().tolist() == [1, 3, 0, 2]
    assert [rows.trial(r) for r in range(4)] == [1, 3, 0, 2] and rows.trial(5) == 3
    assert rows.trial(12) is None
    assert np.array_equal(image[4:8], a.counts[[1, 3, 0, 2], :, 1])  # unit 1's block
    assert kw["translate"][0] > geom.n_units  # below the raster


def test_behaviour_lanes_follow_the_latent_lanes():
    geom = RasterGeometry(20, 500, 0.1, 0.05)
    v = np.column_stack([np.linspace(0, 1, 500), np.full(500, np.nan)])
    paths, kw, kind = behavior_lanes_layer(v, ["x", "gone"], geom, first_lane=2)
    lane = max(3.0, 0.25 * 20)
    assert kind == "shapes" and len(paths) == 2
    centre = -0.5 - geom.gap - 2.5 * lane
    assert np.all(np.abs(paths[0][:, 0] - centre) <= 0.45 * lane + 1e-9)
    assert np.allclose(paths[0][[0, -1], 1], [0.05, 0.05 + 499 * 0.1])
