"""The writer contribution: a layer saved as a vaemf .npz reads back through the reader."""
from __future__ import annotations

import numpy as np

from napari_vaemf._napari._reader import get_reader
from napari_vaemf._napari._writer import write_configurations
from napari_vaemf._napari.layers import recording_layer
from napari_vaemf.core.configs import load_configurations
from napari_vaemf.core.recordings import Recording


def test_write_then_read(tmp_path):
    counts = np.array([[0, 2, 1, 0], [1, 0, 0, 3]], dtype=np.uint8)
    rec = Recording(raster=counts, bin_size=0.01, units={"id": np.array([5, 9])}, encoding="counts")
    data, kwargs, _ = recording_layer(rec, name="r")
    [out] = write_configurations(str(tmp_path / "r.npz"), data, {"metadata": kwargs["metadata"], "name": "r"})
    s = load_configurations(out)
    np.testing.assert_array_equal(s.configurations, (counts.T > 0).astype(np.int8))
    assert s.params["bin_size"] == 0.01 and s.params["unit_ids"] == [5, 9]
    [(back, _, kind)] = get_reader(out)(out)
    np.testing.assert_array_equal(back, (counts > 0))


def test_spin_layer_keeps_signs(tmp_path):
    x = np.array([[1, -1, 1], [-1, -1, 1]], dtype=np.int8)
    rec = Recording(raster=x, encoding="spin", model="curie-weiss", params={"beta_j": 1.2},
                    truth={"m": np.array([0.5])})
    data, kwargs, _ = recording_layer(rec)
    [out] = write_configurations(str(tmp_path / "s.npz"), data, {"metadata": kwargs["metadata"]})
    s = load_configurations(out)
    np.testing.assert_array_equal(s.configurations, x.T)
    assert s.model == "curie-weiss" and s.params["beta_j"] == 1.2
    np.testing.assert_array_equal(s.truth["m"], [0.5])


def test_reopened_layer_keeps_bin_size_and_t_start(tmp_path):
    counts = np.array([[0, 2, 1, 0, 1, 1], [1, 0, 0, 3, 0, 1]], dtype=np.uint8)
    rec = Recording(raster=counts, bin_size=0.025, t_start=12.5, units={"id": np.array([5, 9])},
                    encoding="counts", repeats=2)
    data, kwargs, _ = recording_layer(rec, name="r")
    [out] = write_configurations(str(tmp_path / "r.npz"), data, {"metadata": kwargs["metadata"], "name": "r"})
    [(back, back_kwargs, _)] = get_reader(out)(out)
    again = back_kwargs["metadata"]["recording"]
    assert again.bin_size == 0.025 and again.t_start == 12.5 and again.repeats == 2
    assert again.units["id"].tolist() == [5, 9]
    # the layer reads in seconds from the same origin as the one saved
    assert tuple(back_kwargs["scale"]) == tuple(kwargs["scale"])
    assert tuple(back_kwargs["translate"]) == tuple(kwargs["translate"])
    assert back_kwargs["metadata"]["vaemf"]["t_start"] == 12.5
