"""Energy layer builders: attractors left of the raster, basins under it, landscape apart."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from napari_vaemf._napari import attractors as at
from napari_vaemf._napari import overlays as ov

GEOM = ov.RasterGeometry(n_units=12, n_bins=30_000, bin_size=0.02, t_start=1.01)


def _box(kw, shape):
    """(top, bottom, left, right) world edges of an image/labels layer of ``shape``."""
    (ty, tx), (sy, sx) = kw["translate"], kw["scale"]
    return ty - sy / 2, ty + sy * (shape[0] - 0.5), tx - sx / 2, tx + sx * (shape[1] - 0.5)


def _report(n_attr: int, t: int = GEOM.n_bins):
    rng = np.random.default_rng(0)
    attrs = [{"pattern": rng.integers(0, 2, GEOM.n_units).tolist(), "fraction": 0.5 / (a + 1),
              "fraction_nonsilent": 0.6 / (a + 1), "energy": 3.0 + a} for a in range(n_attr)]
    basin = np.repeat(np.arange(-1, 3), t // 4)  # silent, then attractors 0, 1, 2 in blocks
    return SimpleNamespace(attractors=attrs, basin=basin, silent_state={"fraction": 0.25})


def test_attractors_left_of_the_patterns_on_the_unit_axis():
    patterns = ov.pattern_layers(np.ones((12, 3)), np.zeros(12), GEOM, name="p")
    (img, kw, kind), (key, kkw, kkind) = at.attractor_layers(
        _report(40).attractors, GEOM, "r: attractors", right=at.left_edge(patterns, GEOM))
    assert kind == "image" and img.shape == (12, at.MAX_ATTRACTORS)  # capped, rows = units
    assert set(np.unique(img)) <= {0.0, 1.0}
    top, bottom, left, right = _box(kw, img.shape)
    assert (top, bottom) == (-0.5, 11.5)  # the raster's rows
    assert right < at.left_edge(patterns, GEOM) < GEOM.left  # left of the pattern images
    assert kw["metadata"]["vaemf"]["total"] == 40 and len(kw["metadata"]["vaemf"]["fractions"]) == 32
    assert kkind == "labels" and key.tolist() == [list(range(1, 33))]  # the basin labels' colours
    assert _box(kkw, key.shape)[2:] == pytest.approx((left, right))
    assert at.attractor_layers([], GEOM, "none") == []


def test_basin_track_spans_the_raster_under_the_overlap_strip():
    rep = _report(3)
    lab, kw, kind = at.basin_labels_layer(rep.basin, GEOM, "r: basins")
    assert kind == "labels" and lab.shape[0] == 1 and lab.shape[1] <= ov.MAX_LABEL_COLUMNS
    top, _, left, right = _box(kw, lab.shape)
    assert (left, right) == pytest.approx((GEOM.left, GEOM.left + kw["metadata"]["vaemf"]["block"]
                                           * lab.shape[1] * GEOM.bin_size))
    assert right >= GEOM.right - 1e-9 and right - GEOM.right < kw["scale"][1]
    strip = ov.overlap_labels_layer(np.zeros((10, 1)), GEOM, name="o")
    assert top > _box(strip[1], strip[0].shape)[1]  # below the overlap strip
    # label = rank + 1, 0 for the silent state, kept in time order by the block mode
    assert lab[0, 0] == 0 and lab[0, -1] == 3 and set(np.unique(lab)) == {0, 1, 2, 3}
    assert np.all(np.diff(lab[0]) >= 0)
    sparse = np.full(GEOM.n_bins, -1)  # mostly silent: each block of 4 bins has one or two
    sparse[::4], sparse[1::8] = 4, 0  # non-silent bins, which the block shows
    lab, kw, _ = at.basin_labels_layer(sparse, GEOM, "b")
    assert kw["metadata"]["vaemf"]["block"] == 4
    assert (lab[0, 1::2] == 5).all() and (lab[0, 0::2] == 1).all()  # a tie: the smaller label
    short, kw2, _ = at.basin_labels_layer(np.array([-1, 0, 4, 1]), GEOM, "b")
    assert short.tolist() == [[0, 1, 5, 2]] and kw2["metadata"]["vaemf"]["block"] == 1


def test_landscape_square_and_trajectory_clear_of_the_raster():
    bins = 20
    image = np.arange(bins * bins, dtype=float).reshape(bins, bins)
    image[0, 0] = np.nan
    land = {"image": image, "extent": (-1.0, 1.0, -2.0, 2.0), "what": "-log density"}
    t = np.linspace(0, 1, 9000)
    z = np.column_stack([np.cos(6 * t), 2 * np.sin(6 * t)])
    (img, kw, kind), (paths, pkw, pkind) = at.landscape_layers(land, z, GEOM, "r: landscape")
    assert kind == "image" and img.shape == (bins, bins)
    assert img[-1, 0] != img[-1, 0] and img[0, 0] == image[-1, 0]  # z2 up: rows flipped
    assert kw["metadata"]["vaemf"]["what"] == "-log density"
    assert kw["contrast_limits"] == (1.0, bins * bins - 1.0)
    top, bottom, left, right = _box(kw, img.shape)
    assert right < GEOM.left and top > GEOM.n_units  # beside the raster, not over it
    assert bottom - top == pytest.approx(right - left)  # a square
    assert pkind == "shapes" and pkw["shape_type"] == "path" and len(paths) == 1
    path = paths[0]
    assert len(path) <= ov.MAX_PATH_VERTICES
    assert path[:, 0].min() >= top - 1e-9 and path[:, 0].max() <= bottom + 1e-9
    assert path[:, 1].min() >= left - 1e-9 and path[:, 1].max() <= right + 1e-9
    # z = (1, 0) at t = 0: the right edge, half-way up
    assert path[0] == pytest.approx([(top + bottom) / 2, right])


def test_energy_layers_names():
    rep = _report(5)
    land = {"image": np.ones((8, 8)), "extent": (0, 1, 0, 1), "what": "w"}
    names = [kw["name"] for _, kw, _ in at.energy_layers(rep, GEOM, "r", (), land, np.zeros((30, 2)))]
    assert names == ["r: attractors", "r: attractors: key", "r: basins", "r: landscape",
                     "r: landscape trajectory"]
    names = [kw["name"] for _, kw, _ in at.energy_layers(rep, GEOM, "r")]
    assert names == ["r: attractors", "r: attractors: key", "r: basins"]
