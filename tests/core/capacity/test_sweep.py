import json
from dataclasses import replace

import numpy as np
import pytest

from napari_vaemf.core.capacity import (
    CapacitySettings,
    capacity_sweep,
    curie_weiss_bipartite_mi,
    decide,
    plot_report,
)
from napari_vaemf.core.progress import Progress, drive
from napari_vaemf.core.vae import VAEConfig


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _fast():
    return CapacitySettings(infonce=False, model_mi=False, random_partitions=1)


def test_sweep_picks_one_latent_for_curie_weiss(cw_samples, tmp_path):
    n = 16
    x = cw_samples(n, 1.5, 2500, seed=7)
    cfg = VAEConfig(epochs=40, batch_size=64, device="cpu")
    job = capacity_sweep(x, "spin", 2, 1, config=cfg, settings=_fast())
    records = []
    try:
        while True:
            records.append(next(job))
    except StopIteration as stop:
        report = stop.value
    assert all(isinstance(r, Progress) for r in records)
    assert report.latents_needed == 1 and report.mean_field
    out = report.to_json()
    json.dumps(out)  # json-able
    mi = out["bipartite_mi_nats"]
    assert mi["lower"] <= curie_weiss_bipartite_mi(n, 1.5) <= mi["upper"]
    rows = out["sweep"]
    assert [r["latents"] for r in rows] == [1, 2]
    assert rows[0]["rate_nats"] >= mi["lower"]  # the K=1 fit carries the halves' MI
    plot_report(report, tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_sweep_is_stoppable(cw_samples):
    x = cw_samples(10, 1.0, 600, seed=1)
    job = capacity_sweep(x, "spin", 3, 1, config=VAEConfig(epochs=50, device="cpu"),
                         settings=_fast())
    for _ in range(3):
        next(job)
    job.close()  # GeneratorExit at a yield: no error, nothing left running
    with pytest.raises(StopIteration):
        next(job)


def _rows(lls, rates, std=0.0):
    return [{"latents": k + 1, "test_loglik_nats": ll, "test_loglik_std": std,
             "rate_nats": r, "paired_se_nats": 0.0} for k, (ll, r) in enumerate(zip(lls, rates))]


def test_decide_rules():
    # plateau after K=2
    k, mf, tol, _ = decide(_rows([-50.0, -49.0, -48.99, -48.98], [1, 2, 2, 2]), 0.5, 0.05, 0)
    assert (k, mf) == (2, True)
    # still improving at K_max: no answer inside the sweep, not mean-field
    k, mf, _, why = decide(_rows([-50.0, -49.0, -48.0], [1, 2, 3]), 0.5, 0.05, 0)
    assert k is None and not mf and "still improves" in why[-1]
    # rate below the bipartite-MI lower bound
    k, mf, _, _ = decide(_rows([-50.0, -50.01], [0.3, 0.3]), 0.8, 0.05, 0)
    assert k == 1 and not mf
    # the spread over restarts does not widen the tolerance (restarts are selected)...
    k, _, tol, _ = decide(_rows([-50.0, -49.8, -49.8], [1, 1, 1], std=0.2), None, 0.05, 0)
    assert tol == pytest.approx(0.05) and k == 2
    # ...but the paired standard error of the difference to the best K does
    rows = _rows([-50.0, -49.8, -49.8], [1, 1, 1])
    rows[0]["paired_se_nats"] = 0.15
    k, _, _, _ = decide(rows, None, 0.05, 0)
    assert k == 1


def test_a_collapsed_restart_does_not_decide_k():
    """Each K is represented by its best restart on *validation* data, not the seed mean."""
    from napari_vaemf.core.capacity import CapacityReport, SweepPoint

    def pt(k, seed, ll, val):
        return SweepPoint(k, seed, 1.0, [1.0] * k, k, ll, ll - 0.1, val_neg_elbo=val)

    # K=1: seed 1 collapsed (bad on validation and test); K=2 is no better than good K=1.
    pts = [pt(1, 0, -33.4, 33.5), pt(1, 1, -46.9, 47.0), pt(2, 0, -33.38, 33.45),
           pt(2, 1, -33.39, 33.5)]
    rep = CapacityReport(pts, [], None, True, 0.0)
    rows = rep.per_k()
    assert [r["selected_seed"] for r in rows] == [0, 0]
    assert rows[0]["test_loglik_nats"] == -33.4 and rows[0]["test_loglik_std"] > 9
    k, _, _, _ = decide(rows, None, 0.05, 0)
    assert k == 1
    # the selection never looks at the test rows: a restart that is better on test but
    # worse on validation is not chosen
    rep2 = CapacityReport([pt(1, 0, -33.0, 34.0), pt(1, 1, -33.5, 33.6)], [], None, True, 0.0)
    assert rep2.per_k()[0]["selected_seed"] == 1


def test_sweep_on_the_exact_engine_states_it_and_judges_exactly(cw_samples):
    """K max <= 3 on spins: every fit is exact (one estimator for the sweep); the per-K
    log-likelihoods are exact, the rate is I(X; Z) and the model MI is exact for the grid model."""
    from napari_vaemf.core.capacity._exact_mi import exact_bipartite_mi
    from napari_vaemf.core.capacity._stages import exact_reach

    n = 12
    x = cw_samples(n, 1.5, 2000, seed=11)
    st = CapacitySettings(k_max=2, seeds=1, infonce=False, random_partitions=1, model_mi=True,
                          model_mi_samples=400)
    assert exact_reach(x, "spin", st.vae_config(), 2)[0] == 2
    assert exact_reach(x, "spin", st.vae_config(), 5)[0] == 3  # K = 4, 5 are not affordable
    assert exact_reach(x, "spin", replace(st.vae_config(), method="vae"), 2)[0] == 0
    report = drive(capacity_sweep(x, "spin", settings=st), bar=False)
    out = report.to_json()
    assert out["settings"]["engine"] == "exact" and out["settings"]["loglik"] == "exact"
    assert report.latents_needed == 1 and report.mean_field
    rows = out["sweep"]
    assert rows[0]["rate_nats"] >= out["bipartite_mi_nats"]["lower"]
    point = report.points[0]
    assert point.decoder.startswith("mlp H=") and point.model_mi["method"] == "grid-exact"
    # the model's MI of a Curie-Weiss-like fit is close to the exact Curie-Weiss value
    assert abs(point.model_mi["value"] - curie_weiss_bipartite_mi(n, 1.5)) < 0.1
    from napari_vaemf.core.capacity._partitions import Bipartition
    from napari_vaemf.core.errors import ParameterError

    with pytest.raises(ParameterError, match="partition covers 4 units, the fit 12"):
        exact_bipartite_mi(type("F", (), {"n_units": 12})(), Bipartition("ab", [0, 1], [2, 3]))


def test_sweep_stops_at_the_first_k_that_adds_nothing(cw_samples, tmp_path):
    """Curie-Weiss needs one latent: with --max-latents 4 the sweep fits K = 1 and 2, stops
    (K = 2 adds nothing beyond the tolerance), says so, and stays on the exact engine."""
    x = cw_samples(10, 1.5, 1500, seed=5)
    st = CapacitySettings(k_max=4, seeds=1, infonce=False, random_partitions=1,
                          model_mi=False, epochs=15)
    report = drive(capacity_sweep(x, "spin", settings=st), bar=False)
    out = report.to_json()
    assert out["settings"]["latents_fitted"] == [1, 2]
    assert out["settings"]["engine"] == "exact" and out["settings"]["exact_stage"] is None
    assert report.latents_needed == 1 and report.mean_field
    assert "larger K (up to 4) were not fitted" in out["settings"]["stopped"]
    assert any("were not fitted" in r for r in report.reasons)


def test_sweep_moves_to_the_vae_when_the_exact_range_still_improves(cw_samples, tmp_path,
                                                                    monkeypatch):
    """When the largest exactly affordable K still improves, every K of the sweep is refitted
    on the VAE (one estimator), and the exact rows are kept as the exact stage, stored apart."""
    from napari_vaemf.core.capacity import _sweep
    from napari_vaemf.core.capacity._tasks import SweepStore
    from napari_vaemf.core.runs import RunFolder

    monkeypatch.setattr(_sweep, "exact_reach", lambda *a: (1, "exact affordable for K <= 1"))
    x = cw_samples(10, 1.5, 800, seed=6)
    st = CapacitySettings(k_max=2, seeds=1, infonce=False, random_partitions=1,
                          model_mi=False, epochs=3)
    with RunFolder.open(tmp_path / "run", kind="capacity") as folder:
        store = SweepStore(folder, "key")
        report = drive(capacity_sweep(x, "spin", settings=st, store=store), bar=False)
        names = {p.name for p in folder.path.iterdir()}
    out = report.to_json()
    assert out["settings"]["engine"] == "vae" and out["settings"]["loglik"] == "bound"
    assert out["settings"]["exact_stage"]["latents"] == [1]
    assert "every K = 1..2 runs on the amortized VAE" in out["settings"]["engine_reason"]
    assert {"exact-fit-K1-r0.json", "fit-K1-r0.json", "fit-K2-r0.json"} <= names
    assert all(not p.decoder.startswith("mlp H=") for p in report.points)  # VAE fits only


def test_sweep_skips_the_exact_stage_when_the_spectrum_needs_more_latents(monkeypatch):
    """Three collective directions and an exact engine affording K <= 2: the whole sweep runs
    on the VAE at once (no exact stage to throw away), and says why."""
    from napari_vaemf.core.capacity import _sweep

    monkeypatch.setattr(_sweep, "exact_reach", lambda *a: (2, "exact affordable for K <= 2"))
    from scipy.linalg import hadamard

    rng = np.random.default_rng(0)
    xi = hadamard(16)[:, [1, 2, 4]].astype(float)  # three orthogonal patterns
    field = rng.standard_normal((900, 3)) @ xi.T
    x = np.where(rng.random((900, 16)) < 1 / (1 + np.exp(-field)), 1, -1).astype(np.int8)
    st = CapacitySettings(k_max=3, seeds=1, infonce=False, random_partitions=1,
                          model_mi=False, epochs=2)
    out = drive(capacity_sweep(x, "spin", settings=st), bar=False).to_json()["settings"]
    assert out["engine"] == "vae" and out["exact_stage"] is None
    assert "3 eigenvalues above the Marchenko-Pastur edge" in out["engine_reason"]
