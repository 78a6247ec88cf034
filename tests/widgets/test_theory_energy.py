"""Theory widget, generalized Hopfield on an exact fit: attractors, basins, landscape, energy file."""
from __future__ import annotations

import numpy as np
import pytest

from napari_vaemf.core.exact import ExactConfig, ExactFit
from napari_vaemf.core.extraction.energy import energy_of, load_energy
from napari_vaemf.core.progress import drive

N, T = 12, 3000


@pytest.fixture(scope="module")
def exact_checkpoint(tmp_path_factory):
    """Two clusters of co-active units (and silence), fitted with K = 2 on the exact engine."""
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(3)
    state = rng.choice(3, size=T, p=[0.5, 0.3, 0.2])  # silent, first half, second half active
    p = np.full((T, N), 0.03)
    p[state == 1, : N // 2] = 0.7
    p[state == 2, N // 2 :] = 0.7
    x = (rng.random((T, N)) < p).astype(np.int8)  # the int8 a raster layer gives (fingerprint)
    cfg = ExactConfig(latents=2, nodes=9, max_nodes=1024, decoder_widths=(16,), features=0, epochs=4)
    fit = ExactFit(x, "binary", cfg)
    drive(fit.train(), bar=False)
    return x, fit.save(tmp_path_factory.mktemp("exact") / "model.pt")


def test_generalized_hopfield_on_an_exact_fit_shows_its_energy(make_napari_viewer, press_and_wait,
                                                                exact_checkpoint, tmp_path):
    from napari_vaemf._napari.attractors import MAX_ATTRACTORS
    from napari_vaemf._widgets._theory import TheoryWidget

    x, checkpoint = exact_checkpoint
    viewer = make_napari_viewer()
    layer = viewer.add_image(x.T.copy(), name="raster")
    th = TheoryWidget(viewer)
    th._on_save_energy(path=str(tmp_path / "early.npz"))  # nothing to save yet: one line
    assert "no energy to save" in th.status.text() and not (tmp_path / "early.npz").exists()
    th._on_load_checkpoint(path=str(checkpoint), layer=layer)
    fit = layer.metadata["fit"]
    assert fit.method == "exact" and th.picker.layer() is layer
    th.form.set_values(theory="generalized-hopfield")
    press_and_wait(th, timeout=180_000)
    report, ex = th.energy_report, th.extraction
    assert report is not None and th.save_energy_button.isEnabled()
    assert ex.summary["attractors"] == report.attractors
    assert ex.summary["silent_state"] == report.silent_state
    assert "quadratic_share" in ex.summary and ex.diagnostics["n_attractors"] == len(report.attractors)
    assert "attractors" in th.status.text()

    attractors = viewer.layers["raster: attractors"]
    shown = min(len(report.attractors), MAX_ATTRACTORS)
    assert shown >= 1 and attractors.data.shape == (N, shown)
    assert attractors.data[:, 0].tolist() == report.attractors[0]["pattern"]
    basins = viewer.layers["raster: basins"]
    block = basins.metadata["vaemf"]["block"]
    assert basins.data.shape == (1, int(np.ceil(T / block)))
    width = basins.data.shape[1] * basins.scale[-1]
    assert width == pytest.approx(layer.data.shape[1] * layer.scale[-1])  # the raster's time axis
    assert basins.translate[-1] - basins.scale[-1] / 2 == pytest.approx(layer.translate[-1] - layer.scale[-1] / 2)
    assert basins.data.max() <= len(report.attractors) and basins.data.min() >= 0
    key = viewer.layers["raster: attractors: key"]  # a basin's colour names its column
    assert key.data.tolist() == [list(range(1, shown + 1))]
    assert np.allclose(key.get_color(1), basins.get_color(1))
    land = viewer.layers["raster: landscape"]
    assert land.data.shape == (60, 60)  # landscape()'s bins
    assert "density" in land.metadata["vaemf"]["what"]
    traj = viewer.layers["raster: landscape trajectory"]
    assert traj.nshapes == 1 and len(traj.data[0]) <= 2000

    out = tmp_path / "energy.npz"
    th._on_save_energy(path=str(out))
    energy = load_energy(out)
    np.testing.assert_allclose(energy.log_prob(x[:500]), energy_of(fit).log_prob(x[:500]), rtol=0, atol=1e-12)
    assert str(out) in th.status.text() and ex.diagnostics["energy_file"] == str(out)
    th._on_save_energy(path=str(tmp_path / "missing" / "energy.npz"))  # an OSError: one line
    assert "cannot write the energy" in th.status.text() and "\n" not in th.status.text()
    th.close()
