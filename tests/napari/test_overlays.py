"""Overlay layer builders: geometry relative to the raster, decimation, overlaps, cursor link."""
from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest

from napari_vaemf._napari import overlays as ov
from napari_vaemf.core.stats import pattern_overlaps

GEOM = ov.RasterGeometry(n_units=20, n_bins=500, bin_size=0.02, t_start=1.01)


def test_geometry_of_a_layer():
    layer = SimpleNamespace(data=np.zeros((7, 30)), scale=(1.0, 0.5), translate=(0.0, 2.25))
    g = ov.RasterGeometry.of(layer)
    assert (g.n_units, g.n_bins, g.bin_size, g.t_start) == (7, 30, 0.5, 2.25)
    assert g.left == 2.0 and g.right == pytest.approx(2.0 + 30 * 0.5)
    assert g.bin_at(2.25) == 0 and g.bin_at(2.0 + 29.9 * 0.5) == 29 and g.bin_at(100.0) is None


def test_envelope_keeps_extremes_and_order():
    rng = np.random.default_rng(0)
    y = rng.normal(size=100_000)
    y[12_345], y[77_777] = 50.0, -60.0
    idx = ov.envelope(y, 1000)
    assert len(idx) <= 1000
    assert np.all(np.diff(idx) > 0)
    assert 12_345 in idx and 77_777 in idx
    assert np.array_equal(ov.envelope(y[:500], 1000), np.arange(500))


def test_pattern_layers_sit_left_of_raster_on_its_unit_axis():
    xi = np.linspace(-2, 3, 20 * 3).reshape(20, 3)
    (pat, pk, pt), (fld, fk, ft) = ov.pattern_layers(xi, np.arange(20.0), GEOM, name="p")
    assert pt == ft == "image" and pat.shape == (20, 3) and fld.shape == (20, 1)
    assert pk["translate"][0] == 0.0 and pk["scale"][0] == 1.0  # same rows as the raster
    col = pk["scale"][1]
    right_edge = pk["translate"][1] - 0.5 * col + 3 * col
    assert right_edge < GEOM.left
    assert fk["translate"][1] + 0.5 * col < pk["translate"][1] - 0.5 * col  # fields further left
    assert pk["contrast_limits"] == (-3.0, 3.0) and pk["colormap"] == "bwr"


def test_latent_paths_in_band_above_raster_on_time_axis():
    z = np.column_stack([np.sin(np.arange(500) / 20), 3 * np.cos(np.arange(500) / 30)])
    paths, kw, kind = ov.latent_trajectory_layer(z, GEOM)
    assert kind == "shapes" and len(paths) == 2
    for p in paths:
        assert p.shape == (500, 2)
        assert np.all(p[:, 0] < -0.5)  # above row 0
        assert p[0, 1] == pytest.approx(GEOM.t_start)
        assert p[-1, 1] == pytest.approx(GEOM.t_start + 499 * GEOM.bin_size)
    # lanes do not overlap
    assert paths[1][:, 0].max() < paths[0][:, 0].min()


def test_overlaps_and_labels():
    rng = np.random.default_rng(1)
    xi = rng.choice([-1, 1], size=(50, 2)).astype(np.int8)
    x = np.concatenate([np.tile(xi[:, 0], (10, 1)), np.tile(-xi[:, 1], (5, 1)),
                        rng.choice([-1, 1], size=(5, 50))]).astype(np.int8)
    m = pattern_overlaps(x, xi, "spin")
    assert np.allclose(m[:10, 0], 1.0) and np.allclose(m[10:15, 1], -1.0)
    lab, kw, kind = ov.overlap_labels_layer(m, ov.RasterGeometry(50, 20), threshold=0.6)
    assert kind == "labels" and lab.shape == (1, 20)
    assert (lab[0, :10] == 1).all() and (lab[0, 10:15] == 2).all() and (lab[0, 15:] == 0).all()
    assert kw["translate"][0] > 50 - 0.5  # below the raster


def test_cursor_link_moves_marker():
    z = np.random.default_rng(2).normal(size=(500, 2))
    pts, marker, link = ov.latent_points_layers(z, GEOM)
    link.marker = SimpleNamespace(data=None)
    link(SimpleNamespace(value=(3.0, GEOM.t_start + 123 * GEOM.bin_size)))
    assert link.bin == 123 and np.allclose(link.marker.data, pts[0][123:124])
    assert np.allclose(pts[1]["features"]["time"][123], GEOM.t_start + 123 * GEOM.bin_size)
    top = pts[0][:, 0].min()
    assert top > GEOM.n_units - 0.5  # the latent-space panel is below the raster


def test_salamander_size_decimates_fast():
    t, n, k = 283_041, 50, 3
    geom = ov.RasterGeometry(n, t, 0.02, 0.01)
    z = np.random.default_rng(3).normal(size=(t, k)).astype(np.float32)
    m = np.random.default_rng(4).normal(size=(t, 2)).astype(np.float32)
    t0 = time.perf_counter()
    paths, _, _ = ov.latent_trajectory_layer(z, geom)
    pts, _, _ = ov.latent_points_layers(z, geom, overlaps_=m)
    lab, _, _ = ov.overlap_labels_layer(m, geom, threshold=2.0)
    elapsed = time.perf_counter() - t0
    assert all(len(p) <= ov.MAX_PATH_VERTICES for p in paths)
    assert len(pts[0]) <= ov.MAX_POINTS and len(pts[1]["features"]["m1"]) == len(pts[0])
    assert lab.shape[1] <= ov.MAX_LABEL_COLUMNS
    assert elapsed < 5.0


def test_path_level_of_detail_is_exact_when_zoomed_in():
    t = 283_041
    geom = ov.RasterGeometry(50, t, 0.02, 0.01, ("pixel", "second"))
    z = np.random.default_rng(5).normal(size=(t, 2))
    paths, kw, _ = ov.latent_trajectory_layer(z, geom)
    lod = kw["metadata"]["lod"]
    assert kw["units"] == ("pixel", "second")
    assert all(len(p) <= ov.MAX_PATH_VERTICES for p in paths)
    x0, x1 = 1000.0, 1010.0  # a 10 s window: 500 bins, shown with one window either side
    assert lod.needs_update(x0, x1)
    zoomed = lod.paths(x0, x1)
    j0, j1 = lod.window
    assert j0 <= (x0 - geom.t_start) / geom.bin_size and j1 >= (x1 - geom.t_start) / geom.bin_size
    assert len(zoomed[0]) == j1 - j0  # every bin, no decimation
    np.testing.assert_allclose(zoomed[1][:, 1], geom.times(t)[j0:j1])
    lane_centre = -0.5 - geom.gap - 1.5 * lod.lane
    np.testing.assert_allclose(
        zoomed[1][:, 0], lane_centre - 0.45 * lod.lane * z[j0:j1, 1] / np.abs(z[:, 1]).max()
    )
    assert not lod.needs_update(x0 + 2.0, x1 + 2.0)  # a short pan stays inside the window
