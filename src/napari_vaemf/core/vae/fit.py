"""`Fit`: one VAE fit as a scriptable object (data split, model, optimiser, history, results).

    fit = Fit(x, "spin", VAEConfig(latents=1))
    result = drive(fit.train())          # or hand fit.train() to napari's thread_worker
    fit.evaluate()["test_loglik_nats"]   # IWAE log-likelihood per held-out sample
    fit.save("run/model.pt"); fit2 = Fit.load("run/model.pt")

This module holds the fit's data access and training; what a trained fit computes is in
``_evaluate.py`` (:class:`FitEval`), its checkpoints in ``_io.py`` (:class:`FitIO`).
"""
from __future__ import annotations

import copy
import logging
import math
import time
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import torch

from napari_vaemf.core.data import FitData, heldout_split, split_rows
from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.optim import Adam
from napari_vaemf.core.progress import Job, Progress
from napari_vaemf.core.vae._checkpoint import fingerprint, pick_device
from napari_vaemf.core.vae._data import FitSummary, check_data
from napari_vaemf.core.vae._evaluate import FitEval
from napari_vaemf.core.vae._io import FitIO
from napari_vaemf.core.vae._memory import rows_per_chunk
from napari_vaemf.core.vae.model import ProductVAE, VAEConfig

__all__ = ["Fit", "FitSummary", "collapsed"]

log = logging.getLogger(__name__)

_YIELD_EVERY_S = 0.2  # seconds between progress records inside an epoch


def onecycle_lr(lr: float, step: int, total: int, warm: float = 0.3) -> float:
    """One-cycle learning rate at ``step`` of ``total``: cosine rise lr/25 -> lr over the
    first ``warm`` fraction of the steps, then cosine fall to lr/1e4 (as torch's OneCycleLR)."""
    up = max(1.0, warm * total)
    if step < up:
        return lr / 25 + (lr - lr / 25) * (1 - math.cos(math.pi * step / up)) / 2
    t = min(1.0, (step - up) / max(1.0, total - up))
    return lr / 1e4 + (lr - lr / 1e4) * (1 + math.cos(math.pi * t)) / 2


COLLAPSE_FRACTION = 0.25  # a latent whose rate is under this fraction of the latents' median has collapsed
SAME_OPTIMUM_NATS = 0.01  # a restart this close (held-out objective) to the best is the same optimum


def collapsed(rates: np.ndarray, share: float = COLLAPSE_FRACTION) -> bool:
    """Whether one of several latents carries almost nothing while the others carry
    information: its rate (nats) is under ``share`` of the median rate. A collapsed
    latent is a local optimum of the ELBO (another seed finds all of them: Hopfield N = 160,
    P = 6, β = 1.08 on fresh samples), or a latent the data do not need."""
    rates = np.asarray(rates, np.float64)
    if rates.size < 2:
        return False
    med = float(np.median(rates))
    return med > 0 and bool((rates < share * med).any())


# what Fit._start makes afresh for each seed, and a restart snapshot keeps
_RUN_STATE = ("model", "optimizer", "step", "epoch", "history", "best_test_neg_elbo",
              "_best_state", "_bad_epochs", "_noise", "_order")


def _objective(snapshot: dict) -> float:
    """The held-out objective (-ELBO, lower is better) of a restart snapshot."""
    return snapshot["state"]["best_test_neg_elbo"]


class Fit(FitEval, FitIO):
    """A product-decoder VAE fitted to configurations ``x`` in ``encoding``.

    ``x``: (T, N) {0,1} ("binary") or ±1 ("spin"), or (T, N, 3) unit vectors ("vector").
    ``test_index``: rows held out for early stopping and evaluation; default a random
    ``config.holdout`` fraction. ``x=None`` with ``n_units`` builds a model-only fit (what
    :meth:`load` returns when no data are given).
    """

    method = "vae"  # what report.json states: held-out log-likelihoods are IWAE bounds

    def __init__(
        self,
        x: np.ndarray | None,
        encoding: str,
        config: VAEConfig | None = None,
        test_index: np.ndarray | None = None,
        *,
        n_units: int | None = None,
        time_base: dict | None = None,
    ):
        requested = config if config is not None else VAEConfig()
        self.config = requested.for_engine("vae")
        # where the data came from: bin_size, t_start, repeats, split, source, sha256 (json-able)
        self.time_base: dict[str, Any] = dict(time_base or {})
        self.encoding = encoding
        self.device = pick_device(self.config.device)
        self.x: np.ndarray | None = None if x is None else check_data(x, encoding)
        if self.x is None and n_units is None:
            raise ParameterError("Fit needs data x or n_units")
        self.n_units = int(self.x.shape[1]) if self.x is not None else int(n_units)
        self.fingerprint = None if self.x is None else fingerprint(self.x, encoding)
        self.metrics: dict[str, Any] = {}  # latest training/evaluation numbers
        self.train_seconds = 0.0
        self._start(self.config.seed)
        self.test_index = self.train_index = np.arange(0)
        self._train = self._test = None
        if self.x is not None:
            self._split(test_index)
            self.config = self.config.sized_for(len(self.train_index), requested)
            self._init_fields()

    @classmethod
    def from_data(cls, data: FitData, config: VAEConfig | None = None) -> "Fit":
        """A fit of prepared data (:func:`napari_vaemf.core.data.prepare`): its split and its
        time base (saved with the fit, restored by :meth:`load`)."""
        return cls(data.x, data.encoding, config, data.test_index,
                   time_base={**data.time_base, "split": data.split})

    def _start(self, seed: int) -> None:
        """A fresh model, optimiser, history and noise (:data:`_RUN_STATE`), initialised from
        ``seed`` (the data split is not touched)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model = ProductVAE(self.n_units, self.encoding, self.config).to(self.device)
        self.optimizer = Adam(self.model.parameters(), lr=self.config.lr)
        self.step = 0  # optimisation steps taken
        self.epoch = 0  # epochs completed
        self.history: list[dict] = []  # one metrics dict per completed epoch
        self.best_test_neg_elbo = math.inf
        self._best_state: dict[str, torch.Tensor] | None = None
        self._bad_epochs = 0
        self._noise = torch.Generator(device=self.device).manual_seed(seed + 1)
        self._order = torch.Generator().manual_seed(seed + 2)

    def _init_fields(self) -> None:
        """Start b at the independent-unit solution (log-odds of the rates; atanh m for spins)."""
        if self.encoding == "vector":
            return
        rows = self.train_index[:: max(1, len(self.train_index) // 100_000)]  # <= ~1e5 rows
        total = np.zeros(self.n_units, np.int64)
        for i in range(0, len(rows), 8192):  # int8 rows a chunk at a time (streamed data stay small)
            total += np.asarray(self.x[rows[i : i + 8192]]).sum(0, dtype=np.int64)
        mean = total / len(rows)
        p = (mean + 1) / 2 if self.encoding == "spin" else mean
        p = np.clip(p, 1e-4, 1 - 1e-4)
        b = np.log(p / (1 - p)) / (2 if self.encoding == "spin" else 1)
        with torch.no_grad():
            self.model.decoder.readout.bias.copy_(torch.as_tensor(b))

    # --- data ----------------------------------------------------------------------------
    def _split(self, test_index: np.ndarray | None) -> None:
        t = len(self.x)
        if test_index is None:  # plain arrays: the i.i.d. rule (recordings come with a split)
            test_index, rule = heldout_split(t, self.config.holdout, self.config.seed, iid=True)
            self.time_base.setdefault("split", rule)
        self.test_index, self.train_index = split_rows(t, test_index)
        comps = 5 if self.encoding == "vector" else 1
        mb = t * self.n_units * comps * 4 / 2**20
        # bit-packed data (a recording too large to hold densely) stay packed on the CPU
        from napari_vaemf.core.recordings._packed import PackedRaster

        packed = isinstance(self.x, PackedRaster)
        self.on_device = mb <= self.config.max_device_mb and not (packed and self.device.type == "cpu")
        if self.on_device:
            self._train = self._prepare(self.x[self.train_index])
            self._test = self._prepare(self.x[self.test_index]) if self.test_index.size else None
        log.info("data %s: %.1f MB prepared, %s", self.x.shape, mb,
                 "on device" if self.on_device else "streamed from host")

    def _prepare(self, x: np.ndarray) -> torch.Tensor:
        return self.model.prepare(torch.as_tensor(np.asarray(x)).to(self.device))

    def _rows(self, which: str, idx: torch.Tensor) -> torch.Tensor:
        """Prepared rows ``idx`` of the train/test split, from the device or streamed."""
        if self.on_device:
            return (self._train if which == "train" else self._test)[idx]
        rows = (self.train_index if which == "train" else self.test_index)[idx.cpu().numpy()]
        order = np.argsort(rows)  # sorted reads suit memmaps, h5py and dask
        out = np.empty((len(rows), *self.x.shape[1:]), dtype=self.x.dtype)
        out[order] = self.x[rows[order]]
        return self._prepare(out)

    def _chunks(self, which: str, n: int, k: int):
        """Prepared rows of the train/test split in chunks whose activations with ``k``
        samples per row (0: encode only) stay within the evaluation budget (vae/_memory.py)."""
        size = rows_per_chunk(self.model, k)
        for i in range(0, n, size):
            yield self._rows(which, torch.arange(i, min(n, i + size), device=self.device))

    def _need_data(self) -> None:
        if self.x is None:
            raise ParameterError("this fit holds no data: pass x")

    # --- training ------------------------------------------------------------------------
    def train(
        self, epochs: int | None = None, batches: Callable[[int], Iterable[np.ndarray]] | None = None
    ) -> Job[dict]:
        """Train for up to ``epochs`` (default ``config.epochs``) more epochs, with early stopping.

        Yields :class:`Progress` (stage "train") with metrics epoch, step, neg_elbo, rate,
        distortion (running means over the epoch, nats/sample), test_neg_elbo (held-out value of
        the training objective: the negative ELBO, or the negative IWAE bound if train_k > 1),
        samples_per_s and elapsed. Returns :attr:`metrics`. Closing the generator stops at the
        next yield and leaves the best model so far (lowest held-out negative ELBO) in place.

        Batches come from the fit's own training split (on the device when it fits, else
        gathered from the host array), or, with ``batches``, from ``batches(epoch)``: any
        iterable of (B, N[, 3]) arrays in the data's encoding, e.g.
        ``lambda e: recording.iter_batches(1024, seed=e)`` for recordings too big for memory
        (then the held-out split, if the fit has data, still drives early stopping).

        The first training of a fit from its own data (no ``epochs``, no ``batches``) is
        repeated from other seeds when a latent collapsed (:meth:`_restart_collapsed`,
        ``config.restarts``); the progress records then start again for each restart.
        """
        if batches is None:
            self._need_data()
        fresh = not self.history and batches is None and epochs is None
        yield from self._train_run(epochs, batches)
        if fresh and self.config.restarts and self.test_index.size:
            yield from self._restart_collapsed()
        return self.metrics

    def _restart_collapsed(self) -> Job[None]:
        """After a fit's first training: while a latent has collapsed (:func:`collapsed`),
        train another seed (seed + 1000 r, same split), up to ``config.restarts`` more; keep
        the one with the best held-out objective (also when stopped during a restart). A
        restart that collapses again within :data:`SAME_OPTIMUM_NATS` of the best found the
        same optimum (the data do not need that latent): no further restart.
        ``metrics["restarts"]`` says what ran."""
        rates = self.rate_per_latent()
        if not collapsed(rates):
            return
        kept = self._snapshot(0, rates)
        tried = [kept["summary"]]
        running = 0  # the restart being trained (0: none)
        try:
            for r in range(1, self.config.restarts + 1):
                log.info("a latent collapsed (rates %s nats): restart %d with seed %d",
                         np.round(rates, 3).tolist(), r, self._restart_seed(r))
                self._start(self._restart_seed(r))
                self._init_fields()
                running = r
                yield from self._train_run(None, None)
                running = 0
                rates = self.rate_per_latent()
                cand = self._snapshot(r, rates)
                tried.append(cand["summary"])
                gap = _objective(cand) - _objective(kept)
                same = abs(gap) < SAME_OPTIMUM_NATS
                if gap < 0:
                    kept = cand
                if not collapsed(rates) or same:  # the same optimum again: a latent not needed
                    break
        finally:  # a stop during a restart keeps the better of the two
            if running:
                cand = self._snapshot(running, self.rate_per_latent())
                cand["summary"]["stopped"] = True
                tried.append(cand["summary"])
                if _objective(cand) < _objective(kept):
                    kept = cand
            for name, value in kept["state"].items():
                setattr(self, name, value)
            self.metrics.update(kept["metrics"], train_seconds=self.train_seconds,
                                restarts={"why": f"a latent's rate was under {COLLAPSE_FRACTION:g} "
                                                 "of the latents' median", "tried": tried,
                                          "kept": kept["summary"]["restart"]})

    def _snapshot(self, restart: int, rates: np.ndarray) -> dict:
        """What a restart replaces: the trained model and its book-keeping (what
        :meth:`_start` makes afresh)."""
        return {"state": {n: getattr(self, n) for n in _RUN_STATE}, "metrics": dict(self.metrics),
                "summary": {"restart": restart, "seed": self._restart_seed(restart),
                            "best_test_neg_elbo": self.best_test_neg_elbo, "epochs": self.epoch,
                            "rate_per_latent_nats": [float(v) for v in rates]}}

    def _restart_seed(self, restart: int) -> int:
        """The seed of restart ``restart`` (0: the fit's own)."""
        return self.config.seed + 1000 * restart

    def _train_run(self, epochs: int | None, batches) -> Job[dict]:
        """One training run of the current model (:meth:`train` without the restarts)."""
        cfg, model, opt = self.config, self.model, self.optimizer
        epochs = cfg.epochs if epochs is None else int(epochs)
        n = len(self.train_index)
        bs = min(cfg.batch_size, max(n, 1))
        steps = math.ceil(n / bs) if batches is None else None
        total = steps * epochs if steps is not None else None
        t0 = last = time.perf_counter()
        seen, step0 = 0, self.step
        test_val = self.best_test_neg_elbo if self.history else math.nan
        try:
            for _ in range(epochs):
                acc = torch.zeros(2, device=self.device, dtype=torch.float64)
                count = 0
                model.train()
                for i, xb in enumerate(self._epoch_batches(batches, bs, steps)):
                    warm = cfg.kl_warmup_epochs
                    frac = i / steps if steps else 0.0
                    beta = 1.0 if warm <= 0 else min(1.0, (self.epoch + frac) / warm)
                    if cfg.lr_schedule == "onecycle" and total:
                        for group in opt.param_groups:
                            group["lr"] = onecycle_lr(cfg.lr, self.step - step0, total)
                    obj, dist, rate = model.loss_terms(xb, cfg.train_k, beta, self._noise)
                    loss = obj.mean()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    acc += torch.stack([dist.sum(), rate.sum()]).detach()
                    self.step += 1
                    count += len(xb)
                    now = time.perf_counter()
                    if now - last >= _YIELD_EVERY_S:
                        last = now
                        d, r = (acc / count).tolist()
                        yield self._progress(total, step0, t0, seen + count, d, r, test_val)
                if count == 0:
                    raise InputError(None, "no training batches")
                seen += count
                self.epoch += 1
                d, r = (acc / count).tolist()
                test_val = self._heldout_neg_elbo()
                el = time.perf_counter() - t0
                stop = self._end_epoch(d, r, test_val, seen / el, self.train_seconds + el)
                last = time.perf_counter()
                yield self._progress(total, step0, t0, seen, d, r, test_val)
                if stop:
                    log.info("early stop after epoch %d (best held-out -ELBO %.4f)",
                             self.epoch, self.best_test_neg_elbo)
                    break
        finally:
            elapsed = time.perf_counter() - t0
            self.train_seconds += elapsed
            if self._best_state is not None:
                model.load_state_dict(self._best_state)
            model.eval()
            self.metrics.update(
                train_seconds=self.train_seconds,
                samples_per_second=seen / elapsed if elapsed > 0 else math.nan,
                epochs=self.epoch,
                steps=self.step,
                best_test_neg_elbo=self.best_test_neg_elbo,
                device=str(self.device),
            )
        return self.metrics

    def _progress(self, total, step0, t0, seen, d, r, test_val) -> Progress:
        el = time.perf_counter() - t0
        done = self.step - step0
        return Progress("train", done if total is None else min(done, total), total, {
            "epoch": self.epoch, "step": self.step, "neg_elbo": d + r, "rate": r,
            "distortion": d, "test_neg_elbo": test_val,
            "samples_per_s": seen / el if el > 0 else math.nan, "elapsed": el,
        })

    def _end_epoch(self, d: float, r: float, test_val: float, sps: float, elapsed: float) -> bool:
        """Book-keeping after an epoch; returns True when training should stop early."""
        rec = {"epoch": self.epoch, "step": self.step, "neg_elbo": d + r, "rate": r,
               "distortion": d, "test_neg_elbo": test_val, "samples_per_s": sps,
               "elapsed": elapsed}
        self.history.append(rec)
        self.metrics.update(rec)
        if not math.isfinite(test_val):  # no held-out data: keep the latest model
            self._best_state = None
            return False
        warm = self.epoch < self.config.kl_warmup_epochs  # the KL weight is still below 1
        significant = test_val < self.best_test_neg_elbo - self.config.min_delta
        if test_val < self.best_test_neg_elbo or warm:
            self.best_test_neg_elbo = test_val
            self._best_state = copy.deepcopy(self.model.state_dict())
        self._bad_epochs = 0 if (significant or warm) else self._bad_epochs + 1
        half = max(1, self.config.patience // 2)
        plateau = self.config.lr_schedule == "plateau"
        if plateau and self._bad_epochs and self._bad_epochs % half == 0 and self.config.lr_decay < 1:
            for group in self.optimizer.param_groups:  # stalled: smaller steps
                group["lr"] *= self.config.lr_decay
        return self._bad_epochs >= self.config.patience

    def _epoch_batches(self, batches, bs: int, steps: int | None) -> Iterator[torch.Tensor]:
        """Prepared training batches for one epoch (see :meth:`train`)."""
        if batches is None:
            perm = torch.randperm(len(self.train_index), generator=self._order).to(self.device)
            for i in range(steps):
                yield self._rows("train", perm[i * bs : (i + 1) * bs])
            return
        for b in batches(self.epoch):
            b = np.asarray(b)
            if b.ndim != (3 if self.encoding == "vector" else 2) or b.shape[1] != self.n_units:
                raise InputError(None, f"batch of shape {b.shape} does not match {self.n_units} units")
            yield self._prepare(check_data(b, self.encoding, min_rows=1))

    @torch.no_grad()
    def _heldout_neg_elbo(self) -> float:
        if self.test_index.size == 0:
            return math.nan
        gen = torch.Generator(device=self.device).manual_seed(self.config.seed + 3)  # same noise each epoch
        self.model.eval()
        total = 0.0
        k = self.config.train_k
        for xb in self._chunks("test", len(self.test_index), k):
            total += float(self.model.loss_terms(xb, k, 1.0, gen)[0].sum())
        return total / len(self.test_index)
