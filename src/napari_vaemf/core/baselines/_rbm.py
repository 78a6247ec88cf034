"""The RBM baseline: exact maximum likelihood up to 16 hidden units, scikit-learn beyond.

A binary RBM p(v, h) ∝ exp(b·v + c·h + hᵀWv) with H hidden units has the marginal
log p(v) = b·v + Σ_j softplus(c_j + W_j·v) − log Z, and log Z, its gradient and exact samples
come from the 2^H hidden states (p(h) ∝ exp(c·h + Σ_i softplus(b_i + (hW)_i)), then v | h
independent). Up to :data:`MAX_EXACT_HIDDEN` hidden units :func:`fit_rbm` therefore
maximizes the likelihood itself (L-BFGS on the exact gradient) and samples exactly; beyond,
it trains scikit-learn's BernoulliRBM (persistent contrastive divergence, optional extra
``rbm``) and samples by Gibbs chains.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
from scipy.special import expit, logsumexp, softmax

from napari_vaemf.core.baselines._models import (
    _check_x,
    detect_encoding,
    from_binary,
    to_binary,
)
from napari_vaemf.core.exact._data import distinct_patterns
from napari_vaemf.core.optim import lbfgs

__all__ = ["RBMModel", "fit_rbm"]

MAX_EXACT_HIDDEN = 16  # exact log Z, fit and samples by summing over hidden states up to this many hidden units
EXACT_BUDGET = 2**22  # most visible fields (2^H hidden states x N units) the exact fit holds at once (~34 MB each)
PRIOR_SD = 10.0  # sd of the broad Gaussian prior on every weight and bias of the exact fit (keeps a never-firing unit's bias finite)
MAX_ITER = 1000  # L-BFGS iterations of the exact fit (H = 16 on the retina: 45 s, within 2e-4 nats of 3000)
STARTS = 3  # random starts of the exact fit up to SMALL_HIDDEN hidden units; the best likelihood is kept
SMALL_HIDDEN = 8  # small RBMs have separate optima (H = 4, retina: training log-lik -6.6892 or -6.6807 by seed)


def _exact_ok(nh: int, n: int) -> bool:
    """Whether an RBM with ``nh`` hidden and ``n`` visible units is fitted and sampled exactly."""
    return nh <= MAX_EXACT_HIDDEN and 2**nh * n <= EXACT_BUDGET


def _hidden_states(nh: int) -> np.ndarray:
    """All 2^H hidden configurations, (2^H, H) float64."""
    return np.array(list(product([0.0, 1.0], repeat=nh))).reshape(-1, nh)


def _import_rbm() -> Any:
    try:
        from sklearn.neural_network import BernoulliRBM
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the RBM baseline needs scikit-learn: pip install 'napari-vaemf[rbm]'"
        ) from err
    return BernoulliRBM


@dataclass
class RBMModel:
    """A fitted binary RBM: visible bias b (N,), hidden bias c (H,), weights W (H, N)."""

    b: np.ndarray  # (N,) visible biases
    c: np.ndarray  # (H,) hidden biases
    W: np.ndarray  # (H, N) weights
    encoding: str = "binary"  # encoding of samples
    gibbs_steps: int = 500  # Gibbs steps before a sample is kept (one chain per sample), beyond MAX_EXACT_HIDDEN
    method: str = "exact"  # how it was trained: "exact" maximum likelihood or "pcd" (scikit-learn)

    @property
    def n_parameters(self) -> int:
        return int(self.W.size + self.b.size + self.c.size)

    def _hidden_log_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """(the 2^H hidden states, their unnormalized log-probabilities under the model)."""
        hs = _hidden_states(self.c.size)
        return hs, hs @ self.c + np.logaddexp(0, hs @ self.W + self.b).sum(1)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` configurations: exact (h from its 2^H marginal, then v | h) where
        :func:`_exact_ok`, else ``gibbs_steps`` of block Gibbs per chain."""
        rng = np.random.default_rng(seed)
        if _exact_ok(self.c.size, self.b.size):
            hs, lw = self._hidden_log_weights()
            h = hs[rng.choice(len(hs), size=n, p=softmax(lw))]
            v = rng.random((n, self.b.size)) < expit(h @ self.W + self.b)
            return from_binary(v, self.encoding)
        v = (rng.random((n, self.b.size)) < expit(self.b)).astype(np.float64)
        for _ in range(self.gibbs_steps):
            hid = (rng.random((n, self.c.size)) < expit(v @ self.W.T + self.c)).astype(float)
            v = (rng.random((n, self.b.size)) < expit(hid @ self.W + self.b)).astype(float)
        return from_binary(v, self.encoding)

    def log_partition(self) -> float | None:
        """Exact log Z by summing over the 2^H hidden states (None when H is too large)."""
        if self.c.size > MAX_EXACT_HIDDEN:
            return None
        return float(logsumexp(self._hidden_log_weights()[1]))

    def log_prob(self, x: np.ndarray) -> np.ndarray | None:
        log_z = self.log_partition()
        if log_z is None:
            return None
        v = _check_x(x, self.b.size)
        return v @ self.b + np.logaddexp(0, v @ self.W.T + self.c).sum(1) - log_z

    def loglik(self, x: np.ndarray) -> float | None:
        lp = self.log_prob(x)
        return None if lp is None else float(lp.mean())


def fit_rbm(
    x: np.ndarray,
    n_hidden: int = 8,
    n_iter: int = 30,
    learning_rate: float = 0.05,
    batch_size: int = 100,
    seed: int = 0,
    method: str = "auto",
) -> RBMModel:
    """Fit a binary RBM with ``n_hidden`` hidden units on ``x`` (T, N; binary or ±1).

    ``method``: "exact" maximizes the likelihood (:func:`_fit_exact`); "pcd" trains
    scikit-learn's BernoulliRBM (``n_iter`` epochs, ``learning_rate``, ``batch_size``);
    "auto" is exact up to :data:`MAX_EXACT_HIDDEN` hidden units and :data:`EXACT_BUDGET`
    visible fields (2^H × N), pcd beyond."""
    if method not in ("auto", "exact", "pcd"):
        raise ValueError(f"RBM method must be auto, exact or pcd, got {method!r}")
    n = np.shape(x)[1] if np.ndim(x) == 2 else 0
    small = _exact_ok(n_hidden, n)
    if method == "auto":
        method = "exact" if small else "pcd"
    if method == "exact" and not small:
        raise ValueError(f"the exact RBM fit sums 2^H hidden states: needs H <= {MAX_EXACT_HIDDEN} and "
                         f"2^H x N <= {EXACT_BUDGET}, got H = {n_hidden}, N = {n}")
    enc = detect_encoding(x)
    if method == "exact":
        b, c, w = _fit_exact(to_binary(x), n_hidden, seed)
        return RBMModel(b=b, c=c, W=w, encoding=enc)
    rbm_cls = _import_rbm()
    rbm = rbm_cls(
        n_components=n_hidden,
        learning_rate=learning_rate,
        batch_size=batch_size,
        n_iter=n_iter,
        random_state=seed,
    )
    rbm.fit(to_binary(x))
    return RBMModel(
        b=np.asarray(rbm.intercept_visible_, float),
        c=np.asarray(rbm.intercept_hidden_, float),
        W=np.asarray(rbm.components_, float),
        encoding=enc,
        method="pcd",
    )


def _fit_exact(v: np.ndarray, nh: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximum likelihood of a binary RBM on ``v`` (T, N in {0, 1}) by L-BFGS on the exact
    gradient (torch autograd, float64): the data term over the distinct rows with their
    counts, log Z over the 2^H hidden states, a N(0, PRIOR_SD²) prior on every parameter.
    The energy is centred, −b'·v − c'·h − (h − ½)ᵀW(v − m) with m the data's mean (the same
    model class, b = b' − Wᵀ½, c = c' − Wm; centring conditions the optimization, Montavon
    & Müller 2012). Starts from the independent model's fields and small random weights;
    up to SMALL_HIDDEN hidden units STARTS of them, keeping the highest likelihood. Returns
    (b, c, W)."""
    import torch

    rows_np, counts, _ = distinct_patterns(v)
    t, n = len(v), v.shape[1]
    freq = torch.tensor(counts / counts.sum())
    rows = torch.tensor(rows_np, dtype=torch.float64)
    mean = freq @ rows
    q = np.clip(mean.numpy(), 0.5 / t, 1 - 0.5 / t)
    rng = np.random.default_rng(seed)
    theta0 = np.concatenate([np.log(q / (1 - q)), np.zeros(nh), rng.normal(0, 0.1, nh * n)])
    hs = torch.tensor(_hidden_states(nh))
    prior = 1.0 / (PRIOR_SD**2 * t)  # the prior's weight per row
    softplus = torch.nn.functional.softplus

    def unpack(th):
        w = th[n + nh:].view(nh, n)
        return th[:n] - 0.5 * w.sum(0), th[n:n + nh] - w @ mean, w

    def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        th = torch.tensor(theta, requires_grad=True)
        b, c, w = unpack(th)
        data = freq @ (rows @ b) + freq @ softplus(rows @ w.T + c).sum(1)
        log_z = torch.logsumexp(hs @ c + softplus(hs @ w + b).sum(1), 0)
        loss = log_z - data + 0.5 * prior * (th @ th)
        loss.backward()
        return float(loss.detach()), th.grad.numpy().copy()

    res = None
    for start in range(STARTS if nh <= SMALL_HIDDEN else 1):
        if start:
            theta0[n + nh:] = rng.normal(0, 0.1, nh * n)
        r = lbfgs(loss_and_grad, theta0, maxiter=MAX_ITER, maxcor=30, gtol=1e-7, ftol=1e-13)
        logging.getLogger(__name__).info("exact RBM fit, H=%d, start %d: loss %.6f, %d iterations, %s",
                                         nh, start, r.fun, r.nit, r.message)
        if res is None or r.fun < res.fun:
            res = r
    with torch.no_grad():
        b, c, w = unpack(torch.tensor(res.x))
    return b.numpy().copy(), c.numpy().copy(), w.numpy().copy()
