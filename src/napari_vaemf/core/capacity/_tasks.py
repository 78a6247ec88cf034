"""One fit of a capacity sweep as a task: a pure function of the data, K, the restart and the
settings, so the same results come out whether it runs here, on a Dask LocalCluster or on a
cluster, and a sweep can resume from the fits it already finished.

- :class:`FitTask` names one fit (K, restart); :func:`task_job` runs it as a generator of
  :class:`~napari_vaemf.core.progress.Progress` records (the serial path streams the fit's
  progress); :func:`run_task` runs it to the end (what a Dask worker calls).
- :class:`SweepStore` keeps finished fits (``fit-K<k>-r<r>.json`` + ``.npz`` of per-sample
  held-out log-likelihoods and held-out latents) in a run folder
  (:mod:`napari_vaemf.core.runs`), each added in its own transaction, and hands back the ones whose sweep key (data fingerprint + the
  settings that change a fit) matches.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from napari_vaemf.core import stats
from napari_vaemf.core.capacity._report import SweepPoint
from napari_vaemf.core.progress import Job, Progress, drive

__all__ = ["FitTask", "TaskData", "task_job", "run_task", "SweepStore", "sweep_key"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitTask:
    """One fit of the sweep: K latents, restart r (seed = base seed + r)."""

    latents: int
    restart: int

    @property
    def name(self) -> str:
        return f"fit-K{self.latents}-r{self.restart}"


@dataclass
class TaskData:
    """What every fit of a sweep shares (sent once to each Dask worker)."""

    x_train: np.ndarray  # (T_train, N[, 3]) rows the fits train (and early-stop) on
    x_test: np.ndarray  # (T_test, N[, 3]) rows never trained on, for judging
    encoding: str  # "binary" | "spin" | "vector"
    base: Any  # VAEConfig template (latents, seed, decoder, features replaced per fit)
    decoders: tuple[str, ...]  # decoder kinds tried per fit; the best on validation wins
    rate_threshold_nats: float  # a latent is active above this rate
    partition: Any | None  # the cut for the model-based MI (None: skip it)
    model_mi_samples: int  # model samples for the model-based MI
    data_stats: Any | None  # population statistics of x_test (None for vectors)
    engine: str = "vae"  # "exact" or "vae": one engine for every fit of a sweep (core.fitting)


def task_job(task: FitTask, data: TaskData) -> Job[dict]:
    """Fit ``task`` and judge it on the held-out rows: returns ``{"point": SweepPoint as a
    dict, "per_sample": held-out log-likelihood of every test row, "latents": posterior
    means of the test rows (T_test, K)}``."""
    from napari_vaemf.core.capacity._model import fit_rate, model_bipartite_mi
    from napari_vaemf.core.vae import Fit

    k, base = task.latents, data.base
    if data.engine == "exact":
        return (yield from _exact_task_job(task, data))
    fit = None
    for dec in data.decoders:  # pick by the fit's own validation split, never the test
        feats = 0 if dec == "identity" or not base.features else max(base.features, k)
        # restarts=0: the sweep restarts every K itself, and its fits beyond the needed K
        # have collapsed latents by design
        cfg = replace(base, latents=k, seed=base.seed + task.restart, decoder=dec, features=feats,
                      restarts=0)
        cand = Fit(data.x_train, data.encoding, cfg)
        stage = f"fit K={k} restart {task.restart} {dec}"
        for rec in cand.train():
            yield Progress(stage, rec.step, rec.total, rec.metrics)
        if fit is None or cand.best_test_neg_elbo < fit.best_test_neg_elbo:
            fit = cand
    cfg = fit.config
    m = fit.evaluate(data.x_test, per_sample=True)  # one IWAE pass: the mean and every row
    per_sample = m.pop("test_loglik_per_sample")
    rate = fit_rate(fit, metrics=m, threshold_nats=data.rate_threshold_nats)
    errors: dict[str, float] = {}
    if data.data_stats is not None:
        errors = _stat_errors(_model_stats(fit, data.x_test, cfg.seed + 7), data.data_stats)
    model_mi = None
    if data.partition is not None:
        est = yield from model_bipartite_mi(fit, data.partition, samples=data.model_mi_samples,
                                            seed=cfg.seed)
        model_mi = est.as_dict()
    point = SweepPoint(k, cfg.seed, rate.total_nats, list(rate.per_latent_nats), rate.active,
                       float(m["test_loglik_nats"]), float(m["test_elbo_nats"]), errors,
                       model_mi, fit.epoch, fit.train_seconds, cfg.decoder,
                       float(fit.best_test_neg_elbo))
    log.info("K=%d seed=%d: test log-lik %.4f, rate %.4f", k, cfg.seed,
             m["test_loglik_nats"], rate.total_nats)
    return {"point": asdict(point), "per_sample": per_sample,
            "latents": fit.latents(data.x_test)}


def _model_stats(fit, x_test, seed: int):
    """Population statistics of as many model samples as held-out rows; for a bit-packed
    (streamed) test set they are drawn and counted in chunks (seeds ``seed + first row``)."""
    from napari_vaemf.core.recordings._packed import PackedRaster, chunk_rows

    none = np.zeros((0, 3), dtype=np.int64)
    if not isinstance(x_test, PackedRaster):
        return stats.population_stats(fit.sample(len(x_test), seed=seed).astype(np.float64), none)
    n, rows = len(x_test), chunk_rows(x_test.shape[1])
    return stats.population_stats_chunks(
        (fit.sample(min(rows, n - a), seed=seed + a) for a in range(0, n, rows)), none)


def _stat_errors(model_stats, data_stats) -> dict[str, float]:
    """A fit's statistics against the held-out rows' (core.stats.compare) and the RMS error of
    its pairwise covariances."""
    errors = stats.compare(model_stats, data_stats)
    iu = np.triu_indices(len(data_stats.rates), 1)
    errors["cov_rms_error"] = float(np.sqrt(np.mean((model_stats.cov[iu] - data_stats.cov[iu]) ** 2)))
    return errors


def _exact_task_job(task: FitTask, data: TaskData) -> Job[dict]:
    """:func:`task_job` on the exact engine: the decoder class is chosen inside the fit; the
    held-out log-likelihoods, the rate I(X; Z) and the model's MI are exact for the grid model."""
    from napari_vaemf.core.capacity._exact_mi import exact_bipartite_mi
    from napari_vaemf.core.exact import ExactConfig, ExactFit

    k, base = task.latents, data.base
    cfg = ExactConfig.from_settings(replace(base, latents=k, seed=base.seed + task.restart))
    fit = ExactFit(data.x_train, data.encoding, cfg)
    stage = f"fit K={k} restart {task.restart} exact"
    for rec in fit.train():
        yield Progress(stage, rec.step, rec.total, rec.metrics)
    m = fit.evaluate(data.x_test)
    per_sample = fit.log_likelihood(data.x_test)
    per = [float(v) for v in m["rate_per_latent_nats"]]
    errors: dict[str, float] = {}
    if data.data_stats is not None:
        model_stats = fit.stats(data.data_stats.triplets)
        errors = _stat_errors(model_stats, data.data_stats)
    model_mi = None
    if data.partition is not None:
        model_mi = exact_bipartite_mi(fit, data.partition, samples=data.model_mi_samples,
                                      seed=cfg.seed).as_dict()
    point = SweepPoint(k, cfg.seed, float(m["rate_nats"]), per,
                       int(sum(v > data.rate_threshold_nats for v in per)),
                       float(m["test_loglik_nats"]), float(m["test_elbo_nats"]), errors, model_mi,
                       fit.epoch, fit.train_seconds, f"{cfg.decoder} H={fit.config.features or k}",
                       float(fit.best_test_neg_elbo))
    log.info("K=%d seed=%d (exact): test log-lik %.4f, I(X;Z) %.4f", k, cfg.seed,
             m["test_loglik_nats"], m["rate_nats"])
    return {"point": asdict(point), "per_sample": per_sample,
            "latents": fit.latents(data.x_test)}


def run_task(task: FitTask, data: TaskData, threads: int | None = None) -> dict:
    """:func:`task_job` run to the end (a Dask task); ``threads`` pins torch's thread count."""
    if threads is not None:
        import torch

        torch.set_num_threads(int(threads))
    return drive(task_job(task, data), bar=False)


# settings that do not change any one fit: a sweep with other values reuses stored fits
_NOT_IN_KEY = ("k_max", "seeds", "scheduler", "device", "tolerance_nats", "rel_tolerance",
               "infonce", "infonce_steps", "max_samples", "size_rule")


def sweep_key(x: np.ndarray, test_index: np.ndarray, encoding: str, settings, base) -> str:
    """Identifies a sweep's fits: the data, the held-out rows, the settings that change a fit
    (CapacitySettings less :data:`_NOT_IN_KEY`) and the VAEConfig template ``base``."""
    packed = getattr(x, "bits", None)  # a PackedRaster: its bits identify it
    h = hashlib.sha256(f"{encoding}|{x.shape}|{x.dtype.str}|{'packed' if packed is not None else ''}".encode())
    h.update(np.ascontiguousarray(x if packed is None else packed).tobytes())
    h.update(np.ascontiguousarray(test_index, dtype=np.int64).tobytes())
    fit_settings = {k: v for k, v in asdict(settings).items() if k not in _NOT_IN_KEY}
    base_dict = {k: v for k, v in base.to_dict().items() if k != "device"}
    h.update(json.dumps([fit_settings, base_dict], sort_keys=True, default=str).encode())
    return h.hexdigest()[:32]


class SweepStore:
    """Finished fits of one sweep in a run folder (a :class:`~napari_vaemf.core.runs.RunFolder`
    held by this process), so an interrupted sweep resumes where it stopped. ``prefix`` keeps
    a second sweep in the same folder apart (the shuffle control's fits)."""

    def __init__(self, folder, key: str, prefix: str = ""):
        self.folder, self.key, self.prefix = folder, key, prefix

    def with_key(self, key: str, prefix: str) -> "SweepStore":
        """A store for another sweep in the same folder."""
        return SweepStore(self.folder, key, prefix)

    def load(self) -> dict[FitTask, dict]:
        """The fits already stored under this sweep's key (others are ignored)."""
        out: dict[FitTask, dict] = {}
        for path in sorted(self.folder.path.glob(f"{self.prefix}fit-K*-r*.json")):
            try:
                meta = json.loads(path.read_text())
                if meta.get("sweep_key") != self.key:
                    continue
                task = FitTask(int(meta["latents"]), int(meta["restart"]))
                with np.load(path.with_suffix(".npz"), allow_pickle=False) as arrays:
                    per, z = arrays["per_sample"], arrays["latents"]
            except (OSError, ValueError, KeyError) as err:
                log.warning("ignoring stored fit %s: %s", path.name, err)
                continue
            out[task] = {"point": meta["point"], "per_sample": per, "latents": z}
        return out

    def save(self, task: FitTask, result: dict) -> None:
        """Add one finished fit to the folder (both of its files at once)."""
        from napari_vaemf.core.runs import defer_sigint

        meta = {"sweep_key": self.key, "latents": task.latents, "restart": task.restart,
                "point": result["point"]}
        buf = io.BytesIO()
        np.savez(buf, per_sample=np.asarray(result["per_sample"], dtype=np.float64),
                 latents=np.asarray(result["latents"], dtype=np.float32))
        name = self.prefix + task.name
        with defer_sigint(reraise=False), self.folder.begin() as txn:
            txn.write_bytes(f"{name}.json", json.dumps(meta, default=float).encode())
            txn.write_bytes(f"{name}.npz", buf.getvalue())
            txn.commit(keep=True)
