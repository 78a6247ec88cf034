"""recording_layer: orientation, time axis in seconds, metadata, lazy multiscale for big recordings."""
from __future__ import annotations

import json

import numpy as np
import pytest

from napari_vaemf._napari.layers import PYRAMID_MIN_BINS, recording_layer
from napari_vaemf.core.recordings import Recording, SpikeTrains


def test_units_down_time_across_in_seconds():
    rec = Recording(raster=np.zeros((4, 10), np.uint8), bin_size=0.5, t_start=2.0, encoding="binary")
    data, kwargs, kind = recording_layer(rec, name="x")
    assert kind == "image" and data.shape == (4, 10)
    assert kwargs["scale"] == (1.0, 0.5) and kwargs["translate"] == (0.0, 2.25)  # bin centres
    json.dumps(kwargs["metadata"]["vaemf"])  # json-able
    assert kwargs["metadata"]["recording"] is rec


def test_big_lazy_recording_is_a_binned_on_demand_pyramid():
    from napari.layers import Layer

    rng = np.random.default_rng(0)
    trains = [np.sort(rng.uniform(0, 600.0, 100)) for _ in range(50)]
    rec = Recording.from_spike_trains(SpikeTrains.from_list(trains), 0.001, lazy=True)
    data, kwargs, kind = recording_layer(rec)
    assert kwargs["multiscale"] and data[-1].shape[1] <= PYRAMID_MIN_BINS
    for coarse in data[1:]:
        assert coarse.shape[0] == 50 and not isinstance(coarse, np.ndarray)
    # a coarse level counts the same spikes as the full raster over the same bins
    f = data[0].shape[1] // data[1].shape[1]
    n = data[1].shape[1]
    full = data[0][:, : n * f].compute().reshape(50, n, f).sum(axis=2)
    np.testing.assert_array_equal(data[1].compute(), full)
    layer = Layer.create(data, kwargs, kind)
    assert layer.multiscale and layer.level_shapes[0][1] == rec.n_bins


def test_vectors_show_as_rgb():
    v = np.zeros((3, 7, 3), np.float32)
    v[..., 2] = 1.0
    from napari.layers import Layer

    data, kwargs, kind = recording_layer(Recording(raster=v, encoding="vector"))
    layer = Layer.create(data, kwargs, kind)
    assert layer.rgb and layer.data.shape == (3, 7, 3) and list(layer.contrast_limits) == [-1.0, 1.0]


@pytest.mark.gui
def test_viewer_shows_a_lazy_recording_without_densifying(make_napari_viewer):
    """200 units x 20 min at 1 ms (2.4e8 cells) display from the pyramid: memory stays small."""
    import tracemalloc

    from napari.layers import Layer

    rng = np.random.default_rng(0)
    trains = [np.sort(rng.uniform(0, 1200.0, 300)) for _ in range(200)]
    rec = Recording.from_spike_trains(SpikeTrains.from_list(trains), 0.001)
    assert rec.is_lazy
    viewer = make_napari_viewer()
    tracemalloc.start()
    layer = viewer.add_layer(Layer.create(*recording_layer(rec)))
    viewer.reset_view()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert layer.multiscale and layer.data_level > 0
    assert peak < rec.n_units * rec.n_bins / 4  # far below the 240 MB dense raster
