"""scikit-learn's BernoulliRBM through the baseline API (optional extra ``rbm``)."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
from scipy.special import expit, logsumexp

from napari_vaemf.core.baselines._models import _check_x, detect_encoding, from_binary, to_binary

__all__ = ["RBMModel", "fit_rbm"]

MAX_EXACT_HIDDEN = 16  # exact log Z by summing over hidden states up to this many hidden units


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
    """A fitted BernoulliRBM: visible bias b (N,), hidden bias c (H,), weights W (H, N)."""

    b: np.ndarray  # (N,) visible biases
    c: np.ndarray  # (H,) hidden biases
    W: np.ndarray  # (H, N) weights
    encoding: str = "binary"  # encoding of samples
    gibbs_steps: int = 500  # Gibbs steps before a sample is kept (one chain per sample)

    @property
    def n_parameters(self) -> int:
        return int(self.W.size + self.b.size + self.c.size)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        v = (rng.random((n, self.b.size)) < expit(self.b)).astype(np.float64)
        for _ in range(self.gibbs_steps):
            hid = (rng.random((n, self.c.size)) < expit(v @ self.W.T + self.c)).astype(float)
            v = (rng.random((n, self.b.size)) < expit(hid @ self.W + self.b)).astype(float)
        return from_binary(v, self.encoding)

    def log_partition(self) -> float | None:
        """Exact log Z by summing over the 2^H hidden states (None when H is too large)."""
        nh = self.c.size
        if nh > MAX_EXACT_HIDDEN:
            return None
        hs = np.array(list(product([0.0, 1.0], repeat=nh)))  # (2^H, H)
        return float(logsumexp(hs @ self.c + np.logaddexp(0, hs @ self.W + self.b).sum(1)))

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
) -> RBMModel:
    """Fit scikit-learn's BernoulliRBM (persistent contrastive divergence) on ``x`` (T, N)."""
    rbm_cls = _import_rbm()
    enc = detect_encoding(x)
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
    )
