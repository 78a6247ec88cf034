"""The strict generalized Hopfield model, fitted by exact maximum likelihood.

    p(x) = exp(b·x + ½|Wᵀx|²) / Z,   x ∈ {0,1}^N ("binary") or s ∈ {±1}^N ("spin"),

with P ≤ 3 attractive patterns (the columns of W, N × P). The Hubbard-Stratonovich transform
makes Z a P-dimensional integral,

    Z = ∫ N(z; 0, I_P) Π_i g(b_i + W_i·z) dz,   g(φ) = 1 + e^φ (binary) or 2 cosh φ (spin),

computed on a uniform lattice over the box that holds the mass of the integrand (found by
shrinking a wide box onto the nodes that carry mass; every mode stays inside): on real data
the mass sits far from the origin (|z| ≈ 11 on the salamander retina), where a grid centred
on the prior would see nothing. All weights are positive. The data enter only through their
mean m and second moment C, so a maximum-likelihood step costs one pass over the G nodes:
the objective is b·m + ½ tr(WᵀCW) - log Z, maximised with Adam (autograd through log Z)
on a lattice that follows the mass, then finished with L-BFGS on one fixed fine lattice.
The model is then exactly a mixture of product Bernoullis over the nodes (tilted weights),
which gives its exact statistics; :meth:`StrictHopfield.hopfield` hands it to
:class:`~napari_vaemf.core.baselines.HopfieldModel` for block-Gibbs sampling.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from napari_vaemf.core.encoding import detect_encoding
from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.optim import lbfgs
from napari_vaemf.core.progress import Job, Progress

__all__ = ["StrictHopfield", "fit_strict_hopfield", "strict_hopfield_job", "hs_box", "hs_grid", "hs_log_partition"]

log = logging.getLogger(__name__)

MAX_PATTERNS = 3  # the tensor grid has nodes**P points
# Adam's lattice nodes per axis for P patterns (the L-BFGS polish and the model's log Z use
# twice as many). P = 1 and 2 are cheap, so theirs are fine enough for an ordered magnet's two
# far-apart states (Curie-Weiss βJ = 2, N = 200: 20 nodes stopped 0.017 nats/sample short of
# the maximum likelihood, 64 reach it); at P = 3 the polish lattice (2 * nodes)^3 is the fit's
# cost: 16 rather than 20 takes it from 64,000 to 32,768 nodes, 4.8x faster on Hopfield
# N = 100 for the same held-out log-likelihood to 1e-5 nats (benchmarks/bench_theory_speed.py)
FIT_NODES = {1: 64, 2: 32, 3: 16}
# Adam steps before the L-BFGS polish: 500 end at the same maximum as 2000 (held-out to 2e-6
# nats on the retina P = 1, 2, Hopfield N = 100 P = 3 and Curie-Weiss N = 200 at βJ 0.8, 1.2, 2)
# in a third to a quarter of the time: the polish does the last of the climb
STEPS = 500


def _log_g(phi, spin: bool, xp=np):
    """log g(φ): softplus for {0,1} units, log 2cosh for spins (stable for large |φ|)."""
    if xp is np:
        a = np.abs(phi)
        return (a + np.log1p(np.exp(-2 * a))) if spin else np.logaddexp(0.0, phi)
    import torch

    return (phi.abs() + torch.log1p(torch.exp(-2 * phi.abs()))) if spin else torch.nn.functional.softplus(phi)


_CUT = 40.0  # nodes whose log-integrand is this far below the top carry < e^-40 of the mass


def _box_grid(lo: np.ndarray, hi: np.ndarray, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (G, P) of a uniform lattice on the box [lo, hi] and their log weights: cell
    volume × prior density N(z; 0, I) (all positive)."""
    axes = [np.linspace(a, c, nodes) for a, c in zip(lo, hi)]
    z = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(lo))
    log_cell = float(np.sum(np.log((hi - lo) / (nodes - 1))))
    return z, log_cell - 0.5 * np.sum(z**2, 1) - 0.5 * len(lo) * math.log(2 * math.pi)


def _next_box(z: np.ndarray, lf: np.ndarray, lo: np.ndarray, hi: np.ndarray,
              nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """The bounding box of the nodes that carry mass (log-integrand within _CUT of the top),
    widened by two cells: every mode stays inside, and the lattice follows the mass."""
    keep = z[lf > lf.max() - _CUT]
    cell = (hi - lo) / (nodes - 1)
    return keep.min(0) - 2 * cell, keep.max(0) + 2 * cell


def _at_edge(z: np.ndarray, lf: np.ndarray, lo: np.ndarray, hi: np.ndarray, nodes: int) -> bool:
    """Whether nodes that carry mass (log-integrand within _CUT of the top) lie in the outer
    cell of the box [lo, hi] (or the integrand is not finite): the mass may reach past it."""
    if not np.isfinite(lf).all():
        return True
    keep = z[lf > lf.max() - _CUT]
    cell = (hi - lo) / (nodes - 1)
    return bool((keep.min(0) < lo + cell).any() or (keep.max(0) > hi - cell).any())


def hs_box(b: np.ndarray, w: np.ndarray, spin: bool, nodes: int = 32,
           rounds: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The box (lo, hi) that holds the mass of N(z) Π_i g(b_i + W_i·z): a wide box at the
    origin (± 6 prior standard deviations plus the largest field the patterns can make)
    shrunk ``rounds`` times to the bounding box of the nodes that carry mass. Every mode of
    the integrand (the retrieval states of a Hopfield network) stays inside."""
    p = w.shape[1]
    reach = 6.0 + float(np.sqrt(np.sum(w**2, 0)).max()) * math.sqrt(b.size)
    lo, hi = -np.full(p, reach), np.full(p, reach)
    for _ in range(rounds):
        z, log_w = _box_grid(lo, hi, nodes)
        lo, hi = _next_box(z, log_w + _log_g(b[None, :] + z @ w.T, spin).sum(1), lo, hi, nodes)
    return lo, hi


def hs_grid(b: np.ndarray, w: np.ndarray, spin: bool, nodes: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(nodes z (G, P), log weights (G,)) of a uniform lattice on the box that holds the
    mass of the HS integrand (:func:`hs_box`), so that
    log Z = logsumexp_g[log_w_g + Σ_i log g(b_i + W_i·z_g)]. The integrand is smooth and
    negligible at the box's edges, so the lattice sum converges exponentially in ``nodes``."""
    return _box_grid(*hs_box(b, w, spin, nodes), nodes)


def hs_log_partition(b: np.ndarray, w: np.ndarray, spin: bool, nodes: int = 32) -> float:
    """log Z of the strict model on the centred lattice (:func:`hs_grid`)."""
    z, log_w = hs_grid(b, w, spin, nodes)
    lf = log_w + _log_g(b[None, :] + z @ w.T, spin).sum(1)
    top = lf.max()
    return float(top + np.log(np.exp(lf - top).sum()))


def _polish(b: np.ndarray, w: np.ndarray, m: np.ndarray, c: np.ndarray, spin: bool,
            nodes: int, iterations: int = 300) -> tuple[np.ndarray, np.ndarray, float]:
    """Finish Adam's optimum with L-BFGS on one fixed lattice of ``nodes`` per axis over the
    mass's box widened by a quarter on each side (the last steps are small, so the mass stays
    inside and every line-search point sees the same, fine lattice). Adam's cosine-decayed
    steps stop short of the optimum by ~1e-3 nats on the salamander retina; L-BFGS closes it.
    The polished parameters are kept only if their training log-likelihood, with log Z on a
    freshly centred lattice, is higher. Returns (b, W, that log Z)."""
    import torch

    lo, hi = hs_box(b, w, spin, nodes)
    pad = 0.25 * (hi - lo)
    z_np, lw_np = _box_grid(lo - pad, hi + pad, nodes)
    z, log_w = torch.tensor(z_np), torch.tensor(lw_np)
    mt, ct = torch.tensor(m), torch.tensor(c)
    n, p = w.shape

    def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        bt, wt = t[:n], t[n:].view(n, p)
        lf = log_w + _log_g(bt[None, :] + z @ wt.T, spin, xp=torch).sum(1)
        loss = -(mt @ bt + 0.5 * torch.trace(wt.T @ ct @ wt) - torch.logsumexp(lf, 0))
        loss.backward()
        return float(loss.detach()), t.grad.numpy().copy()

    res = lbfgs(loss_and_grad, np.concatenate([b, w.ravel()]), maxiter=iterations, maxcor=50,
                gtol=1e-9, ftol=1e-15)
    b2, w2 = res.x[:n].copy(), res.x[n:].reshape(n, p).copy()
    z_before = hs_log_partition(b, w, spin, nodes)
    scale = max(1.0, float(np.abs(b).max()), float(np.abs(w).max()))
    if not (np.all(np.isfinite(b2)) and np.all(np.isfinite(w2))) or max(
            float(np.abs(b2).max()), float(np.abs(w2).max())) > 10 * scale:
        # a run-away line search (few rows: the likelihood can keep rising towards infinite
        # couplings); the fixed lattice cannot follow it, so Adam's optimum is kept
        return b, w, z_before
    z_after = hs_log_partition(b2, w2, spin, nodes)
    before = float(m @ b + 0.5 * np.trace(w.T @ c @ w) - z_before)
    after = float(m @ b2 + 0.5 * np.trace(w2.T @ c @ w2) - z_after)
    log.info("strict Hopfield polish: train log-lik %.5f -> %.5f", before, after)
    return (b2, w2, z_after) if after > before else (b, w, z_before)


@dataclass
class StrictHopfield:
    """A fitted strict generalized Hopfield model (attractive patterns only)."""

    b: np.ndarray  # (N,) fields
    w: np.ndarray  # (N, P) patterns in HS units: J = W Wᵀ (the HopfieldModel's ξ is √N W)
    encoding: str  # "binary" or "spin"
    log_z: float  # log partition function (centred lattice, :func:`hs_grid`)
    nodes: int = 32  # grid nodes per axis used for log Z

    @classmethod
    def of_patterns(cls, patterns: np.ndarray, beta: float, nodes: int = 48) -> "StrictHopfield":
        """The true Hopfield model of :func:`~napari_vaemf.core.samplers.sample_hopfield`,
        p(s) ∝ exp(β/(2N) Σ_μ (ξ_μ·s)²) on ±1 spins with zero field, in this class's form
        (W = ξ √(β/N), b = 0) with log Z on the centred lattice of ``nodes`` per axis."""
        xi = np.asarray(patterns, np.float64)
        if xi.ndim != 2 or not np.isfinite(xi).all() or not math.isfinite(beta) or beta < 0:
            raise ParameterError(f"patterns must be a finite (N, P) array and beta >= 0, got shape "
                                 f"{xi.shape} and beta {beta}")
        n = xi.shape[0]
        w = xi * math.sqrt(beta / n)
        b = np.zeros(n)
        return cls(b=b, w=w, encoding="spin", log_z=hs_log_partition(b, w, True, nodes), nodes=nodes)

    @property
    def n_parameters(self) -> int:
        return int(self.b.size + self.w.size)

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """Exact log p(x) per row (nats)."""
        v = self._values(x)
        return v @ self.b + 0.5 * np.sum((v @ self.w) ** 2, axis=1) - self.log_z

    def loglik(self, x: np.ndarray) -> float:
        return float(self.log_prob(x).mean())

    def _values(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.b.size:
            raise InputError(None, f"model has {self.b.size} units, data have shape {x.shape}")
        return x if self.encoding == "spin" else (x > 0).astype(np.float64)

    def mixture(self) -> tuple[np.ndarray, np.ndarray]:
        """(weights (G,), P(unit on | node) (G, N)): the model as a mixture of product
        Bernoullis over the grid nodes (spins: P(s_i = +1))."""
        spin = self.encoding == "spin"
        z, log_w = hs_grid(self.b, self.w, spin, self.nodes)
        phi = self.b[None, :] + z @ self.w.T
        lf = log_w + _log_g(phi, spin).sum(1)
        r = np.exp(lf - lf.max())
        return r / r.sum(), 1.0 / (1.0 + np.exp(-(2 * phi if spin else phi)))

    def hopfield(self):
        """The same model as a :class:`~napari_vaemf.core.baselines.HopfieldModel` (for
        block-Gibbs sampling), its log Z already known."""
        from napari_vaemf.core.baselines._models import HopfieldModel

        n = self.b.size
        model = HopfieldModel(h=self.b.copy(), xi=self.w * math.sqrt(n), encoding=self.encoding)
        model._log_z = self.log_z
        return model

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` exact samples: a node by its tilted weight, then independent units."""
        rng = np.random.default_rng(seed)
        weights, prob = self.mixture()
        idx = rng.choice(len(weights), size=n, p=weights)
        on = rng.random((n, self.b.size)) < prob[idx]
        return (2 * on.astype(np.int8) - 1) if self.encoding == "spin" else on.astype(np.int8)


def fit_strict_hopfield(x: np.ndarray, patterns: int, encoding: str | None = None, *,
                        steps: int = STEPS, lr: float = 0.05, nodes: int | None = None,
                        start: tuple[np.ndarray, np.ndarray] | None = None) -> StrictHopfield:
    """:func:`strict_hopfield_job` run to its end (same arguments), without a progress bar."""
    from napari_vaemf.core.progress import drive

    return drive(strict_hopfield_job(x, patterns, encoding, steps=steps, lr=lr, nodes=nodes,
                                     start=start), bar=False)


def strict_hopfield_job(x: np.ndarray, patterns: int, encoding: str | None = None, *,
                        steps: int = STEPS, lr: float = 0.05, nodes: int | None = None,
                        start: tuple[np.ndarray, np.ndarray] | None = None) -> Job[StrictHopfield]:
    """Maximum-likelihood strict generalized Hopfield model with ``patterns`` (1..3)
    attractive patterns for configurations ``x`` (T, N) in {0,1} or ±1: ``steps`` Adam steps
    (cosine-decayed from ``lr``) on the exact objective, log Z on a ``nodes``-per-axis
    lattice that follows the mass every step (``nodes`` per axis, default
    :data:`FIT_NODES` [patterns]); the best parameters are then polished by L-BFGS on a fixed
    lattice twice as fine (:func:`_polish`) and their log Z is recomputed on a freshly
    centred one. ``start``: (b, W) to begin from instead of the
    independent model and the covariance's top eigenvectors (restarts). (A quasi-Newton line search is no good here:
    far from the current lattice log Z would be underestimated.) Yields Progress("strict",
    Adam step, steps + 1, {"loglik": training log-likelihood}) a few times a second, the last
    step being the polish; returns the :class:`StrictHopfield`."""
    import time

    import torch

    from napari_vaemf.core.optim import Adam

    if not 1 <= patterns <= MAX_PATTERNS:
        raise ParameterError(f"the strict Hopfield fit takes 1 to {MAX_PATTERNS} patterns, got {patterns}")
    nodes = FIT_NODES[patterns] if nodes is None else int(nodes)
    x = np.asarray(x)
    encoding = encoding or detect_encoding(x)
    spin = encoding == "spin"
    v = x.astype(np.float64) if spin else (x > 0).astype(np.float64)
    t, n = v.shape
    m = v.mean(0)
    c = v.T @ v / t
    # start: the independent model, and the top eigenvectors of the covariance, small
    if spin:
        b0 = np.arctanh(np.clip(m, -0.999, 0.999))
    else:
        q = np.clip(m, 0.5 / t, 1 - 0.5 / t)
        b0 = np.log(q / (1 - q))
    evals, evecs = np.linalg.eigh(np.cov(v.T) + 1e-9 * np.eye(n))
    w0 = evecs[:, ::-1][:, :patterns] * 0.5  # |W_μ| = 0.5: couplings ~0.25/N to start
    if start is not None:  # (b, W) given by the caller
        b0, w0 = (np.asarray(a, np.float64).copy() for a in start)
    bt = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    mt, ct = torch.tensor(m), torch.tensor(c)
    opt = Adam([bt, wt], lr=lr)
    lo, hi = hs_box(b0, w0, spin, nodes)
    best = (-math.inf, b0, w0)
    last = time.perf_counter()
    for step in range(steps):
        for group in opt.param_groups:  # cosine decay: large steps first, fine ones last
            group["lr"] = lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        # the lattice follows the integrand's mass every step (a lattice that lags behind
        # would underestimate log Z and let the patterns run away)
        z_np, lw_np = _box_grid(lo, hi, nodes)
        z, log_w = torch.tensor(z_np), torch.tensor(lw_np)
        lf = log_w + _log_g(bt[None, :] + z @ wt.T, spin, xp=torch).sum(1)
        if _at_edge(z_np, lf.detach().numpy(), lo, hi, nodes):
            # the mass moved past the box in one step (an ordered magnet's two states run
            # outwards fast): centre a box on these parameters before their value is used
            lo, hi = hs_box(bt.detach().numpy(), wt.detach().numpy(), spin, nodes)
            z_np, lw_np = _box_grid(lo, hi, nodes)
            z, log_w = torch.tensor(z_np), torch.tensor(lw_np)
            lf = log_w + _log_g(bt[None, :] + z @ wt.T, spin, xp=torch).sum(1)
        ll = mt @ bt + 0.5 * torch.trace(wt.T @ ct @ wt) - torch.logsumexp(lf, 0)
        value = float(ll.detach())
        if value > best[0]:
            best = (value, bt.detach().numpy().copy(), wt.detach().numpy().copy())
        opt.zero_grad()
        (-ll).backward()
        opt.step()
        lo, hi = _next_box(z_np, lf.detach().numpy(), lo, hi, nodes)
        if time.perf_counter() - last >= 0.2:
            last = time.perf_counter()
            yield Progress("strict", step + 1, steps + 1, {"loglik": best[0]})
    _, b_fit, w_fit = best
    yield Progress("strict", steps, steps + 1, {"loglik": best[0]})
    b_fit, w_fit, log_z = _polish(b_fit, w_fit, m, c, spin, 2 * nodes)
    model = StrictHopfield(b_fit, w_fit, encoding, log_z, nodes=2 * nodes)
    log.info("strict Hopfield P=%d: train log-lik %.4f nats/sample", patterns, model.loglik(x))
    return model
