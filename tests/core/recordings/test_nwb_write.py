"""save_fit_to_nwb writes a new, valid NWB file; inputs are never modified."""
from __future__ import annotations

import json
import types

import numpy as np
import pytest
import scipy.io

from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.recordings import load_recording, save_fit_to_nwb


def fake_fit(rec, k=2, rng=None):
    """The duck-typed fit: latents (T, K), patterns (N, P), fields (N,), config, metrics."""
    rng = rng or np.random.default_rng(0)
    return types.SimpleNamespace(
        latents=rng.normal(size=(rec.n_bins, k)), patterns=rng.normal(size=(rec.n_units, k)),
        fields=rng.normal(size=rec.n_units), config={"latents": k, "lr": 1e-3},
        metrics={"test_elbo_nats": -12.5},
    )


def critical_messages(path):
    from nwbinspector import Importance, inspect_nwbfile

    return [m for m in inspect_nwbfile(path) if m is not None and m.importance == Importance.CRITICAL]


def test_round_trip_through_pynwb(tmp_path, poisson_trains, write_nwb, sha256):
    from pynwb import NWBHDF5IO

    ids = np.arange(len(poisson_trains)) + 40
    src = write_nwb(tmp_path / "src.nwb", poisson_trains, ids=ids)
    rec = load_recording(src, bin_size=0.05, t_start=1.0)
    fit = fake_fit(rec)
    out = save_fit_to_nwb(fit, rec, tmp_path / "fit.nwb")
    with NWBHDF5IO(str(out), "r") as io:
        f = io.read()
        lat = f.processing["vaemf"]["latents"]
        np.testing.assert_allclose(lat.data[:], fit.latents)
        assert lat.starting_time == pytest.approx(1.0) and lat.rate == pytest.approx(20.0)
        table = f.processing["vaemf"]["decoder_units"]
        assert list(table.id[:]) == ids.tolist()
        np.testing.assert_allclose(table["pattern"].data[:], fit.patterns)
        np.testing.assert_allclose(table["field"].data[:], fit.fields)
        assert json.loads(f.scratch["vaemf_config"].data) == fit.config
        assert json.loads(f.scratch["vaemf_metrics"].data) == fit.metrics
        ref = json.loads(f.scratch["vaemf_source"].data)
        assert ref["sha256"] == sha256(src) and ref["units_path"] == "/units"
        assert ref["units_object_id"]
    assert critical_messages(out) == []


def test_real_nwb_fit_passes_nwbinspector(tmp_path, shared):
    rec = load_recording(shared.need(shared.MTL))
    out = save_fit_to_nwb(fake_fit(rec), rec, tmp_path / "mtl_fit.nwb")
    assert critical_messages(out) == []


def test_refuses_source_and_existing_files(tmp_path, poisson_trains, write_nwb):
    src = write_nwb(tmp_path / "src.nwb", poisson_trains)
    rec = load_recording(src)
    with pytest.raises(ParameterError, match="source"):
        save_fit_to_nwb(fake_fit(rec), rec, src)
    out = save_fit_to_nwb(fake_fit(rec), rec, tmp_path / "fit.nwb")
    with pytest.raises(ParameterError, match="exists"):
        save_fit_to_nwb(fake_fit(rec), rec, out)
    bad = fake_fit(rec)
    bad.latents = bad.latents[:-3]
    with pytest.raises(ParameterError, match="bins"):
        save_fit_to_nwb(bad, rec, tmp_path / "other.nwb")


def test_inputs_never_modified(tmp_path, poisson_trains, shared, write_nwb, sha256):
    """Every input is hashed before and after reading, failing to read, and writing a fit."""
    inputs = [write_nwb(tmp_path / "in.nwb", poisson_trains)]
    scipy.io.savemat(tmp_path / "r.mat", {"data": (np.arange(600).reshape(100, 6) % 7 == 0).astype(np.uint8)})
    np.save(tmp_path / "r.npy", (np.arange(600).reshape(100, 6) % 5 == 0).astype(np.uint8))
    inputs += [tmp_path / "r.mat", tmp_path / "r.npy"]
    inputs += [p for p in (shared.MTL, shared.SALAMANDER, shared.NWB1) if p.is_file()]
    before = {p: sha256(p) for p in inputs}
    for i, p in enumerate(inputs):
        try:
            rec = load_recording(p)
        except InputError:
            continue  # the NWB 1.x stub is refused, and must still be untouched
        save_fit_to_nwb(fake_fit(rec), rec, tmp_path / f"fit{i}.nwb")
    assert {p: sha256(p) for p in inputs} == before


def test_writes_a_real_fit(tmp_path):
    """napari_vaemf.core.vae.Fit is summarised (latents, W, b, config, metrics) and written."""
    import torch
    from pynwb import NWBHDF5IO

    from napari_vaemf.core.progress import drive
    from napari_vaemf.core.recordings import Recording
    from napari_vaemf.core.vae import Fit, VAEConfig

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    raster = (rng.random((6, 300)) < 0.2).astype(np.uint8)
    rec = Recording(raster=raster, bin_size=0.02, t_start=5.0, units={"id": np.arange(6) + 1})
    fit = Fit(rec.samples().astype(np.int8), "binary", VAEConfig(latents=2, epochs=1, batch_size=64, device="cpu"))
    drive(fit.train(), bar=False)
    out = save_fit_to_nwb(fit, rec, tmp_path / "real.nwb")
    with NWBHDF5IO(str(out), "r") as io:
        f = io.read()
        assert f.processing["vaemf"]["latents"].data.shape == (300, 2)
        table = f.processing["vaemf"]["decoder_units"]
        np.testing.assert_allclose(table["pattern"].data[:], fit.model.W.detach().numpy(), rtol=1e-6)
        assert json.loads(f.scratch["vaemf_config"].data)["latents"] == 2
    assert critical_messages(out) == []
