"""Interval tables and event series of NWB files, and latents aligned to them."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.trials import AlignSettings, EventTable, align, find_tables, read_table

BIN = 0.1


def _nwb_with_events(path):
    """An NWB file with trials (a category and a cue time), epochs, TTL codes, annotations
    (old style), an events table (new style), a float signal in acquisition (not events)
    and one unit."""
    import warnings

    from pynwb import NWBHDF5IO, TimeSeries
    from pynwb.misc import AnnotationSeries
    from pynwb.testing.mock.file import mock_NWBFile

    nwb = mock_NWBFile()
    nwb.add_trial_column("stim", "1=left, 2=right")
    nwb.add_trial_column("cue_time", "time of the cue (absent: start_time)")
    for i, (t0, stim) in enumerate([(1.0, 1), (3.0, 2), (5.0, 1), (7.0, 2), (9.5, 1)]):
        cue = t0 if i == 2 else t0 + 0.5  # trial 2 has no cue: the file fills in start_time
        nwb.add_trial(start_time=t0, stop_time=t0 + 1.0, stim=stim, cue_time=cue)
    nwb.add_epoch(0.0, 5.0, ["first"])
    nwb.add_epoch(5.0, 10.0, ["second"])
    nwb.add_acquisition(TimeSeries(name="ttl", data=np.array([61, 1, 2, 1, 2], np.int8), unit="NA",
                                   timestamps=[-1.5e9, 1.0, 2.0, 3.0, 4.0],
                                   description="61 = start, 1 = on, 2 = off"))
    nwb.add_acquisition(TimeSeries(name="lfp", data=np.zeros(10), unit="V", rate=1.0))
    with warnings.catch_warnings():  # deprecated for new files, but older files hold them
        warnings.simplefilter("ignore", UserWarning)
        nwb.add_acquisition(AnnotationSeries(name="notes", data=["go", "stop"], timestamps=[2.0, 6.0]))
    licks = nwb.create_events_table(name="licks", description="licks")
    licks.add_column("side", "0 = left, 1 = right")
    for t, side in [(1.2, 0), (2.5, 1), (8.0, 0)]:
        licks.add_row(timestamp=t, side=side)
    nwb.add_unit(spike_times=[0.5, 1.5])
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


@pytest.fixture
def events_nwb(tmp_path):
    return _nwb_with_events(tmp_path / "events.nwb")


def test_every_table_and_event_series_is_found(events_nwb):
    found = find_tables(events_nwb)
    assert found == {"epochs": "/intervals/epochs", "trials": "/intervals/trials",
                     "notes": "/acquisition/notes", "ttl": "/acquisition/ttl",
                     "licks": "/events/licks"}
    trials = read_table(events_nwb, "trials")
    assert trials.n_rows == 5 and trials.kind == "TimeIntervals"
    assert set(trials.columns) == {"start_time", "stop_time", "stim", "cue_time"}
    assert trials.descriptions["stim"] == "1=left, 2=right"
    assert trials.time_columns() == ["start_time", "stop_time", "cue_time"]
    assert trials.categorical_columns() == ["stim"]
    ttl = read_table(events_nwb, "/acquisition/ttl")  # an HDF5 path works too
    assert list(ttl.columns) == ["timestamps", "data"] and ttl.columns["data"].tolist() == [61, 1, 2, 1, 2]
    notes = read_table(events_nwb, "notes")
    assert notes.columns["data"].tolist() == ["go", "stop"]
    assert "tags" not in read_table(events_nwb, "epochs").columns  # ragged columns are left out
    licks = read_table(events_nwb, "licks")
    assert licks.time_columns() == ["timestamp"] and licks.categorical_columns() == ["side"]


def test_missing_table_names_the_option_and_lists_the_tables(events_nwb):
    with pytest.raises(InputError, match=r"--table 'trails'.*there are: epochs, trials, notes, ttl, licks"):
        read_table(events_nwb, "trails")


def _table(times, groups=None, **extra) -> EventTable:
    cols = {"start_time": np.asarray(times, float)}
    if groups is not None:
        cols["kind"] = np.asarray(groups)
    cols.update({k: np.asarray(v) for k, v in extra.items()})
    return EventTable("t", "/intervals/t", "TimeIntervals", cols, {"kind": "1 = a, 2 = b"})


def test_windows_cut_the_right_bins():
    z = np.arange(100, dtype=np.float32)[:, None] * [1, -1]  # z[t] = (t, -t): bins are readable
    counts = np.arange(300).reshape(3, 100)  # (units, bins)
    s = AlignSettings(table="t", time="start_time", by="kind", window=(-0.2, 0.3))
    a = align(_table([1.0, 2.04, 5.0], [2, 1, 2]), z, BIN, 0.0, s, counts=counts)
    assert a.latents.shape == (3, 5, 2) and a.counts.shape == (3, 5, 3)
    # 2.04 s is snapped to the nearest bin edge (bin 20): window bins 18..22
    assert a.latents[:, :, 0].tolist() == [[8, 9, 10, 11, 12], [18, 19, 20, 21, 22], [48, 49, 50, 51, 52]]
    assert np.array_equal(a.counts[1, :, 2], counts[2, 18:23])
    assert np.allclose(a.rel_time, [-0.15, -0.05, 0.05, 0.15, 0.25])
    assert a.groups == [1, 2] and a.group.tolist() == [1, 0, 1] and a.group_sizes() == [1, 2]
    assert a.order().tolist() == [1, 0, 2]
    mean, sem = a.mean_sem()
    assert np.allclose(mean[1, :, 0], [28, 29, 30, 31, 32]) and np.allclose(sem[0], 0.0)
    # a dask raster gives the same counts
    da = pytest.importorskip("dask.array")
    b = align(_table([1.0, 2.04, 5.0], [2, 1, 2]), z, BIN, 0.0, s, counts=da.from_array(counts, chunks=(3, 7)))
    assert np.array_equal(a.counts, b.counts)


def test_absent_impossible_and_outside_trials_are_dropped_and_counted():
    z = np.zeros((100, 1))
    table = _table([0.05, 1.0, 2.0, 3.0, 4.0, 9.9], cue=[np.nan, 1.0, -1.5e9, 3.5, 0.0, 9.95],
                   kind=[1, 1, 2, 2, 1, 2])
    a = align(table, z, BIN, 0.0, AlignSettings(table="t", time="cue", by="kind", window=(-1, 1)))
    # row 0: NaN; row 1: = start_time (placeholder); row 4: 0 (placeholder); row 2: negative;
    # row 5: the window runs past the end (10 s)
    assert a.rows.tolist() == [3]
    assert a.dropped == {"absent": 3, "impossible": 1, "outside": 1, "no_group": 0}
    assert any("before the session start" in w and "-1.5e+09" in w for w in a.warnings)
    kept = align(table, z, BIN, 0.0, AlignSettings(table="t", time="cue", window=(-1, 1), placeholders=False))
    assert kept.rows.tolist() == [1, 3] and kept.dropped["absent"] == 1 and kept.dropped["outside"] == 2


def test_groups_keep_the_stored_values_and_warn_when_the_description_differs():
    a = align(_table([1.0, 2.0, 3.0], [0, 1, 0]), np.zeros((50, 2)), BIN, 0.0,
              AlignSettings(table="t", by="kind", window=(0, 0.5)))
    assert a.groups == [0, 1] and a.labels == ["0", "1"] and a.description == "1 = a, 2 = b"
    assert any("stored values [0, 1] are not the codes" in w for w in a.warnings)


@pytest.mark.parametrize("settings, match", [
    (dict(time="nope"), r"--time 'nope'.*no such column \(columns: start_time, kind, name\)"),
    (dict(by="nope"), r"--by 'nope'.*no such column"),
    (dict(by="name"), r"--by 'name': 30 distinct values"),
    (dict(window=(-1, 20)), r"--window -1 20: 21 s is longer than the recording \(10 s\)"),
    (dict(window=(0, 0.01)), r"shorter than one bin"),
    (dict(window=(2, 1)), r"--window: the start"),
])
def test_bad_alignments_are_refused_naming_the_option(settings, match):
    table = _table(np.arange(30) * 0.3 + 0.5, np.arange(30) % 2, name=[f"c{i}" for i in range(30)])
    with pytest.raises(ParameterError, match=match):
        align(table, np.zeros((100, 1)), BIN, 0.0, AlignSettings(table="t", **settings))


def test_the_mtl_encoding_clips(shared):
    path = shared.need(shared.MTL)
    assert {"encoding_table", "recognition_table", "events"} <= set(find_tables(path))
    table = read_table(path, "encoding_table")
    assert "stimCategory" in table.categorical_columns() and "boundary1_time" in table.time_columns()
    z = np.zeros((int(2821 / 0.02), 2), np.float32)
    s = AlignSettings(table="encoding_table", time="boundary1_time", by="stimCategory", window=(-1, 3))
    a = align(table, z, 0.02, 0.0, s)
    assert a.n_trials == 90 and a.groups == [0, 1, 2] and a.group_sizes() == [30, 30, 30]
    assert a.latents.shape == (90, 200, 2) and a.description.startswith("1=no boundary (NB)")
    assert sum(a.dropped.values()) == 0 and any("[1, 2, 3]" in w for w in a.warnings)
    # clips without a second boundary store start_time there: absent, not aligned to the clip start
    b2 = align(table, z, 0.02, 0.0, AlignSettings(table="encoding_table", time="boundary2_time", window=(-1, 3)))
    assert b2.dropped["absent"] == 60 and b2.n_trials == 30
    # the TTL events: the first timestamp (-1.5e9 s) is impossible
    ev = align(read_table(path, "events"), z, 0.02, 0.0,
               AlignSettings(table="events", time="timestamps", by="data", window=(-1, 3)))
    assert ev.dropped["impossible"] == 1 and 1 in ev.groups
