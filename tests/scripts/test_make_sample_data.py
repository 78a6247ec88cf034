"""scripts/make_sample_data.py reproduces the committed sample_data/ files."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from napari_vaemf.core.configs import load_configurations
from napari_vaemf.core.samplers import maier_saupe_mean_field_S

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "make_sample_data.py"
# Integer arithmetic and uniform draws only: identical configurations on every machine.
# Their exact P(m) table (pm) comes from gammaln/logsumexp/exp, whose last bit depends on the
# CPU's SIMD path, so float arrays are compared to 1e-12 and everything else byte for byte.
EXACT = {"curie_weiss_n64_betaj1.2.npz", "curie_weiss_n64_betaj0.8_spikes.npz",
         "ising2d_l32_betac.npz"}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("make_sample_data", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path_factory.mktemp("sample_data")
    return mod, {p.name: p for p in mod.make(out)}


def test_every_committed_file_is_made_by_the_script(regenerated):
    mod, files = regenerated
    committed = {p.name for p in (ROOT / "sample_data").glob("*.npz")}
    assert committed == set(mod.FILES) == set(files)
    for name in committed:
        assert (ROOT / "sample_data" / name).stat().st_size < 1_000_000


@pytest.mark.parametrize("name", sorted(EXACT))
def test_exact_files_are_reproduced(regenerated, name):
    _, files = regenerated
    with np.load(files[name]) as new, np.load(ROOT / "sample_data" / name) as old:
        assert new.files == old.files
        for key in old.files:
            if old[key].dtype.kind == "f":
                np.testing.assert_allclose(new[key], old[key], rtol=1e-12, atol=1e-15,
                                           err_msg=key)
            else:
                assert new[key].tobytes() == old[key].tobytes(), key


@pytest.mark.parametrize("name", ["hopfield_n100_p3_beta1.4.npz", "maier_saupe_n64_betaj9.npz"])
def test_float_sampler_files_reproduce(regenerated, name):
    """Hopfield and Maier-Saupe draws compare uniforms with float32 tanh / LAPACK results,
    whose last bit can depend on the CPU's SIMD path. On one machine the bytes are
    identical; elsewhere the parameters and planted truth must be, and the physics too."""
    _, files = regenerated
    new, old = load_configurations(files[name]), load_configurations(ROOT / "sample_data" / name)
    diag_new, diag_old = new.params.pop("diagnostics"), old.params.pop("diagnostics")
    assert new.params == old.params and new.model == old.model
    assert diag_new.keys() == diag_old.keys()
    for key, value in diag_old.items():  # autocorrelation times are float sums: last bits vary
        numeric = isinstance(value, float) or (isinstance(value, list) and value
                                               and isinstance(value[0], float))
        assert diag_new[key] == (pytest.approx(value, rel=1e-9) if numeric else value), key
    assert new.configurations.shape == old.configurations.shape
    if "patterns" in old.truth:
        np.testing.assert_array_equal(new.truth["patterns"], old.truth["patterns"])
    if files[name].read_bytes() == (ROOT / "sample_data" / name).read_bytes():
        return
    if old.model == "maier-saupe":
        assert new.truth["S"].mean() == pytest.approx(maier_saupe_mean_field_S(9.0), abs=0.05)
    else:
        a, b = (np.abs(x.truth["overlaps"]).max(axis=1).mean() for x in (new, old))
        assert a == pytest.approx(b, abs=0.03)


def test_spike_file_is_binary_and_means_match_spins(regenerated):
    s = load_configurations(ROOT / "sample_data" / "curie_weiss_n64_betaj0.8_spikes.npz")
    assert s.encoding == "binary"
    assert s.configurations.mean() == pytest.approx((1 + s.truth["magnetisation"].mean()) / 2)
