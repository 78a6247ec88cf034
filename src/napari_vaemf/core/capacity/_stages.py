"""How a capacity sweep walks K and picks its one engine.

- :func:`walk_k` fits K = 1, 2, ... (every restart of one K before the next K; K = 1 and 2 in
  one stage, since K = 2 is always fitted, so parallel workers need not wait for the slowest
  K = 1 fit) and stops at
  the first K that does not raise the held-out log-likelihood of the best smaller K by more
  than the sweep's tolerance (the same tolerance :func:`._sweep.decide` applies): with
  nested models a K that adds nothing is followed by larger K that add nothing, so the
  answer is inside what was fitted and the sweep does not pay for K up to k_max.
- :func:`exact_reach`: the largest K the exact engine affords on this data.
- :func:`run_tasks`: a list of fits run here or on Dask, from and into the sweep's store.
"""
from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from napari_vaemf.core.capacity._dask import parse_scheduler, run_on_dask
from napari_vaemf.core.capacity._report import CapacityReport, SweepPoint
from napari_vaemf.core.capacity._tasks import FitTask, SweepStore, TaskData, task_job
from napari_vaemf.core.progress import Job, Progress

__all__ = ["walk_k", "exact_reach", "run_tasks", "improvement"]

log = logging.getLogger(__name__)


def exact_reach(x_train: np.ndarray, encoding: str, base, k_max: int) -> tuple[int, str]:
    """``(k, reason)``: the largest K <= k_max whose fit the exact engine affords on
    ``x_train`` (0 when none does, or when ``base.method`` is ``vae``)."""
    from napari_vaemf.core.fitting import choose_engine

    if base.method == "exact":  # every K must be affordable (else a one-line error)
        return k_max, choose_engine(x_train, encoding, replace(base, latents=k_max))[1]
    reason = ""
    for k in range(k_max, 0, -1):
        engine, why = choose_engine(x_train, encoding, replace(base, latents=k))
        if engine == "exact":
            return k, why
        reason = reason or why
    return 0, reason


def improvement(results: dict, k: int, tolerance_nats: float,
                rel_tolerance: float) -> tuple[float, float, int]:
    """``(gain, needed, best_smaller_k)``: the held-out log-likelihood gain of K's selected
    restart over the best smaller K's, and the gain it must exceed: max(absolute,
    relative x |best|, 2 x the paired standard error of the per-sample difference)."""
    report = CapacityReport([SweepPoint(**r["point"]) for r in results.values()], [], None,
                            True, 0.0)
    chosen = report.selected()
    seed0 = min(p.seed for p in report.points)
    smaller = [j for j in chosen if j < k]
    prev = max(smaller, key=lambda j: chosen[j].test_loglik_nats)

    def per_sample(j: int) -> np.ndarray:
        return np.asarray(results[FitTask(j, chosen[j].seed - seed0)]["per_sample"])

    d = per_sample(k) - per_sample(prev)
    se = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0
    best = max(chosen[k].test_loglik_nats, chosen[prev].test_loglik_nats)
    needed = max(tolerance_nats, rel_tolerance * abs(best), 2.0 * se)
    return float(d.mean()), needed, prev


def walk_k(data: TaskData, k_max: int, seeds: int, settings, store: SweepStore | None,
           label: str = "sweep", asked: int | None = None) -> Job[tuple[dict, str | None]]:
    """Fit K = 1..k_max (``seeds`` restarts each) until a K stops improving; returns
    ``(results, stop_reason)`` (``stop_reason`` None when every K up to k_max was fitted and
    each improved on the smaller ones). ``asked``: the sweep's --max-latents, when this walk
    covers only part of it (the exact stage)."""
    asked = asked or k_max
    results: dict = {}
    # K = 2 is fitted whatever K = 1 gives, so the two are one stage (no wait between them)
    stages = [list(range(1, min(2, k_max) + 1))] + [[k] for k in range(3, k_max + 1)]
    for ks in stages:
        tasks = [FitTask(k, s) for k in ks for s in range(seeds)]
        results.update((yield from run_tasks(tasks, data, settings.scheduler, store,
                                             label, len(results), k_max * seeds)))
        for k in (k for k in ks if k > 1):  # each K against the best smaller K
            gain, needed, prev = improvement(results, k, settings.tolerance_nats,
                                             settings.rel_tolerance)
            if gain <= needed:
                why = (f"K={k} raises the held-out log-likelihood of K={prev} by {gain:.3g} nats, "
                       f"not more than the tolerance {needed:.3g}"
                       + (f": larger K (up to {asked}) were not fitted." if k < asked else "."))
                log.info("%s: %s", label, why)
                return results, why
    return results, None


def run_tasks(tasks: list[FitTask], data: TaskData, scheduler: str, store: SweepStore | None,
              label: str = "sweep", done_before: int = 0, total: int | None = None) -> Job[dict]:
    """Results of ``tasks`` (FitTask -> result): from ``store`` when there, else fitted here or
    on the Dask ``scheduler``, each stored as it finishes. Progress counts ``done_before``
    earlier fits out of ``total``."""
    results = store.load() if store is not None else {}
    results = {task: r for task, r in results.items() if task in tasks}
    if results:
        log.info("resuming a sweep: %d of %d fits already done", len(results), len(tasks))
    total = total or len(tasks)

    def done(task: FitTask, result: dict) -> None:
        results[task] = result
        if store is not None:
            store.save(task, result)

    pending = [task for task in tasks if task not in results]
    if parse_scheduler(scheduler)[0] == "serial":
        for task in pending:
            done(task, (yield from task_job(task, data)))
            point = results[task]["point"]
            yield Progress(label, done_before + len(results), total,
                           {"K": task.latents, "test_loglik": point["test_loglik_nats"],
                            "rate": point["rate_nats"]})
    elif pending:
        yield from run_on_dask(scheduler, pending, data, done)
    return results
