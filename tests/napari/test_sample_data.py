"""napari sample data: one configuration layer per model, (N, T), with model, params and truth."""
from __future__ import annotations

import json
import time
from importlib import import_module
from pathlib import Path

import numpy as np
import pytest
import yaml

from napari_vaemf._napari import _sample_data
from napari_vaemf.core.samplers import curie_weiss_pm, maier_saupe_mean_field_S

MANIFEST = Path(_sample_data.__file__).parents[1] / "napari.yaml"
EXPECTED = {  # function: (model, shape (N, T[, 3]))
    "curie_weiss": ("curie-weiss", (64, 2000)),
    "hopfield": ("hopfield", (100, 1000)),
    "maier_saupe": ("maier-saupe", (64, 400, 3)),
    "ising2d": ("ising2d", (1024, 600)),
}


def test_manifest_sample_entries_resolve_to_these_functions():
    manifest = yaml.safe_load(MANIFEST.read_text())
    commands = {c["id"]: c["python_name"] for c in manifest["contributions"]["commands"]}
    keys = {e["key"]: commands[e["command"]] for e in manifest["contributions"]["sample_data"]}
    assert set(keys) == set(EXPECTED)
    for key, python_name in keys.items():
        module, func = python_name.split(":")
        assert getattr(import_module(module), func) is getattr(_sample_data, key)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_layer(name):
    t0 = time.perf_counter()
    layers = getattr(_sample_data, name)()
    elapsed = time.perf_counter() - t0
    assert elapsed < 4.0  # < 2 s on an idle 2-core machine; slack for a shared one
    assert len(layers) == 1
    data, kwargs, kind = layers[0]
    model, shape = EXPECTED[name]
    assert kind == "image" and data.shape == shape
    meta = kwargs["metadata"]["vaemf"]
    json.dumps(meta)  # json-able
    assert meta["model"] == model and meta["params"]["seed"] == 0 and meta["truth"]
    if model == "maier-saupe":
        assert kwargs["rgb"] is True and data.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(data, axis=2), 1.0, atol=1e-5)
    else:
        assert set(np.unique(data).tolist()) == {-1, 1}


def test_sample_layers_show_the_planted_physics():
    (cw, kw, _), = _sample_data.curie_weiss()
    m, p = curie_weiss_pm(64, 1.2)
    assert np.abs(cw.mean(axis=0)).mean() == pytest.approx((np.abs(m) * p).sum() / 64, abs=0.02)
    (hop, kw, _), = _sample_data.hopfield()
    xi = np.array(kw["metadata"]["vaemf"]["truth"]["patterns"])
    assert xi.shape == (100, 3)
    overlaps = np.abs(xi.T @ hop) / 100  # (P, T): each sample sits near one pattern
    assert np.median(overlaps.max(axis=0)) > 0.6
    (ms, kw, _), = _sample_data.maier_saupe()
    s = np.array(kw["metadata"]["vaemf"]["truth"]["S"])
    assert s.mean() == pytest.approx(maier_saupe_mean_field_S(9.0), abs=0.05)


def test_sample_data_is_the_same_each_time():
    a = _sample_data.hopfield()[0][0]
    b = _sample_data.hopfield()[0][0]
    np.testing.assert_array_equal(a, b)


@pytest.mark.gui
def test_open_sample_in_viewer(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-vaemf", "curie_weiss")
    viewer.open_sample("napari-vaemf", "maier_saupe")
    assert [layer.data.shape for layer in viewer.layers] == [(64, 2000), (64, 400, 3)]
    assert viewer.layers[0].metadata["vaemf"]["model"] == "curie-weiss"
