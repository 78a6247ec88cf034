"""The read-off energy file: the exact fit's own log p, normalised, loadable with numpy alone."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.exact import ExactConfig, ExactFit
from napari_vaemf.core.extraction.energy import energy_of, load_energy
from napari_vaemf.core.progress import drive


def _fit(x, encoding, latents, features):
    cfg = ExactConfig(latents=latents, nodes=33 if latents == 1 else 13, decoder_widths=(16,),
                      epochs=6, features=features)
    fit = ExactFit(x, encoding, cfg)
    drive(fit.train(), bar=False)
    return fit


def _all_states(n, encoding):
    s = np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.int8)
    return 2 * s - 1 if encoding == "spin" else s


@pytest.mark.parametrize("encoding,latents,features", [("spin", 1, 8), ("binary", 2, 0)])
def test_energy_is_the_fits_model_and_normalised(encoding, latents, features, tmp_path,
                                                 one_torch_thread):
    rng = np.random.default_rng(1)
    state = rng.random(1500) < 0.4
    p = np.where(state[:, None], 0.8, 0.15) * np.linspace(0.6, 1.0, 10)
    x = (rng.random((1500, 10)) < p).astype(np.int8)
    x = 2 * x - 1 if encoding == "spin" else x
    fit = _fit(x, encoding, latents, features)
    energy = load_energy(energy_of(fit).save(tmp_path / "energy.npz"))  # through the file
    test = x[fit.test_index]
    np.testing.assert_allclose(energy.log_prob(test), fit.log_likelihood(test), rtol=0, atol=1e-9)
    states = _all_states(10, encoding)  # every configuration: the energy is normalised
    assert np.exp(energy.log_prob(states)).sum() == pytest.approx(1.0, abs=1e-9)
    # the energy's exact rates are the fit's ({0, 1} convention), and its samples show them
    w = np.exp(energy.log_weights)
    exact_rates = w @ energy.unit_probabilities()
    np.testing.assert_allclose(exact_rates, fit.stats().rates, rtol=0, atol=1e-9)
    s = energy.sample(40000, seed=2)
    rates = (s + 1) / 2 if encoding == "spin" else s
    np.testing.assert_allclose(rates.mean(0), exact_rates, atol=0.012)

def test_energy_refuses_vae_fits_and_foreign_files(tmp_path, one_torch_thread):
    from napari_vaemf.core.vae import Fit, VAEConfig

    x = (np.random.default_rng(0).random((200, 6)) < 0.3).astype(np.int8)
    with pytest.raises(ParameterError, match="exact engine"):
        energy_of(Fit(x, "binary", VAEConfig(latents=1, epochs=1, method="vae")))
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(InputError, match="vaemf-energy-1"):
        load_energy(other)
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="cannot read"):
        load_energy(broken)
