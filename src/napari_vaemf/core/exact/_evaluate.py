"""The exact numbers an :class:`~napari_vaemf.core.exact.fit.ExactFit` reports: held-out and
per-sample log-likelihoods, the grid check, the rate, posteriors, statistics, samples, and the
moment-matching step of the fields (a mixin; it uses the fit's model, grids and data)."""
from __future__ import annotations

import logging
import math

import numpy as np
import torch

from napari_vaemf.core.exact._data import as_01, distinct_patterns
from napari_vaemf.core.exact._grid import Grid
from napari_vaemf.core.exact._schedule import stratified
from napari_vaemf.core.stats import PopulationStats

__all__ = ["ExactFitEval"]

log = logging.getLogger(__name__)


class ExactFitEval:
    """Mixin of :class:`ExactFit`: everything it computes once trained."""

    def grid_delta(self, grid: Grid | None = None) -> dict:
        """How far the evaluation grid (default) is from the continuous model, on (a stratified
        subset of) the held-out patterns: log p on 2n - 1 nodes per axis minus log p on n,
        ``{"mean": signed mean, "abs": mean absolute value, "check": "refine"}``, nats/sample.
        Training on shifted lattices makes the per-pattern errors unbiased, so ``mean`` (what
        the average held-out log p moves by) is typically far below ``abs``. When 2n - 1 per
        axis would exceed ``config.max_nodes`` the check compares the grid with its coarsening
        to (n + 1) / 2 instead (``"check": "coarsen"``): the error of the coarser grid, an
        upper bound on the finer one's once the rule converges. The strict Hopfield class
        (``config.measure = "hs"``, posteriors of unit width on a lattice of spacing <= 1)
        compares its lattice with the same lattice moved by half a cell (``"check": "shift"``):
        the two rules agree to their error."""
        grid = grid or self.model.grid
        idx, w = self._check
        xp = (self._test if len(self._test) else self._train)[idx]
        finer, check = grid.refined(), "refine"
        if self.config.measure == "hs":  # the lattice moved by half a cell: the same cost
            finer, check = grid.shifted(np.zeros(grid.latents)), "shift"
        elif finer.size > self.config.max_nodes and grid.n >= 5:
            grid, finer, check = grid.with_nodes((grid.n + 1) // 2), grid, "coarsen"
        d = self.model.log_likelihood(xp, finer) - self.model.log_likelihood(xp, grid)
        return {"mean": float(w @ d / w.sum()), "abs": float(w @ np.abs(d) / w.sum()), "check": check}

    def test_loglik(self, dtype: torch.dtype = torch.float32, grid=None) -> float:
        """Held-out log p per sample (nats) on the evaluation grid (or ``grid``), NaN without
        held-out rows (summed in float32 by default: this is the early-stopping monitor)."""
        if not len(self._test):
            return math.nan
        ll = self.model.log_likelihood(self._test, grid, dtype=dtype)
        self._last_test_per_pattern = ll  # what the decoder-class race compares
        return float(self.test_counts @ ll / self.test_counts.sum())

    def log_likelihood(self, x: np.ndarray) -> np.ndarray:
        """Exact log p(x) of the grid model for each row of ``x`` (data encoding), (T,) nats.
        (:meth:`QuadratureModel.refined_log_likelihood` refines rows one by one towards the
        continuous model instead.)"""
        pat, _, inv = distinct_patterns(as_01(x, self.encoding))
        return self.model.log_likelihood(torch.as_tensor(pat, dtype=torch.float32))[inv]

    def evaluate(self, x: np.ndarray | None = None) -> dict:
        """Exact numbers of the grid model in nats/sample. Without ``x``: ``loglik_nats`` and
        ``rate_nats`` (I(X;Z): KL of the node posterior from the prior weights) on the
        training split, ``test_loglik_nats`` on the held-out split, the grid (``nodes``,
        ``nodes_per_axis``, ``grid_delta_nats``, ``grid_delta_abs_nats``, ``grid_prior_mass``).
        With ``x``: ``loglik_nats`` and ``rate_nats`` on ``x``."""
        if x is not None:
            pat, counts, _ = distinct_patterns(as_01(x, self.encoding))
            xp = torch.as_tensor(pat, dtype=torch.float32)
            ll, rate = self.model.loglik_and_rate(xp, counts)
            out = {"loglik_nats": float(counts @ ll / counts.sum()), "rate_nats": rate,
                   "n": int(counts.sum())}
            out.update(self._bound_names(out["loglik_nats"], out["loglik_nats"], out["rate_nats"], pat, counts))
            out.update(n_train=out["n"], n_test=out["n"], test_loglik_nats=out["loglik_nats"])
            return out
        c = self.train_counts
        ll, rate = self.model.loglik_and_rate(self._train, c)
        d = self.grid_delta()
        out = {"loglik_nats": float(c @ ll / c.sum()), "rate_nats": rate,
               "test_loglik_nats": self.test_loglik(torch.float64), "nodes": self.grid.size,
               "nodes_per_axis": self.grid.n, "grid_delta_nats": d["mean"],
               "grid_delta_abs_nats": d["abs"], "grid_check": d["check"],
               "grid_prior_mass": self.grid.prior_mass,
               "n_train": int(c.sum()), "n_test": int(self.test_counts.sum()), "distinct_train": len(c)}
        tpat, tc = (self._test, self.test_counts) if len(self._test) else (self._train, c)
        out.update(self._bound_names(out["loglik_nats"], out["test_loglik_nats"], out["rate_nats"],
                                     tpat, tc))
        self.metrics.update(out)
        return out

    def _bound_names(self, ll: float, test_ll: float, rate: float, pat, counts) -> dict:
        """The VAE's names for the same numbers: with the exact posterior the ELBO is log p
        itself, the distortion is rate - log p, and the "test log-likelihood" is exact
        (``iwae_k`` None). ``rate_per_latent_nats``: per latent, KL(N(m_k, s_k²) || N(0, 1))
        of each row's posterior mean and sd along z_k, averaged (a Gaussian summary; their sum
        is not I(X; Z), which ``rate_nats`` is)."""
        return {"elbo_nats": ll, "test_elbo_nats": test_ll, "distortion_nats": rate - ll,
                "iwae_k": None, "method": "exact",
                "rate_per_latent_nats": self._rate_per_latent(pat, counts).tolist()}

    def _rate_per_latent(self, pat, counts) -> np.ndarray:
        xp = pat if isinstance(pat, torch.Tensor) else torch.as_tensor(pat, dtype=torch.float32)
        if not len(xp):
            return np.zeros(self.config.latents)
        m, sd = self.model.posterior_moments(xp)
        v = np.maximum(sd**2, 1e-12)
        kl = 0.5 * (m**2 + v - 1 - np.log(v))
        c = np.asarray(counts, np.float64)
        return c @ kl / c.sum()

    def rate_per_latent(self, max_rows: int = 2000) -> np.ndarray:
        """Per-latent rate (see :meth:`_bound_names`) over the held-out rows (training rows when
        none are held out), (K,) nats; ``max_rows`` bounds the distinct patterns used."""
        pat, c = (self._test, self.test_counts) if len(self._test) else (self._train, self.train_counts)
        idx, w = stratified(c, max_rows, np.random.default_rng(self.config.seed + 9))
        return self._rate_per_latent(pat[idx], w)

    def match_rates(self, iterations: int = 20, budget: float | None = None) -> np.ndarray:
        """Shift the fields b so the model's exact rates (on the evaluation grid) equal the
        training rates; returns the shift of the logits (N,) that was applied.

        Maximum likelihood matches the data's rates to E_data E[σ(ℓ_i(z)) | x] (the aggregate
        posterior's), not to the model's own Σ_g w_g σ(ℓ_gi): the two differ by as much as the
        aggregate posterior differs from the prior. This moment-matching step (a 1-D Newton
        solve per unit; units are independent given the nodes) trades a little likelihood for
        rates that match. The strict Hopfield class (``config.measure = "hs"``) is left as it
        is: maximum likelihood already matched its rates. With ``budget`` (nats/sample) the step is taken only as far as it
        costs at most that much held-out log-likelihood (training rows when none are held
        out): the full shift, else half, a quarter, else none. A bimodal model whose states
        carry slightly unequal prior mass (an ordered magnet) would otherwise move both states'
        fields to fix a rate that the masses, not the fields, got wrong.
        """
        if self.config.measure == "hs":
            # the strict Hopfield class is an exponential family fitted by maximum likelihood:
            # its rates already equal the training rates, and a shift of b would also move
            # its node weights (they depend on the fields)
            self.metrics.update(rates_matched=True, rate_match_fraction=0.0, rate_match_cost_nats=0.0)
            return np.zeros(self.n_units)
        c = self.train_counts
        target = np.clip(c @ self._train.double().numpy() / c.sum(), 1e-6, 1 - 1e-6)
        w = self.model.node_weights()
        with torch.no_grad():
            logits = self.model.logits().double().numpy()
        shift = np.zeros(self.n_units)
        for _ in range(iterations):
            p = 1 / (1 + np.exp(-(logits + shift)))
            step = (w @ p - target) / np.maximum(w @ (p * (1 - p)), 1e-12)
            shift -= np.clip(step, -2.0, 2.0)
            if np.abs(step).max() < 1e-12:
                break
        scale = 2.0 if self.encoding == "spin" else 1.0  # spins: logits 2φ
        bias = self.model.decoder.readout.bias
        before = self._judge_loglik() if budget is not None else 0.0
        applied, cost = 0.0, 0.0
        for frac in ((1.0, 0.5, 0.25) if budget is not None else (1.0,)):
            with torch.no_grad():
                bias += torch.as_tensor(frac * shift / scale, dtype=torch.float32)
            cost = before - self._judge_loglik() if budget is not None else 0.0
            if budget is None or cost <= budget:
                applied = frac
                break
            with torch.no_grad():
                bias -= torch.as_tensor(frac * shift / scale, dtype=torch.float32)
        self.metrics["rates_matched"] = applied == 1.0
        self.metrics["rate_match_fraction"] = applied
        self.metrics["rate_match_cost_nats"] = float(cost) if applied else 0.0
        if applied < 1.0:
            log.info("rates matched %.0f%% of the way: the full shift costs more than %.3g "
                     "nats/sample of held-out log-likelihood", 100 * applied, budget)
        log.info("fields shifted by up to %.3g to match the training rates",
                 applied * np.abs(shift).max())
        return applied * shift

    def _judge_loglik(self) -> float:
        """Mean held-out log p per sample in float64 (training rows when none are held out)."""
        pat, c = (self._test, self.test_counts) if len(self._test) else (self._train, self.train_counts)
        ll = self.model.log_likelihood(pat, dtype=torch.float64)
        return float(c @ ll / c.sum())

    def latents(self, x: np.ndarray | None = None, sd: bool = False):
        """Posterior means E[z|x] (T, K) float32 for each row (default: all the fit's data);
        with ``sd`` also the posterior standard deviations, ``(means, sds)``."""
        x01 = self.x01 if x is None else as_01(x, self.encoding)
        pat, _, inv = distinct_patterns(x01)
        m, s = self.model.posterior_moments(torch.as_tensor(pat, dtype=torch.float32))
        m, s = m[inv].astype(np.float32), s[inv].astype(np.float32)
        return (m, s) if sd else m

    def posterior(self, x: np.ndarray) -> np.ndarray:
        """p(z_g | x) over the grid's nodes (:attr:`grid`) for each row of ``x``, (T, G)."""
        pat, _, inv = distinct_patterns(as_01(x, self.encoding))
        return self.model.posterior(torch.as_tensor(pat, dtype=torch.float32))[inv]

    def stats(self, triplets: np.ndarray | None = None) -> PopulationStats:
        """Exact population statistics of the fitted grid model ({0,1} convention)."""
        return self.model.stats(triplets)

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` exact draws from the fitted grid model, int8 in the data's encoding."""
        return self.model.sample(n, self.config.seed + 5 if seed is None else int(seed))

    def fields(self, z: np.ndarray) -> np.ndarray:
        """Decoder fields φ(z) for latents (..., K): (..., N)."""
        with torch.no_grad():
            return self.model.fields(z).numpy()

    def summary(self):
        """Posterior-mean latents of every row, patterns W (N, H), fields b, config and metrics,
        as the VAE's :class:`~napari_vaemf.core.vae._data.FitSummary` (what writers such as
        ``save_fit_to_nwb`` take)."""
        from napari_vaemf.core.vae._data import FitSummary

        return FitSummary(latents=self.latents().astype(np.float32),
                          patterns=self.model.W.detach().numpy().copy(),
                          fields=self.model.b.detach().numpy().copy(), encoding=self.encoding,
                          config=self.config.to_dict(), metrics=dict(self.metrics))
