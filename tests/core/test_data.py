"""core.data: the held-out split rule, the input options, the bin-size rule, the time base."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf.core.configs import SampleSet, save_configurations
from napari_vaemf.core.data import InputOptions, heldout_split, prepare, read_input
from napari_vaemf.core.encoding import detect_encoding, fitting_encoding
from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.recordings import Recording


def test_split_whole_repeats_every_mth():
    idx, rule = heldout_split(10 * 7, 0.5, repeats=10)
    assert rule == "repeats"
    held = np.unique(idx // 7)
    assert held.tolist() == [1, 3, 5, 7, 9]  # the odd repeats
    assert np.array_equal(idx, np.sort(idx)) and len(idx) == 5 * 7
    idx, _ = heldout_split(20 * 3, 0.1, repeats=20)
    assert np.unique(idx // 3).tolist() == [9, 19]


def test_split_time_blocks_are_contiguous_and_spread():
    idx, rule = heldout_split(1000, 0.1)
    assert rule == "blocks" and len(idx) == 100
    runs = np.split(idx, np.flatnonzero(np.diff(idx) != 1) + 1)
    assert len(runs) == 10 and all(len(r) == 10 for r in runs)
    assert idx[0] >= 90 and idx[-1] == 999  # the end of each tenth of the time axis


def test_split_iid_rows_are_random_and_seeded():
    a, rule = heldout_split(1000, 0.2, seed=3, iid=True)
    b, _ = heldout_split(1000, 0.2, seed=3, iid=True)
    c, _ = heldout_split(1000, 0.2, seed=4, iid=True)
    assert rule == "rows" and len(a) == 200
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.diff(a).max() > 1  # not one block


def test_split_none_and_bad_fraction():
    idx, rule = heldout_split(100, 0.0)
    assert rule == "none" and idx.size == 0
    with pytest.raises(ParameterError, match="--holdout"):
        heldout_split(100, 1.0)


def test_encoding_rule():
    assert detect_encoding(np.array([[0, 1], [1, 1]], np.int8)) == "binary"
    assert detect_encoding(np.array([[-1, 1], [1, 1]], np.int8)) == "spin"
    assert detect_encoding(np.ones((2, 2), np.uint8)) == "binary"
    assert detect_encoding(np.zeros((2, 2, 3), np.float32)) == "vector"
    assert fitting_encoding("counts") == "binary" and fitting_encoding("spin") == "spin"


def test_prepare_counts_recording_states_time_base(tmp_path):
    counts = np.random.default_rng(0).poisson(0.3, (5, 400)).astype(np.uint8)
    path = tmp_path / "r.npz"
    np.savez(path, raster=counts, bin_size=np.array(0.01), t_start=np.array(2.0))
    rec = read_input(path)
    data = prepare(rec, 0.1, options=InputOptions())
    assert data.encoding == "binary" and data.x.dtype == np.int8
    assert set(np.unique(data.x)) <= {0, 1}
    assert np.array_equal(data.x, (counts.T > 0).astype(np.int8))
    assert data.split == "blocks"
    tb = data.time_base
    assert tb["bin_size"] == 0.01 and tb["t_start"] == 2.0
    assert tb["source_sha256"] and len(tb["source_sha256"]) == 64
    assert data.describe()["n_test"] == len(data.test_index) == 40


def test_bin_size_rebins_a_raster_that_states_its_bin(tmp_path):
    counts = np.zeros((2, 100), np.uint8)
    counts[0, ::2] = 1  # one spike every other 10 ms bin
    path = tmp_path / "r.npz"
    np.savez(path, raster=counts, bin_size=np.array(0.01))
    rec = read_input(path, InputOptions(bin_size=0.02))
    assert rec.bin_size == 0.02 and rec.n_bins == 50
    assert np.asarray(rec.raster)[0].tolist() == [1] * 50  # merged pairs of bins, not relabelled
    with pytest.raises(ParameterError, match="multiples"):
        read_input(path, InputOptions(bin_size=0.015))
    plain = tmp_path / "p.npy"
    np.save(plain, counts.T.copy())
    assert read_input(plain, InputOptions(bin_size=0.5)).bin_size == 0.5  # no stated bin: a label


def test_configurations_are_iid_rows(tmp_path):
    x = (np.random.default_rng(1).random((200, 4)) < 0.5).astype(np.int8) * 2 - 1
    path = tmp_path / "cw.npz"
    save_configurations(path, SampleSet("curie-weiss", x, {"seed": 0}))
    data = prepare(read_input(path), 0.2)
    assert data.split == "rows" and data.encoding == "spin" and data.time_base["bin_size"] is None


def test_units_option_selects_by_id():
    rec = Recording(raster=np.eye(6, 20, dtype=np.uint8), units={"id": np.arange(10, 16)},
                    bin_size=0.02, encoding="counts")
    from napari_vaemf.core.data import parse_units

    assert parse_units("all", rec.units["id"]) is None
    assert parse_units("10,12-14", rec.units["id"]).tolist() == [0, 2, 3, 4]
    with pytest.raises(ParameterError, match="no unit with id 3"):
        parse_units("3", rec.units["id"])
    with pytest.raises(ParameterError, match="--units"):
        parse_units("a-b", rec.units["id"])


def test_input_options_refuse_impossible_values():
    with pytest.raises(ParameterError, match="--bin-size"):
        InputOptions(bin_size=-1.0)
    with pytest.raises(ParameterError, match="--t-stop"):
        InputOptions(t_start=5.0, t_stop=1.0)
