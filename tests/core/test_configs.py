"""Configuration files: round trip, reproducible bytes, and clear errors on bad input."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from napari_vaemf.core.configs import SampleSet, load_configurations, save_configurations
from napari_vaemf.core.errors import InputError


def _spins(rng, t=20, n=7):
    return np.where(rng.random((t, n)) < 0.5, -1, 1).astype(np.int8)


def _vectors(rng, t=5, n=4):
    v = rng.normal(size=(t, n, 3))
    return (v / np.linalg.norm(v, axis=2, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("kind", ["spin", "binary", "vector"])
def test_round_trip(tmp_path, kind):
    rng = np.random.default_rng(1)
    x = {"spin": _spins(rng), "binary": (_spins(rng) > 0).astype(np.int8),
         "vector": _vectors(rng)}[kind]
    pat = _spins(rng, 7, 3) if kind != "vector" else np.ones((4, 2), np.int8)
    s = SampleSet("hopfield", x, {"n": 7, "seed": np.int64(3), "beta": np.float32(1.5)},
                  {"patterns": pat})
    assert s.encoding == kind
    path = save_configurations(tmp_path / "a.npz", s)
    back = load_configurations(path)
    assert back.model == "hopfield" and back.encoding == kind
    np.testing.assert_array_equal(back.configurations, x)
    assert back.configurations.dtype == (np.float32 if kind == "vector" else np.int8)
    assert back.params == {"n": 7, "seed": 3, "beta": 1.5}
    np.testing.assert_array_equal(back.truth["patterns"], pat)


def test_same_sampleset_same_bytes(tmp_path):
    s = SampleSet("curie-weiss", _spins(np.random.default_rng(0)), {"seed": 0}, {})
    a = save_configurations(tmp_path / "a.npz", s).read_bytes()
    b = save_configurations(tmp_path / "b.npz", s).read_bytes()
    assert a == b


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"configurations": np.array([[1, 0, -1]], np.int8)}, "-1/+1"),
        ({"configurations": np.array([[1.0, np.nan]])}, "NaN"),
        ({"configurations": np.ones((2, 3, 2), np.float32)}, "(T, N, 3)"),
        ({"configurations": np.ones((2, 3, 3), np.float32)}, "unit norm"),
        ({"configurations": np.ones((2, 3, 3), np.int8)}, "float"),
        ({"configurations": np.ones(5, np.int8)}, "shape"),
        ({"configurations": np.ones((0, 5), np.int8)}, "empty"),
        ({"configurations": np.array([["a"]])}, "numeric"),
        ({"x": np.ones((2, 2))}, "no 'configurations'"),
        ({"configurations": np.ones((2, 2), np.int8), "params": np.array("{oops")}, "JSON"),
        ({"configurations": np.ones((2, 2), np.int8), "params": np.array("[1]")}, "object"),
        ({"configurations": np.ones((2, 2), np.int8), "patterns": np.ones((3, 1), np.int8)},
         "patterns"),
        ({"configurations": np.ones((2, 2), np.int8), "patterns": np.zeros((2, 1), np.int8)},
         "patterns"),
    ],
)
def test_bad_files_name_file_and_problem(tmp_path, arrays, message):
    path = _write(tmp_path / "bad.npz", **arrays)
    before = path.read_bytes()
    with pytest.raises(InputError) as err:
        load_configurations(path)
    assert str(path) in str(err.value) and message in str(err.value)
    assert path.read_bytes() == before  # never modified


def test_not_an_archive_and_missing_file(tmp_path):
    p = tmp_path / "junk.npz"
    p.write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match="junk.npz"):
        load_configurations(p)
    with pytest.raises(InputError, match="no such file"):
        load_configurations(tmp_path / "missing.npz")


def test_pickled_object_arrays_are_refused(tmp_path):
    p = tmp_path / "obj.npz"
    np.savez(p, configurations=np.array([[1, -1]], dtype=object))
    with pytest.raises(InputError, match="obj.npz"):
        load_configurations(p)


def test_params_are_json_with_seed(tmp_path):
    s = SampleSet("x", _spins(np.random.default_rng(2)), {"seed": 5, "a": [1, 2]}, {})
    p = save_configurations(tmp_path / "p.npz", s)
    with zipfile.ZipFile(p) as zf:
        assert sorted(zf.namelist()) == ["configurations.npy", "model.npy", "params.npy"]
    with np.load(p) as z:
        assert json.loads(str(z["params"])) == {"a": [1, 2], "seed": 5}
