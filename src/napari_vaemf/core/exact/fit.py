"""`ExactFit`: a few-latent product-decoder model fitted by its exact (quadrature) likelihood.

    fit = ExactFit(x, "binary", ExactConfig(latents=2, features=16))
    metrics = drive(fit.train())           # or hand fit.train() to napari's thread_worker
    fit.log_likelihood(x_test).mean()      # exact held-out log p per sample (nats)

Training maximises Σ_u c_u log p(x_u) / Σ_u c_u over the *distinct* training patterns x_u
with their counts c_u (binary recordings repeat patterns a lot), with Adam. A step takes a
batch of distinct patterns: the most frequent ones (up to a quarter of the batch) are in
every batch with weight c_u / T, the others are split at random into the batches of a pass
with weight n_batches · c_u / T, so each step's objective is an unbiased, low-variance
estimate of the full one. The gradient is written out by hand: with the node posterior
r_ug = p(z_g | x_u), ∂/∂ℓ_gi of the objective is Σ_u c_u r_ug (x_ui - σ(ℓ_gi)) / T, so a
step costs two (B × N × G) products and one exp per (pattern, node); the same r gives the
aggregate posterior Σ_u c_u r_ug / T for free.

Each step runs on the training lattice (``config.nodes`` per axis) moved by a fresh uniform
random fraction of a cell (``config.shift``, a Cranley-Patterson shift). Averaged over the
shift, the lattice sum is an unbiased estimate of p(x) = ∫ N(z; 0, I) p(x|z) dz (exactly so
for the unnormalised sum over the whole lattice; up to the prior mass outside the ball here),
so the training objective is a stochastic lower bound on the continuous model's
log-likelihood (as IWAE's is), tight once the posteriors are wider than a cell: the model
cannot tune itself to one fixed set of nodes. What is judged is the model on the *evaluation
grid* (:attr:`QuadratureModel.grid`): the unshifted lattice with 2n - 1 nodes per axis.

After each epoch (at least :data:`MIN_STEPS_PER_EPOCH` Adam steps) the fit measures the exact
held-out log-likelihood on the evaluation grid (early stopping keeps the best model and its
grids) and moves the lattice onto the aggregate posterior's mean and covariance
(``config.recentre``).

With ``config.features = -1`` (the default) the fit trains the two decoder classes in turn,
fields of rank K (H = K) and a curved map (H = 16), each from its own fresh start, and keeps the
rank-K class unless the curved one is better on the held-out rows by more than two standard
errors of the paired per-sample difference (and 1e-3 nats): curvature must earn its place,
and the Hopfield read-off needs rank-K fields. Then (when rows are held out) it fits the
strict generalized Hopfield model with K patterns by exact maximum likelihood
(:mod:`._strict_class`: the identity map under the tilted node measure, N(K + 1) parameters)
and keeps it unless the class kept so far beats it by the same rule: where the data are a
quadratic energy of K projections (Curie-Weiss, Hopfield) the strict class is the model and
has no map g to learn; on the retina the richer classes win. ``metrics["decoder_choice"]``
holds every candidate's held-out log-likelihood (the strict class's as "hopfield") and
``metrics["decoder_kept"]`` the one kept. A stop during the race keeps the better of what
was trained.

After training, :meth:`ExactFit.converge_grid` refines the evaluation grid (n -> 2n - 1 per
axis) while that moves the mean held-out log-likelihood by more than ``config.grid_tol``. Every
number the fit reports (log-likelihoods, posteriors, rate, statistics, samples) is then exact
for the *grid model* on the evaluation grid, a normalised mixture of product distributions
over its nodes; :meth:`ExactFit.grid_delta` says how far it is from the continuous model.
Last, with ``config.match_rates`` (the default), :meth:`ExactFit.match_rates` shifts the fields
so the model's exact firing rates equal the training data's (maximum likelihood matches them
to the aggregate posterior's, which differs from the prior's by a little; the shift costs
about 1e-3 nats/sample of held-out log-likelihood). It is taken only as far as it costs at
most ``RATE_MATCH_BUDGET`` nats/sample; ``metrics`` record the fraction and the cost.
"""
from __future__ import annotations

import copy
import dataclasses
import logging
import math
import time
from typing import Any

import numpy as np
import torch

from napari_vaemf.core.data import FitData, heldout_split, split_rows
from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.exact._data import as_01, distinct_patterns
from napari_vaemf.core.exact._grid import Grid, lattice_grid
from napari_vaemf.core.exact._evaluate import ExactFitEval
from napari_vaemf.core.exact._io import ExactFitIO
from napari_vaemf.core.exact._race import ExactFitRace
from napari_vaemf.core.exact._schedule import onecycle_lr, stratified
from napari_vaemf.core.exact._rows import Rows
from napari_vaemf.core.exact.config import RATE_MATCH_BUDGET, ExactConfig
from napari_vaemf.core.exact.model import QuadratureModel, softmax_rows_
from napari_vaemf.core.optim import Adam
from napari_vaemf.core.progress import Job, Progress

__all__ = ["ExactFit", "MIN_STEPS_PER_EPOCH"]

log = logging.getLogger(__name__)

MIN_STEPS_PER_EPOCH = 10  # small data sets take several passes per epoch
CHECK_PATTERNS = 4096  # distinct held-out patterns used for the grid-refinement check
_YIELD_EVERY_S = 0.2


class ExactFit(ExactFitRace, ExactFitEval, ExactFitIO):
    """Data split into distinct patterns + :class:`QuadratureModel` + Adam + early stopping.

    ``x``: (T, N) {0,1} ("binary") or ±1 ("spin"). ``test_index``: rows held out for early
    stopping and evaluation (default a random ``config.holdout`` fraction). ``x=None`` with
    ``n_units`` builds a model-only fit (what :meth:`load` returns without data).
    """

    method = "exact"  # what report.json states: log-likelihoods are exact, not bounds

    def __init__(self, x: np.ndarray | None, encoding: str, config: ExactConfig | None = None,
                 test_index: np.ndarray | None = None, *, n_units: int | None = None,
                 time_base: dict | None = None, settings: Any = None):
        from napari_vaemf.core.vae._checkpoint import fingerprint

        self.config = cfg = config if config is not None else ExactConfig()
        self.settings = settings  # the VAEConfig the fit was asked with (report.json states it)
        self.encoding = encoding
        self.device = torch.device("cpu")
        self.time_base: dict[str, Any] = dict(time_base or {})
        if x is None and n_units is None:
            raise ParameterError("ExactFit needs data x or n_units")
        self.x = None if x is None else np.asarray(x)
        self.x01 = None if x is None else as_01(self.x, encoding)
        t = 0 if x is None else len(self.x01)
        self.n_units = int(self.x01.shape[1]) if x is not None else int(n_units)
        self.fingerprint = None if x is None else fingerprint(self.x, encoding)
        if x is not None and t < 2:
            raise ParameterError(f"need at least 2 samples, got {t}")
        if x is not None and test_index is None:  # plain arrays: the i.i.d. rule
            test_index, rule = heldout_split(t, cfg.holdout, cfg.seed, iid=True)
            self.time_base.setdefault("split", rule)
        if x is None:
            self.test_index = self.train_index = np.zeros(0, np.int64)
        else:
            self.test_index, self.train_index = split_rows(t, test_index)
        empty = np.zeros((0, self.n_units), np.int8)
        pat, self.train_counts, _ = distinct_patterns(self.x01[self.train_index] if t else empty)
        vpat, self.test_counts, _ = distinct_patterns(self.x01[self.test_index] if t else empty)
        self._train = torch.as_tensor(pat, dtype=torch.float32)
        self._test = torch.as_tensor(vpat, dtype=torch.float32)
        self._check = stratified(self.test_counts if len(vpat) else self.train_counts, CHECK_PATTERNS,
                                  np.random.default_rng(cfg.seed + 3))
        self.epoch = self.step = 0
        self.history: list[dict] = []
        self.metrics: dict[str, Any] = {}
        self.train_seconds = 0.0
        self._rng = np.random.default_rng(cfg.seed + 2)
        # decoder classes (H) still to train, the richest first: a simpler one that trails it
        # clearly is then dropped early (:meth:`_trails`)
        self._candidates = sorted(cfg.candidates, reverse=True)
        self._tried: dict[int, dict] = {}  # H -> the best state of each candidate trained
        self._strict: dict | None = None  # the strict Hopfield candidate, once raced
        self._build(self._candidates[0])
        log.info("exact fit: %d rows (%d distinct train, %d distinct held-out patterns), N=%d, K=%d",
                 t, len(pat), len(vpat), self.n_units, cfg.latents)

    @classmethod
    def from_data(cls, data: FitData, settings: Any = None) -> "ExactFit":
        """An exact fit of prepared data with a fit's settings (a VAEConfig; auto values take
        :class:`ExactConfig`'s defaults); its split and time base are kept."""
        from napari_vaemf.core.vae.config import VAEConfig

        settings = (settings or VAEConfig()).for_engine("exact")
        return cls(data.x, data.encoding, ExactConfig.from_settings(settings), data.test_index,
                   time_base={**data.time_base, "split": data.split}, settings=settings)

    def _build(self, features: int) -> None:
        """A fresh model with ``features`` outputs of g, its lattice, fields and optimiser."""
        cfg = self.config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.model = QuadratureModel(self.n_units, self.encoding,
                                         dataclasses.replace(cfg, features=features))
        self.features = features
        self._set_lattice(lattice_grid(cfg.latents, cfg.nodes))
        if len(self.train_counts):
            self._init_fields()
        self.optimizer = Adam(self.model.parameters(), lr=cfg.lr)
        self.best_test_loglik = -math.inf
        self._best: tuple[dict, Grid, Grid] | None = None
        self._bad_epochs = 0

    @property
    def best_test_neg_elbo(self) -> float:
        """Minus the best held-out log-likelihood (the exact counterpart of the VAE's
        early-stopping monitor, so fits of either engine compare on one number)."""
        return -self.best_test_loglik

    def _init_fields(self) -> None:
        """Start b at the independent-unit solution (log-odds of the training rates)."""
        p = (self.train_counts @ self._train.double().numpy()) / self.train_counts.sum()
        p = np.clip(p, 1e-4, 1 - 1e-4)
        b = np.log(p / (1 - p)) / (2 if self.encoding == "spin" else 1)
        with torch.no_grad():
            self.model.decoder.readout.bias.copy_(torch.as_tensor(b))

    @property
    def decoder_label(self) -> str:
        """The decoder class in words: "strict Hopfield, P=K" or "H=..." (outputs of g)."""
        if self.config.measure == "hs":
            return f"strict Hopfield, P={self.config.latents}"
        return f"H={self.config.features or self.config.latents}"

    @property
    def grid(self) -> Grid:
        """The evaluation grid (every exact number the fit reports is computed on it)."""
        return self.model.grid

    # --- training ------------------------------------------------------------------------
    def _batches(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(indices, weights) of one pass over the distinct training patterns (module docstring)."""
        c, bs, total = self.train_counts, self.config.batch_size, float(self.train_counts.sum())
        u = len(c)
        if u <= bs:
            return [(np.arange(u), c / total)]
        order = np.argsort(-c, kind="stable")
        heavy = order[: min(bs // 4, int((c >= 2).sum()))]
        light = self._rng.permutation(order[len(heavy) :])
        chunks = np.array_split(light, math.ceil(len(light) / (bs - len(heavy))))
        return [(np.concatenate([heavy, ch]), np.concatenate([c[heavy], c[ch] * len(chunks)]) / total)
                for ch in chunks]

    def _adam_step(self, idx: np.ndarray, w: np.ndarray, grid: Grid) -> tuple[float, np.ndarray]:
        """One Adam step on the weighted patterns ``idx`` with the nodes of ``grid``; returns the
        weighted log-likelihood and the aggregate posterior mass Σ_u w_u r_ug per node (G,)."""
        rows = Rows(self._train[idx])
        wt = torch.as_tensor(w, dtype=torch.float32)
        lw = torch.as_tensor(grid.log_weights, dtype=torch.float32)
        lg = self.model.logits(grid)  # (G, N), with gradient
        with torch.no_grad():
            r, total, ll = softmax_rows_(self.model.log_joint(rows, lg.detach(), lw))  # (B, G), in place
            r.mul_(wt[:, None] / total)  # w_u r_ug
            agg = r.sum(0)  # (G,)
            grad = agg[:, None] * torch.sigmoid(lg.detach()) - rows.t_times(r)  # -∂objective/∂ℓ
        self.optimizer.zero_grad(set_to_none=True)
        # d/dℓ of Σ ℓ·grad is grad: the same backward as lg.backward(grad), whose explicit
        # gradient makes torch import its symbolic-shapes machinery (0.5 s per process)
        (lg * grad).sum().backward()
        self.optimizer.step()
        self.step += 1
        return float(wt @ ll), agg.double().numpy()

    def train(self, epochs: int | None = None) -> Job[dict]:
        """Train for up to ``epochs`` (default ``config.epochs``) more epochs, early-stopping on the
        held-out exact log-likelihood, then refine the evaluation grid (:meth:`converge_grid`).
        With two decoder classes to choose from (``features = -1``) each is trained in turn
        and the better on the held-out rows is kept.

        Yields :class:`Progress` (stage "train", one step per Adam step) with metrics epoch,
        features (H of the decoder class being trained), loglik (training objective over the
        epoch, nats/sample), test_loglik (held-out exact log p on the evaluation grid,
        nats/sample), nodes (training lattice), step, patterns_per_s and elapsed; then stage
        "grid" records from :meth:`converge_grid`. Returns :attr:`metrics`. Closing the
        generator stops at the next yield; the best model so far (and its grids) is put back.
        """
        if self.x is None:
            raise ParameterError("this fit holds no data: pass x")
        self.metrics["rates_matched"] = False  # matched again after this training
        if self.config.measure == "hs":  # the strict Hopfield class alone
            yield from self._train_strict()
            yield from self.converge_grid()
            return self.metrics
        n_cand, done = len(self._candidates), 0
        try:
            while True:
                yield from self._train_one(epochs, done, n_cand)
                done += 1
                if len(self._candidates) > 1:
                    self._keep_candidate()
                    self._candidates.pop(0)
                    self._build(self._candidates[0])
                    continue
                break
            if len(self.config.candidates) > 1 and len(self._test):
                yield from self._race_strict()
        finally:
            if len(self.config.candidates) > 1:
                self._choose()
        yield from self.converge_grid()
        if self.config.match_rates and not self.metrics.get("rates_matched"):
            self.match_rates(budget=RATE_MATCH_BUDGET)
        return self.metrics

    def _train_one(self, epochs: int | None, done: int = 0, of: int = 1) -> Job[None]:
        """Train the current decoder class for up to ``epochs`` more epochs (see :meth:`train`);
        it is candidate ``done`` of ``of``, which places its steps on the progress bar."""
        cfg = self.config
        epochs = cfg.epochs if epochs is None else int(epochs)
        per_pass = len(self._batches())
        passes = max(1, math.ceil(MIN_STEPS_PER_EPOCH / per_pass))
        total = epochs * passes * per_pass
        t0 = last = time.perf_counter()
        step0, seen = self.step, 0
        test_val = self.best_test_loglik if math.isfinite(self.best_test_loglik) else math.nan
        try:
            for _ in range(epochs):
                self.model.train()
                acc, wsum = 0.0, 0.0
                mom = np.zeros((cfg.latents + 1, cfg.latents + 1))  # Σ a_g (1, z_g)(1, z_g)ᵀ
                for _ in range(passes):
                    for idx, w in self._batches():
                        lattice = self.lattice.shifted(self._rng.random(cfg.latents)) if cfg.shift else self.lattice
                        if cfg.lr_schedule == "onecycle":
                            for group in self.optimizer.param_groups:
                                group["lr"] = onecycle_lr(cfg.lr, self.step - step0, total)
                        ll, a = self._adam_step(idx, w, lattice)
                        acc, wsum, seen = acc + ll, wsum + float(w.sum()), seen + len(idx)
                        z1 = np.hstack([np.ones((lattice.size, 1)), lattice.nodes])
                        mom += (z1 * a[:, None]).T @ z1
                        if time.perf_counter() - last >= _YIELD_EVERY_S:
                            last = time.perf_counter()
                            yield self._progress(step0, total, t0, seen, acc / wsum, test_val, done, of)
                self.epoch += 1
                self.model.eval()
                # the monitor (best epoch, decoder race) on the training lattice: a quarter of
                # the evaluation grid's nodes for K = 2; reported numbers use the latter
                test_val = self.test_loglik(grid=self.lattice)
                stop = self._end_epoch(acc / wsum, test_val, time.perf_counter() - t0)
                if not stop and self._trails(epochs if epochs is not None else cfg.epochs):
                    stop = True
                if cfg.recentre and mom[0, 0] > 0:
                    mean = mom[0, 1:] / mom[0, 0]
                    self._set_lattice(self.lattice.moved(mean, mom[1:, 1:] / mom[0, 0] - np.outer(mean, mean)))
                last = time.perf_counter()
                yield self._progress(step0, total, t0, seen, acc / wsum, test_val, done, of)
                if stop:
                    log.info("early stop after epoch %d (best held-out log p %.5f)", self.epoch,
                             self.best_test_loglik)
                    break
        finally:
            elapsed = time.perf_counter() - t0
            self.train_seconds += elapsed
            if self._best is not None:
                self.model.load_state_dict(self._best[0])
                self.lattice, self.model.grid = self._best[1], self._best[2]
            self.model.eval()
            self.metrics.update(train_seconds=self.train_seconds, epochs=self.epoch, steps=self.step,
                                best_test_loglik=self.best_test_loglik, lattice_nodes=self.lattice.size,
                                patterns_per_second=seen / elapsed if elapsed > 0 else math.nan)

    def _set_lattice(self, lattice: Grid) -> None:
        self.lattice = lattice
        self.model.grid = lattice.refined()

    def _progress(self, step0, total, t0, seen, ll, test_val, done=0, of=1) -> Progress:
        el = time.perf_counter() - t0
        return Progress("train", done * total + min(self.step - step0, total), of * total, {
            "epoch": self.epoch, "features": self.features, "loglik": ll, "test_loglik": test_val,
            "neg_elbo": -ll, "test_neg_elbo": -test_val,  # the VAE's names: with the exact posterior -ELBO = -log p
            "nodes": self.lattice.size,
            "step": self.step, "patterns_per_s": seen / el if el > 0 else math.nan, "elapsed": el})

    def _end_epoch(self, ll: float, test_val: float, elapsed: float) -> bool:
        """Book-keeping after an epoch; returns True when training should stop early."""
        rec = {"epoch": self.epoch, "features": self.features, "step": self.step, "loglik": ll, "test_loglik": test_val,
               "lr": self.optimizer.param_groups[0]["lr"], "elapsed": self.train_seconds + elapsed}
        self.history.append(rec)
        self.metrics.update(rec)
        if not math.isfinite(test_val):  # no held-out data: keep the latest model
            self._best = None
            return False
        significant = test_val > self.best_test_loglik + self.config.min_delta
        if test_val > self.best_test_loglik:
            self.best_test_loglik = test_val
            self._best = (copy.deepcopy(self.model.state_dict()), self.lattice, self.model.grid)
        self._bad_epochs = 0 if significant else self._bad_epochs + 1
        half = max(1, self.config.patience // 2)
        plateau = self.config.lr_schedule == "plateau"
        if plateau and self._bad_epochs and self._bad_epochs % half == 0 and self.config.lr_decay < 1:
            for group in self.optimizer.param_groups:
                group["lr"] *= self.config.lr_decay
        # the one-cycle schedule ends at a small learning rate, where the last gains are made:
        # it runs to its end (the best epoch is kept); the plateau schedule stops on patience
        return plateau and self._bad_epochs >= self.config.patience

    def converge_grid(self) -> Job[dict]:
        """Refine the evaluation grid (n -> 2n - 1 nodes per axis) until that moves the mean
        held-out log-likelihood by at most ``config.grid_tol`` nats/sample, or the next grid
        would exceed ``config.max_nodes``. Yields Progress("grid", ...); returns
        :meth:`grid_delta`'s dict, also stored in :attr:`metrics` (``grid_delta_nats``: the
        signed mean change, ``grid_delta_abs_nats``: the mean absolute change per pattern,
        ``grid_check``, ``grid_converged``)."""
        cfg, level = self.config, 0
        while True:
            d = self.grid_delta()
            yield Progress("grid", level, None, {"epoch": self.epoch, "nodes": self.grid.size,
                                                  "grid_delta": d["mean"]})
            level += 1
            ok = abs(d["mean"]) <= cfg.grid_tol
            finer = self.grid.refined()
            if ok or finer.size > cfg.max_nodes:
                break
            log.info("evaluation grid %d -> %d nodes (refining moved held-out log p by %.2g nats)",
                     self.grid.size, finer.size, d["mean"])
            self.model.grid = finer
        if not ok:
            log.warning("evaluation grid stays at %d nodes (max_nodes=%d) although the %s check "
                        "moves held-out log p by %.2g nats", self.grid.size, cfg.max_nodes,
                        d["check"], d["mean"])
        self.metrics.update(grid_delta_nats=d["mean"], grid_delta_abs_nats=d["abs"], grid_check=d["check"],
                            grid_converged=ok, nodes=self.grid.size, nodes_per_axis=self.grid.n)
        return d
