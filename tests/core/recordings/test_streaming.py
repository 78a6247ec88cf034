"""Recordings too large to hold densely: spike times left in the NWB file (FileTimes), samples
packed one bit per cell (PackedRaster), and fits that stream from them.

Small files stand in for a Neuropixels session: the size thresholds are lowered so that the
same code paths run (benchmarks/bench_streaming_fit.py runs the 2,000-unit x 4 h one)."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from napari_vaemf.core.data import prepare, streams
from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.recordings import (
    FileTimes,
    PackedRaster,
    Recording,
    SpikeTrains,
    load_recording,
    pack_recording,
    read_nwb_units,
)
from napari_vaemf.core.recordings import _nwb, _recording


@pytest.fixture
def trains():
    rng = np.random.default_rng(7)
    out = [np.sort(rng.uniform(0.0, 120.0, rng.integers(50, 900))) for _ in range(21)]
    out[4] = np.zeros(0)  # a silent unit
    out[9] = np.array([0.0, 0.01, 0.01, 59.99, 60.0])  # spikes on bin edges and repeated times
    return out


@pytest.fixture
def nwb(tmp_path, trains, write_nwb):
    return write_nwb(tmp_path / "session.nwb", trains, ids=np.arange(100, 121))


@pytest.fixture
def in_file(monkeypatch):
    """Every Units table keeps its spike times in the file."""
    monkeypatch.setattr(_nwb, "IN_FILE_SPIKES", 0)


def test_file_times_reads_what_the_array_holds(nwb, trains):
    flat = np.concatenate(trains)
    ft = FileTimes(nwb, "/units/spike_times")
    assert len(ft) == ft.size == flat.size and ft.shape == (flat.size,)
    np.testing.assert_array_equal(ft[3:400], flat[3:400])
    np.testing.assert_array_equal(ft[::7], flat[::7])
    assert ft[5] == flat[5] and ft[-1] == flat[-1]
    np.testing.assert_array_equal(ft[np.array([0, 17, 5])], flat[[0, 17, 5]])
    np.testing.assert_array_equal(np.asarray(ft), flat)
    with pytest.raises(IndexError):
        ft[flat.size]
    with pytest.raises(TypeError):
        ft[flat > 1]  # masks would read everything: not offered
    # a view of some units (out of order, one empty) maps onto the file's segments
    ends = np.cumsum([len(t) for t in trains])
    starts = ends - [len(t) for t in trains]
    pick = [9, 4, 2, 20]
    view = ft.take(starts[pick], ends[pick])
    want = np.concatenate([trains[u] for u in pick])
    np.testing.assert_array_equal(np.asarray(view), want)
    np.testing.assert_array_equal(view[3:len(trains[9]) + 40], want[3:len(trains[9]) + 40])  # across segments
    again = pickle.loads(pickle.dumps(view))  # a worker process reopens the file
    np.testing.assert_array_equal(np.asarray(again), want)
    ft.close()


def test_nwb_spike_times_stay_in_the_file_and_bin_the_same(nwb, in_file, monkeypatch):
    st = read_nwb_units(nwb)
    assert st.in_file and isinstance(st.times, FileTimes)
    monkeypatch.setattr(_nwb, "IN_FILE_SPIKES", 1 << 40)
    ref = read_nwb_units(nwb)
    assert not ref.in_file
    np.testing.assert_array_equal(st.counts(), ref.counts())
    assert st.first_last() == ref.first_last()
    a = Recording.from_spike_trains(st, 0.01)
    b = Recording.from_spike_trains(ref, 0.01)
    np.testing.assert_array_equal(a.raster, b.raster)
    lazy = Recording.from_spike_trains(st, 0.01, lazy=True)
    np.testing.assert_array_equal(lazy.raster.compute(), b.raster)
    assert a.n_spikes() == b.n_spikes() == ref.times.size
    sub = a.select(units=[9, 4, 0], t_start=30.0, t_stop=90.0)
    np.testing.assert_array_equal(sub.raster, b.select(units=[9, 4, 0], t_start=30.0, t_stop=90.0).raster)
    assert sub.spike_trains.in_file  # selecting units reads nothing


@pytest.mark.parametrize("lazy", [False, True])
def test_pack_recording_is_bit_identical_to_the_samples(nwb, in_file, lazy):
    rec = load_recording(nwb, bin_size=0.01, lazy=lazy)
    for r in (rec, rec.select(units=[9, 4, 0, 20], t_start=12.345, t_stop=100.0),
              rec.select(t_start=59.99)):
        packed = pack_recording(r)
        assert packed.shape == (r.n_bins, r.n_units)
        np.testing.assert_array_equal(np.asarray(packed), r.samples().astype(np.int8))
    # a lazy raster without spike trains is packed chunk by chunk
    plain = Recording(raster=rec.raster, bin_size=0.01, encoding="counts")
    np.testing.assert_array_equal(np.asarray(pack_recording(plain, chunk_bins=999)), rec.samples())


def test_packed_raster_indexing():
    x = (np.random.default_rng(1).random((50, 13)) < 0.4).astype(np.int8)
    p = PackedRaster.from_dense(x)
    assert p.shape == (50, 13) and len(p) == 50 and p.dtype == np.int8 and p.nbytes == 50 * 2
    np.testing.assert_array_equal(p[7], x[7])
    np.testing.assert_array_equal(p[5:20], x[5:20])
    np.testing.assert_array_equal(p[np.array([3, 1, 49])], x[[3, 1, 49]])
    np.testing.assert_array_equal(p[x[:, 0] > 0], x[x[:, 0] > 0])
    np.testing.assert_array_equal(p[2:9, 4], x[2:9, 4])
    np.testing.assert_array_equal(np.asarray(p, dtype=np.float32), x.astype(np.float32))
    with pytest.raises(ParameterError, match="uint8"):
        PackedRaster(np.zeros((4, 3), np.uint8), 13)


def test_prepare_streams_lazy_recordings_only_when_asked(nwb, in_file):
    lazy = load_recording(nwb, bin_size=0.01, lazy=True)
    eager = load_recording(nwb, bin_size=0.01)
    assert streams(lazy) and not streams(eager)
    d = prepare(lazy, 0.1, stream=True)
    assert isinstance(d.x, PackedRaster) and d.time_base["streamed"] and d.split == "blocks"
    dense = prepare(lazy, 0.1)
    assert isinstance(dense.x, np.ndarray) and not dense.time_base["streamed"]
    np.testing.assert_array_equal(d.test_index, dense.test_index)  # the same held-out blocks


def test_streamed_fit_equals_the_in_memory_fit(nwb, in_file, one_torch_thread, monkeypatch):
    from napari_vaemf.core.fitting import choose_engine, new_fit
    from napari_vaemf.core.progress import drive
    from napari_vaemf.core.vae.config import VAEConfig

    # the spike times are read per unit: reading the whole array would be an error here
    monkeypatch.setattr(FileTimes, "__array__", lambda *a, **k: pytest.fail("read all spike times"))
    lazy = load_recording(nwb, bin_size=0.05, lazy=True)
    config = VAEConfig(latents=2, epochs=2)
    streamed, dense = prepare(lazy, 0.2, stream=True), prepare(lazy, 0.2)
    engine, why = choose_engine(streamed.x, "binary", config)
    assert engine == "vae" and "streamed" in why
    with pytest.raises(ParameterError, match="--method exact"):
        choose_engine(streamed.x, "binary", VAEConfig(latents=2, method="exact"))
    config = VAEConfig(latents=2, epochs=2, method="vae")
    fits = []
    for data in (streamed, dense):
        fit = new_fit(data, config)
        drive(fit.train(), bar=False)
        fits.append((fit, fit.evaluate(), fit.latents()))
    (fs, es, zs), (fd, ed, zd) = fits
    assert not fs.on_device and fd.on_device
    assert fs.fingerprint == fd.fingerprint  # the same data, bit for bit
    assert es["test_loglik_nats"] == pytest.approx(ed["test_loglik_nats"], abs=1e-4)
    np.testing.assert_allclose(zs, zd, atol=1e-4)
    assert zs.shape == (lazy.n_bins, 2)


def test_cli_fit_streams_a_large_recording(nwb, in_file, tmp_path, monkeypatch, one_torch_thread):
    from napari_vaemf.cli import main

    monkeypatch.setattr(_recording, "LAZY_CELLS", 1000)  # this small file counts as large
    run = tmp_path / "run"
    assert main(["fit", str(nwb), "-o", str(run), "--latents", "2", "--epochs", "2",
                 "--bin-size", "0.05"]) == 0
    report = json.loads((run / "report.json").read_text())
    assert report["method"] == "vae" and report["data"]["streamed"] is True
    assert "streamed" in report["engine_reason"]
    assert np.load(run / "latents.npy").shape == (report["n_samples"], 2) == (load_recording(nwb, bin_size=0.05).n_bins, 2)
    assert np.isfinite(report["test_loglik_nats"])


def test_packed_samples_refuse_other_encodings():
    from napari_vaemf.core.vae._data import check_data

    p = PackedRaster.from_dense(np.ones((5, 3)))
    with pytest.raises(InputError, match="binary"):
        check_data(p, "spin")
    rec = Recording(raster=np.ones((3, 5), np.int8), encoding="spin")
    with pytest.raises(ParameterError, match="binary or count"):
        pack_recording(rec)
    assert SpikeTrains.from_list([[0.1, 0.2]]).in_file is False


def test_packed_take_and_chunks():
    x = (np.random.default_rng(2).random((40, 11)) < 0.3).astype(np.int8)
    p = PackedRaster.from_dense(x)
    mask = x[:, 3] > 0
    np.testing.assert_array_equal(p.take(mask)[:], x[mask])
    np.testing.assert_array_equal(p.take(np.array([7, 2]))[:], x[[7, 2]])
    np.testing.assert_array_equal(np.concatenate(list(p.chunks(6))), x)
    assert [len(c) for c in p.chunks(16)] == [16, 16, 8]


def test_streamed_capacity_sweep_equals_the_in_memory_sweep(nwb, in_file, one_torch_thread,
                                                            monkeypatch):
    from napari_vaemf.core.capacity import CapacitySettings, capacity_sweep
    from napari_vaemf.core.progress import drive

    lazy = load_recording(nwb, bin_size=0.05, lazy=True)
    streamed, dense = prepare(lazy, 0.2, stream=True), prepare(lazy, 0.2)
    st = CapacitySettings(k_max=2, seeds=1, infonce=False, random_partitions=1, model_mi=False,
                          epochs=3, method="vae")  # the in-memory sweep would choose exact
    reports = [drive(capacity_sweep(dense.x, "binary", test_index=dense.test_index, settings=st),
                     bar=False)]
    # nothing of the streamed sweep makes the whole raster dense
    monkeypatch.setattr(PackedRaster, "__array__", lambda *a, **k: pytest.fail("made dense"))
    reports.append(drive(capacity_sweep(streamed.x, "binary", test_index=streamed.test_index,
                                        settings=st), bar=False))
    dense_r, streamed_r = reports
    assert streamed_r.settings["engine"] == dense_r.settings["engine"] == "vae"
    assert streamed_r.settings["n_test"] == dense_r.settings["n_test"] == len(dense.test_index)
    for a, b in zip(streamed_r.points, dense_r.points):
        assert a.test_loglik_nats == pytest.approx(b.test_loglik_nats, abs=1e-4)
        assert a.stat_errors["cov_corr"] == pytest.approx(b.stat_errors["cov_corr"], abs=1e-6)
    assert streamed_r.bipartite_mi[0].value == pytest.approx(dense_r.bipartite_mi[0].value, abs=1e-12)
    assert streamed_r.latents_needed == dense_r.latents_needed
    with pytest.raises(ParameterError, match="shuffle"):
        drive(capacity_sweep(streamed.x, "binary", test_index=streamed.test_index,
                             settings=CapacitySettings(k_max=1, control="shuffle")), bar=False)


def test_cli_capacity_streams_a_large_recording(nwb, in_file, tmp_path, monkeypatch,
                                                one_torch_thread):
    from napari_vaemf.cli import main

    monkeypatch.setattr(_recording, "LAZY_CELLS", 1000)  # this small file counts as large
    monkeypatch.setattr(PackedRaster, "__array__", lambda *a, **k: pytest.fail("made dense"))
    out = tmp_path / "cap"
    assert main(["capacity", str(nwb), "-o", str(out), "--max-latents", "1", "--seeds", "1",
                 "--epochs", "2", "--bin-size", "0.05", "--model-mi", "false"]) == 0
    d = json.loads((out / "capacity.json").read_text())
    assert d["data"]["streamed"] is True and d["settings"]["engine"] == "vae"
    assert [r["latents"] for r in d["sweep"]] == [1] and np.isfinite(d["sweep"][0]["test_loglik_nats"])
