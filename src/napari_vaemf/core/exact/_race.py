"""The decoder-class race of an :class:`~napari_vaemf.core.exact.fit.ExactFit` (a mixin):
which classes were trained, how a class that trails is dropped early, the strict Hopfield
class fitted beside them, and the rule that keeps one (the simplest class that no richer class
beats by :data:`CHOICE_SE` standard errors of the paired held-out difference and
:data:`CHOICE_MIN_GAIN` nats/sample; the strict class is the simplest of all)."""
from __future__ import annotations

import dataclasses
import logging
import math
import time

import numpy as np
import torch

from napari_vaemf.core.exact._strict_class import STRICT_KEY, fit_strict_class, strict_config
from napari_vaemf.core.exact.model import QuadratureModel
from napari_vaemf.core.optim import Adam
from napari_vaemf.core.progress import Job

__all__ = ["ExactFitRace", "CHOICE_SE", "CHOICE_MIN_GAIN", "RACE_GAP"]

log = logging.getLogger(__name__)

CHOICE_SE = 2.0  # a richer decoder class must beat a simpler one by this many standard errors
CHOICE_MIN_GAIN = 1e-3  # ... and by at least this many nats per held-out sample
RACE_GAP = 0.1  # a decoder class trailing a trained one by more than this (and 10 SE) is dropped


class ExactFitRace:
    """Mixin of :class:`ExactFit` (uses its model, data, metrics and book-keeping)."""

    def _strict_fit(self) -> Job[QuadratureModel]:
        """The strict Hopfield class fitted by exact maximum likelihood on the training rows
        (:mod:`._strict_class`); its seconds are added to :attr:`train_seconds`."""
        t0 = time.perf_counter()
        try:
            return (yield from fit_strict_class(self.x[self.train_index], self.encoding, self.config))
        finally:
            seconds = time.perf_counter() - t0
            self.train_seconds += seconds
            # report.json's train_seconds counts the strict fit too
            self.metrics.update(strict_seconds=seconds, train_seconds=self.train_seconds)

    def _train_strict(self) -> Job[None]:
        """Fit the strict class (``config.measure = "hs"``) and make it the fit's model."""
        self.model = yield from self._strict_fit()
        self._set_strict()
        self.best_test_loglik = self.test_loglik(torch.float64)
        self.epoch += 1
        self.metrics.update(epochs=self.epoch, best_test_loglik=self.best_test_loglik,
                            lattice_nodes=self.lattice.size)

    def _set_strict(self) -> None:
        """Book-keeping once :attr:`model` is the strict class: its lattice is its grid, its
        config the strict one, a fresh optimiser over its parameters (nothing else trains it)."""
        self.config = strict_config(self.config)
        self.features, self.lattice, self._best = 0, self.model.grid, None
        self.optimizer = Adam(self.model.parameters(), lr=self.config.lr)
        self._candidates, self._tried = [0], {}

    def _race_strict(self) -> Job[None]:
        """Fit the strict Hopfield class as the race's simplest candidate (:meth:`_choose`)."""
        model = yield from self._strict_fit()
        per = model.log_likelihood(self._test)
        if not np.isfinite(per).all():
            log.warning("the strict Hopfield class gave non-finite held-out log-likelihoods: not raced")
            return
        self._strict = {"loglik": float(self.test_counts @ per / self.test_counts.sum()),
                        "per_pattern": per, "model": model}

    def _keep_candidate(self) -> None:
        """Remember the current decoder class's best model (it may win the choice)."""
        if self._best is not None or self.history:
            ll = self.best_test_loglik
            per = self.model.log_likelihood(self._test) if len(self._test) else None
            self._tried[self.features] = {
                "loglik": ll if math.isfinite(ll) else float(self.metrics.get("loglik", -math.inf)),
                "per_pattern": per, "model": self.model, "optimizer": self.optimizer,
                "lattice": self.lattice, "grid": self.model.grid, "best": self._best}

    def _paired(self, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
        """Mean and standard error of a - b over the held-out rows, for per-pattern
        log-likelihoods ``a``, ``b`` of the distinct held-out patterns (weighted by counts)."""
        c = self.test_counts.astype(np.float64)
        d = a - b
        mean = float(c @ d / c.sum())
        return mean, math.sqrt(max(float(c @ (d - mean) ** 2 / c.sum()), 0.0) / c.sum())

    def _trails(self, epochs: int) -> bool:
        """Whether the decoder class being trained trails one trained before so clearly that it
        will not catch up: after at least max(10, epochs / 6) of its epochs, its held-out
        log-likelihood is below the other's best by more than :data:`RACE_GAP` nats, ten
        standard errors of the paired per-sample difference, and five times what it gained
        over its last five epochs (a class still climbing fast is kept)."""
        if not self._tried or self.features in self._tried:
            return False
        run = sum(1 for h in self.history if h.get("features") == self.features)
        if run < max(10, epochs // 6) or getattr(self, "_last_test_per_pattern", None) is None:
            return False
        best = max(self._tried.values(), key=lambda v: v["loglik"])
        if best["per_pattern"] is None:
            return False
        mean, se = self._paired(best["per_pattern"], self._last_test_per_pattern)
        mine = [h["test_loglik"] for h in self.history if h.get("features") == self.features]
        climb = mine[-1] - mine[-6] if len(mine) >= 6 else math.inf
        if mean > max(RACE_GAP, 10 * se, 5 * climb):
            log.info("decoder class H=%d trails by %.3f nats after %d epochs: dropped", self.features,
                     mean, run)
            self.metrics.setdefault("decoder_dropped", {})[str(self.features)] = run
            return True
        return False

    def _preferred(self) -> int:
        """The simplest decoder class unless a richer one is better on the held-out rows by
        more than :data:`CHOICE_SE` standard errors of the paired per-sample difference (and
        :data:`CHOICE_MIN_GAIN` nats): the richer class must earn its curvature."""
        order = sorted(self._tried)  # H = 0 (rank K) first
        best = order[0]
        for h in order[1:]:
            a, b = self._tried[best], self._tried[h]
            if a["per_pattern"] is None or b["per_pattern"] is None:
                best = h if b["loglik"] > a["loglik"] else best
                continue
            if self._beats(b["per_pattern"], a["per_pattern"]):
                best = h
        return best

    def _beats(self, richer: np.ndarray, simpler: np.ndarray) -> bool:
        """Whether per-pattern held-out log-likelihoods ``richer`` beat ``simpler`` by more
        than :data:`CHOICE_SE` standard errors of the paired difference and
        :data:`CHOICE_MIN_GAIN` nats/sample."""
        mean, se = self._paired(richer, simpler)
        return mean > max(CHOICE_SE * se, CHOICE_MIN_GAIN)

    def _choose(self) -> None:
        """Keep the simplest decoder class that no richer one beats on the held-out rows
        (:meth:`_preferred`); the strict Hopfield class, when raced, is the simplest of all."""
        self._keep_candidate()
        strict, self._strict = self._strict, None
        if not self._tried:
            return
        h = self._preferred()
        won = self._tried[h]
        choice = {str(f): v["loglik"] for f, v in self._tried.items()}
        if strict is not None:
            choice[STRICT_KEY] = strict["loglik"]
            if won["per_pattern"] is None or not self._beats(won["per_pattern"], strict["per_pattern"]):
                self.model, self.best_test_loglik = strict["model"], strict["loglik"]
                self.metrics["best_test_loglik"] = strict["loglik"]
                self._set_strict()
                self.metrics.update(decoder_choice=choice, decoder_kept=STRICT_KEY)
                log.info("strict Hopfield class kept (held-out log p: %s)", choice)
                return
        self.model, self.optimizer, self.features = won["model"], won["optimizer"], h
        self.lattice, self.model.grid, self._best = won["lattice"], won["grid"], won["best"]
        self.best_test_loglik = won["loglik"]
        self.metrics.update(decoder_choice=choice, decoder_kept=str(h))
        self.config = dataclasses.replace(self.config, features=h)
        self._candidates, self._tried = [h], {}
        log.info("decoder class H=%s kept (held-out log p: %s)", h, self.metrics["decoder_choice"])
