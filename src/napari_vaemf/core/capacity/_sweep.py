"""The capacity sweep: fit K = 1..K_max latents (several seeds), judge on held-out data.

``latents_needed`` is the smallest K whose seed-averaged held-out log-likelihood is within
``max(tolerance_nats, rel_tolerance·|best|, 2·(largest seed std), 2·paired s.e.)`` of the
best K, where the paired s.e. is that of the per-sample difference between K and the best
K on the same held-out samples (the statistical resolution of the test set).
``mean_field`` is False when
- the held-out log-likelihood still improves by more than tol at K_max (the answer is not
  inside the sweep: ``latents_needed`` is null), or
- the rate of the needed fit is below the data's bipartite-MI lower bound (a product
  decoder with that rate cannot reproduce the correlations across that cut), or
- (with several system sizes, :func:`compare_sizes`) the needed rate and the bipartite MI
  grow with the system size.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, replace

import numpy as np

from napari_vaemf.core import stats
from napari_vaemf.core.capacity._estimate import MIEstimate, plugin_bipartite_mi
from napari_vaemf.core.capacity._infonce import InfoNCEConfig, infonce_bipartite_mi
from napari_vaemf.core.capacity._partitions import Bipartition, default_partitions
from napari_vaemf.core.capacity._report import CapacityReport, SweepPoint, headline_mi
from napari_vaemf.core.capacity._settings import CapacitySettings
from napari_vaemf.core.capacity._dask import scheduler_session
from napari_vaemf.core.capacity._control import independent_loglik, restart_consistency, shuffle_surrogate
from napari_vaemf.core.capacity._sizes import sublattice_rule
from napari_vaemf.core.capacity._stages import exact_reach, run_tasks, walk_k
from napari_vaemf.core.capacity._tasks import FitTask, SweepStore, TaskData, sweep_key
from napari_vaemf.core.data import heldout_split
from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.progress import Job, Progress

__all__ = ["CapacitySettings", "capacity_sweep", "data_bipartite_mi", "decide",
           "per_sample_loglik"]

log = logging.getLogger(__name__)


def data_bipartite_mi(x: np.ndarray, encoding: str, partitions: list[Bipartition],
                      infonce: bool = True, infonce_config: InfoNCEConfig | None = None,
                      directions: np.ndarray | None = None) -> Job[list[MIEstimate]]:
    """Plug-in (and InfoNCE) lower bounds of I(X_A; X_B) for every cut (a Job)."""
    out: list[MIEstimate] = []
    for i, part in enumerate(partitions):
        out.append(plugin_bipartite_mi(x, encoding, part))
        if directions is not None:
            out.append(plugin_bipartite_mi(x, encoding, part, directions=directions))
        yield Progress("bipartite MI", i + 1, len(partitions), {"plugin_nats": out[-1].value})
        if infonce:
            try:
                out.append((yield from infonce_bipartite_mi(x, encoding, part, infonce_config)))
            except ParameterError as err:  # too few samples for a batch: say so, go on
                log.warning("no InfoNCE bound for %s: %s", part.name, err)
    return out


def decide(per_k: list[dict], mi_lower: float | None, tolerance_nats: float,
           rel_tolerance: float) -> tuple[int | None, bool, float, list[str]]:
    """``(latents_needed, mean_field, tol, reasons)`` from the per-K rows (selected restarts).

    K is within tolerance of the best when its held-out log-likelihood is no more than
    max(absolute, relative x |best|, 2 x the paired standard error of its difference to the
    best K on the same held-out rows) below it. The spread over restarts is not part of it:
    restarts are chosen on validation data (:meth:`CapacityReport.selected`).
    """
    ks = [r["latents"] for r in per_k]
    ll = np.array([r["test_loglik_nats"] for r in per_k])
    paired = np.array([r.get("paired_se_nats") or 0.0 for r in per_k])
    best = float(ll.max())
    tol = max(tolerance_nats, rel_tolerance * abs(best))
    within = ll >= best - np.maximum(tol, 2.0 * paired)
    needed = ks[int(np.flatnonzero(within)[0])]
    reasons = [f"tolerance max(absolute {tolerance_nats:g}, {rel_tolerance:g} x |best| = "
               f"{rel_tolerance * abs(best):.3g}, 2 x paired s.e. of the difference to the "
               "best K) nats; each K is represented by its best restart on validation data."]
    mean_field = True
    if needed == ks[-1] and len(ks) > 1:
        reasons.append(f"K-max rule: held-out log-likelihood still improves by "
                       f"{ll[-1] - ll[-2]:.3g} nats from K={ks[-2]} to K={ks[-1]}: the answer "
                       "is not inside the sweep (raise --max-latents to look further).")
        return None, False, tol, reasons
    rate = per_k[ks.index(needed)]["rate_nats"]
    if mi_lower is not None and rate < mi_lower:
        reasons.append(f"MI rule: the rate {rate:.3f} nats of K={needed} is below the bipartite-MI "
                       f"lower bound {mi_lower:.3f}: the product decoder cannot reproduce the "
                       "correlations across that cut.")
        mean_field = False
    else:
        reasons.append(f"K={needed}: rate {rate:.3f} nats"
                       + (f" >= bipartite-MI lower bound {mi_lower:.3f}." if mi_lower is not None
                          else "."))
    return needed, mean_field, tol, reasons


def capacity_sweep(x: np.ndarray, encoding: str, k_max: int | None = None,
                   seeds: int | None = None, *,
                   config=None, test_index: np.ndarray | None = None,
                   settings: CapacitySettings | None = None,
                   partitions: list[Bipartition] | None = None,
                   directions: np.ndarray | None = None,
                   reference: list[MIEstimate] | None = None,
                   store: SweepStore | None = None,
                   repeats: int | None = None) -> Job[CapacityReport]:
    """Fit K = 1..k_max latents with ``seeds`` restarts each and build the capacity report.

    ``k_max``, ``seeds`` and ``config`` default to ``settings``' (``config`` is a
    :class:`~napari_vaemf.core.vae.VAEConfig` template; its ``latents`` and ``seed`` are
    replaced per fit). ``test_index`` are rows never trained on (default: random rows, a
    ``settings.test_fraction`` of them, by :func:`napari_vaemf.core.data.heldout_split`);
    each fit early-stops on its own holdout of the rest. ``directions`` (N, P) add a plug-in
    estimate over the binned half overlaps; ``reference`` (e.g. :func:`exact_estimates`) are
    reported next to the estimates. Each (K, restart) fit is a task
    (:mod:`._tasks`) run here or on ``settings.scheduler`` (:mod:`._dask`); with ``store``
    every finished fit is kept as it finishes and fits already stored are not redone. Every
    sweep reports restart consistency (:func:`._control.restart_consistency`); with
    ``settings.control == "shuffle"`` the same sweep runs on a shuffled surrogate (by whole
    ``repeats`` when given) and the report sets its numbers beside the data's.
    A generator yielding :class:`Progress`; closing it stops at the next yield.
    """
    st = settings or CapacitySettings()
    with scheduler_session(st.scheduler):  # one Dask cluster for every stage of the sweep
        k_max = st.k_max if k_max is None else int(k_max)
        seeds = st.seeds if seeds is None else int(seeds)
        if k_max < 1 or seeds < 1:
            raise ParameterError(f"need k_max >= 1 and seeds >= 1, got {k_max}, {seeds}")
        from napari_vaemf.core.recordings._packed import PackedRaster

        packed = isinstance(x, PackedRaster)  # a streamed recording: its rows stay bits
        if packed and st.control == "shuffle":
            raise ParameterError("--control shuffle needs the samples in memory; this recording "
                                 "is streamed (fit a shorter window with --t-start/--t-stop)")
        x = x if packed else np.asarray(x)
        t, n = x.shape[0], x.shape[1]
        if test_index is None:  # plain arrays: the i.i.d. rule (recordings come with a split)
            test_index, _ = heldout_split(t, st.test_fraction, st.seed, iid=True)
        test_index = np.asarray(test_index, dtype=np.int64)
        train_mask = np.ones(t, bool)
        train_mask[test_index] = False
        if packed:
            x_train, x_test = x.take(train_mask), x.take(test_index)
        else:
            x_train, x_test = x[train_mask], x[test_index]
        parts = partitions or default_partitions(n, st.layout, st.random_partitions, st.seed)
        mi = yield from data_bipartite_mi(x, encoding, parts, st.infonce,
                                          InfoNCEConfig(steps=st.infonce_steps, seed=st.seed),
                                          directions)
        mi = list(reference or []) + mi
        base = config or st.vae_config(len(x_train))
        data = TaskData(x_train, x_test, encoding, base, tuple(st.decoders), st.rate_threshold_nats,
                        parts[0] if st.model_mi else None, st.model_mi_samples,
                        _test_stats(x_test, encoding), "vae")
        results, stop, engine, why, exact_stage = yield from _walk_engines(data, k_max, seeds, st,
                                                                         store, config is None)
        base = data.base if engine == "vae" else _exact_base(data.base, st, config is None)
        points = [SweepPoint(**r["point"]) for _, r in sorted(results.items(),
                                                                key=lambda kv: (kv[0].latents,
                                                                                kv[0].restart))]
        per_sample = {(task.latents, task.restart): r["per_sample"] for task, r in results.items()}
        report = CapacityReport(points, mi, None, True, 0.0,
                                settings={**asdict(st), "k_max": k_max, "seeds": seeds,
                                          "vae": base.to_dict(), "n_units": int(n),
                                          "engine": engine, "engine_reason": why,
                                          "loglik": "exact" if engine == "exact" else "bound",
                                          "latents_fitted": sorted({p.latents for p in points}),
                                          "stopped": stop, "exact_stage": exact_stage,
                                          "n_train": int(x_train.shape[0]),
                                          "n_test": int(x_test.shape[0]),
                                          "partitions": [p.name for p in parts]})
        head = headline_mi(mi)
        rows = report.per_k()
        chosen = {r["latents"]: r["selected_seed"] - base.seed for r in rows}
        best_k = max(rows, key=lambda r: r["test_loglik_nats"])["latents"]
        for r in rows:  # paired standard error of (K - best K) on the same held-out samples
            d = per_sample[(r["latents"], chosen[r["latents"]])] - per_sample[(best_k, chosen[best_k])]
            r["paired_se_nats"] = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0
            report.paired_se[r["latents"]] = r["paired_se_nats"]
        needed, mf, tol, reasons = decide(rows, head["lower"], st.tolerance_nats,
                                          st.rel_tolerance)
        report.latents_needed, report.mean_field = needed, mf
        report.tolerance_nats, report.reasons = tol, reasons
        if stop:
            report.reasons.append(stop)
        report.consistency = _consistency(results, seeds)
        if st.size_rule and isinstance(st.layout, tuple) and st.layout[0] >= 8:
            report.sizes = yield from sublattice_rule(x, encoding, test_index, st, config, report,
                                                      k_max, seeds, store)
        if st.control == "shuffle" and encoding != "vector":
            report.control = yield from _shuffle_control(x, test_index, encoding, data, st, report,
                                                         repeats, store)
        return report


def _test_stats(x_test, encoding: str):
    """The held-out rows' population statistics (None for vectors); a bit-packed raster's
    are accumulated chunk by chunk."""
    if encoding == "vector":
        return None
    from napari_vaemf.core.recordings._packed import PackedRaster

    if isinstance(x_test, PackedRaster):
        return stats.population_stats_chunks(x_test.chunks(), np.zeros((0, 3), np.int64))
    return stats.population_stats(x_test.astype(np.float64), np.zeros((0, 3), np.int64))


def _exact_base(base, st: CapacitySettings, defaults: bool):
    """The template of a sweep's exact fits: the exact engine's own defaults when the caller
    gave no template, else the caller's template on the exact engine."""
    return st.exact_config() if defaults else replace(base, method="exact")


def _walk_engines(data: TaskData, k_max: int, seeds: int, st: CapacitySettings,
                  store: SweepStore | None, defaults: bool) -> Job[tuple]:
    """``(results, stop, engine, reason, exact_stage)``: one engine judges every K fitted.

    When the exact engine affords every K up to ``k_max`` the sweep is exact. When it affords
    only K <= k_exact < k_max (``method`` auto) and the data's correlation matrix has at most
    k_exact eigenvalues above the Marchenko-Pastur edge (:func:`stats.spectral_dimension`;
    more send the whole sweep to the VAE at once), K = 1..k_exact are fitted exactly first: if a
    K stops improving there, the answer is inside and the sweep stays exact; if K = k_exact
    still improves, the whole sweep (K = 1..k_max) runs on the VAE, so exact log-likelihoods
    are never compared with bounds, and the exact rows are kept as ``exact_stage``.
    """
    reach, why_exact = exact_reach(data.x_train, data.encoding, data.base, k_max)
    exact_stage = None
    if 1 <= reach < k_max and data.base.method == "auto":
        dim = stats.spectral_dimension(data.x_train)
        if dim > reach:  # the exact stage would only find that K = reach still improves
            why_exact = (f"the correlation matrix has {dim} eigenvalues above the "
                         f"Marchenko-Pastur edge, more than the {reach} latents the exact engine "
                         f"affords: every K = 1..{k_max} runs on the amortized VAE")
            reach = 0
    if reach >= 1:
        edata = replace(data, base=_exact_base(data.base, st, defaults), engine="exact")
        estore = store.with_key(store.key, "exact-") if store is not None and reach < k_max \
            else store
        results, stop = yield from walk_k(edata, reach, seeds, st, estore,
                                          "sweep (exact)" if reach < k_max else "sweep", k_max)
        if reach >= k_max or stop is not None:
            why = why_exact if reach >= k_max else (
                f"exact for K <= {reach} ({why_exact}); the sweep stopped there, so no K "
                "needed the amortized VAE")
            return results, stop, "exact", why, None
        rows = CapacityReport([SweepPoint(**r["point"]) for r in results.values()], [], None,
                              True, 0.0).per_k()
        exact_stage = {"latents": [r["latents"] for r in rows],
                       "test_loglik_nats": [r["test_loglik_nats"] for r in rows],
                       "rate_nats": [r["rate_nats"] for r in rows]}
        why = (f"the exact engine affords K <= {reach} only and K={reach} still improved there: "
               f"every K = 1..{k_max} runs on the amortized VAE (one estimator for the sweep)")
    else:
        why = why_exact
    log.info("capacity sweep K = 1..%d on the VAE: %s", k_max, why)
    results, stop = yield from walk_k(data, k_max, seeds, st, store)
    return results, stop, "vae", why, exact_stage


def _consistency(results: dict, seeds: int) -> dict[int, float]:
    """K -> mean R² of one restart's held-out latents from another's (best affine map, both
    directions, every pair of restarts) for every K fitted; empty with a single restart."""
    out: dict[int, float] = {}
    for k in sorted({task.latents for task in results}):
        zs = [results[FitTask(k, r)]["latents"] for r in range(seeds)]
        pairs = [restart_consistency(a, b) for i, a in enumerate(zs) for j, b in enumerate(zs)
                 if i != j]
        if pairs:
            out[k] = float(np.mean(pairs))
    return out


def _shuffle_control(x, test_index, encoding, data: TaskData, st: CapacitySettings, report,
                     repeats, store) -> Job[dict]:
    """The same sweep (one restart per K) on a shuffled surrogate: its bipartite MI and its
    likelihood gain over independent units, next to the data's."""
    xs = shuffle_surrogate(x, repeats, seed=st.seed + 101)
    train = np.ones(len(x), bool)
    train[test_index] = False
    parts = default_partitions(x.shape[1], st.layout, st.random_partitions, st.seed)
    mi = yield from data_bipartite_mi(xs, encoding, parts, False)
    sdata = replace(data, x_train=xs[train], x_test=xs[test_index], partition=None,
                    data_stats=None)
    tasks = [FitTask(k, 0) for k in range(1, max(p.latents for p in report.points) + 1)]
    sstore = None
    if store is not None:
        sstore = store.with_key(sweep_key(xs, test_index, encoding, st, data.base), "control-")
    results = yield from run_tasks(tasks, sdata, st.scheduler, sstore, "control")
    best = max(results.values(), key=lambda r: r["point"]["test_loglik_nats"])
    gain_s = best["point"]["test_loglik_nats"] - float(
        independent_loglik(sdata.x_train, sdata.x_test, encoding).mean())
    gain_d = max(p.test_loglik_nats for p in report.points) - float(
        independent_loglik(data.x_train, data.x_test, encoding).mean())
    head_s, head_d = headline_mi(mi), headline_mi(report.bipartite_mi)
    kind = "whole repeats (stimulus-locked correlations kept)" if repeats else "time"
    return {"surrogate": f"independent circular shifts per unit, by {kind}",
            "gain_over_independent_nats": gain_d, "surrogate_gain_over_independent_nats": gain_s,
            "bipartite_mi_nats": head_d["estimate"], "surrogate_bipartite_mi_nats": head_s["estimate"],
            "surrogate_bipartite_mi_interval": [head_s["lower"], head_s["upper"]]}


def per_sample_loglik(fit, x: np.ndarray) -> np.ndarray:
    """IWAE log-likelihood of every row of ``x`` (nats), for paired comparisons between K."""
    import torch

    model = fit.model
    dev = next(model.parameters()).device
    gen = torch.Generator(device=dev).manual_seed(fit.config.seed + 11)
    out = []
    with torch.no_grad():
        for i in range(0, len(x), 256):
            xp = model.prepare(torch.as_tensor(x[i:i + 256]).to(dev))
            out.append(model.iwae(xp, fit.config.iwae_k, gen).double().cpu().numpy())
    return np.concatenate(out)
