"""Maximum-entropy style models shared by the baselines and the extracted theories.

Every model here works on ``{0, 1}`` variables internally and answers in the encoding it
was fitted on (``"binary"`` {0, 1} or ``"spin"`` ±1, with s = 2x - 1), through one small API:

- ``sample(n, seed=0) -> (n, N) int8`` configurations;
- ``loglik(x) -> float | None``: mean log-likelihood per configuration in nats, ``None``
  where the model's normaliser is not available;
- ``n_parameters``: the number of free parameters.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, logsumexp

from napari_vaemf.core.encoding import detect_encoding
from napari_vaemf.core.errors import InputError, ParameterError

__all__ = [
    "IndependentModel",
    "PairwiseModel",
    "gibbs_sweep",
    "HopfieldModel",
    "to_binary",
    "from_binary",
    "detect_encoding",
]

log = logging.getLogger(__name__)


def to_binary(x: np.ndarray) -> np.ndarray:
    """{0, 1} float64 view of a binary or ±1 raster."""
    x = np.asarray(x, dtype=np.float64)
    return (x + 1.0) / 2.0 if detect_encoding(x) == "spin" else x


def from_binary(x: np.ndarray, encoding: str) -> np.ndarray:
    """int8 configurations in ``encoding`` from {0, 1} values."""
    x = np.asarray(x).astype(np.int8)
    return (2 * x - 1).astype(np.int8) if encoding == "spin" else x


def _check_x(x: np.ndarray, n: int) -> np.ndarray:
    b = to_binary(x)
    if b.ndim != 2:
        raise InputError(None, f"configurations must be (T, N), got shape {b.shape}")
    if b.shape[1] != n:
        raise InputError(None, f"model has {n} units, configurations have {b.shape[1]}")
    return b


@dataclass
class IndependentModel:
    """Independent units with rates ``p`` (clipped to [1/(2T), 1 - 1/(2T)])."""

    p: np.ndarray  # (N,) probability that each unit is 1
    encoding: str = "binary"  # "binary" or "spin": the encoding of samples

    @classmethod
    def fit(cls, x: np.ndarray) -> "IndependentModel":
        enc = detect_encoding(x)
        b = to_binary(x)
        eps = 0.5 / b.shape[0]
        return cls(p=np.clip(b.mean(axis=0), eps, 1 - eps), encoding=enc)

    @property
    def n_parameters(self) -> int:
        return int(self.p.size)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return from_binary(rng.random((n, self.p.size)) < self.p, self.encoding)

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        b = _check_x(x, self.p.size)
        return b @ np.log(self.p) + (1 - b) @ np.log1p(-self.p)

    def loglik(self, x: np.ndarray) -> float:
        return float(self.log_prob(x).mean())


def gibbs_sweep(x: np.ndarray, h: np.ndarray, J: np.ndarray, rng: np.random.Generator) -> None:
    """One sequential Gibbs sweep, in place, of chains ``x`` (C, N) {0, 1} floats under
    p(x) ∝ exp(h·x + Σ_{i<j} J_ij x_i x_j) (J symmetric with zero diagonal)."""
    u = rng.random(x.shape)
    for i in range(x.shape[1]):
        x[:, i] = u[:, i] < expit(h[i] + x @ J[:, i])


@dataclass
class PairwiseModel:
    """p(x) ∝ exp(h·x + Σ_{i<j} J_ij x_i x_j) on x ∈ {0,1}^N (J symmetric, zero diagonal),
    sampled by vectorised sequential Gibbs sweeps over many parallel chains."""

    h: np.ndarray  # (N,) fields
    J: np.ndarray  # (N, N) symmetric couplings, zero diagonal
    encoding: str = "binary"  # encoding of samples
    n_free: int | None = None  # free parameters, when fewer than N + N(N-1)/2 (e.g. low rank)
    chains: int = 500  # parallel Gibbs chains
    burn_in: int = 300  # sweeps discarded
    thin: int = 5  # sweeps between kept samples

    @property
    def n_parameters(self) -> int:
        n = self.h.size
        return int(self.n_free if self.n_free is not None else n + n * (n - 1) // 2)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        if n < 1:
            raise ParameterError(f"number of samples must be >= 1, got {n}")
        rng = np.random.default_rng(seed)
        nu = self.h.size
        J = self.J.copy()
        np.fill_diagonal(J, 0.0)
        c = min(self.chains, n)
        per = -(-n // c)
        x = (rng.random((c, nu)) < expit(self.h)).astype(np.float64)
        out = np.empty((per, c, nu), dtype=np.int8)
        total = self.burn_in + per * self.thin
        kept = 0
        for sweep in range(total):
            gibbs_sweep(x, self.h, J, rng)
            if sweep >= self.burn_in and (sweep - self.burn_in) % self.thin == self.thin - 1:
                out[kept] = x
                kept += 1
        return from_binary(out.reshape(-1, nu)[:n], self.encoding)

    def loglik(self, x: np.ndarray) -> None:
        """Not available: the partition function of a general pairwise model is intractable."""
        return None


@dataclass
class HopfieldModel:
    """Generalized Hopfield model with real patterns ξ (N, P) on x ∈ {0,1}^N (``"binary"``)
    or s ∈ {-1,+1}^N (``"spin"``; the variables are then the spins themselves):

        p(x) ∝ exp(h·x + |ξᵀx|² / (2N)),  i.e. J = ξξᵀ/N, diagonal included (a constant for
        spins, an extra field J_ii/2 for {0,1} units since x_i² = x_i).

    The classic Hopfield network at inverse temperature β is ``spin``, h = 0, ξ = √β ξ_±1.
    The Hubbard-Stratonovich transform makes it a latent model,
    p(x, z) ∝ N(z; 0, I_P) exp(x·φ(z)) with φ(z) = h + ξz/√N, sampled by exact block Gibbs:
    z | x ~ N(ξᵀx/√N, I) and x | z independent with fields φ(z). The normaliser
    Z = E_{z~N(0,I)} Π_i Σ_{x_i} exp(x_i φ_i(z)) is a P-dimensional integral, estimated by
    importance sampling around the chain's z, which gives :meth:`log_prob`.

    Repulsive patterns ξ̂ (``xr``, N × R, as in Cocco-Monasson-Sessak) add -|ξ̂ᵀx|²/(2N):
    J = (ξξᵀ - ξ̂ξ̂ᵀ)/N. They have no real Hubbard-Stratonovich field, so such a model is
    sampled by sequential Gibbs sweeps of the equivalent pairwise model, and Z gets a nested
    estimate: E_z[Π_i Σ_{x_i} e^{x_i φ_i(z)} · E_{x|z} e^{-|ξ̂ᵀx|²/(2N)}] (one x per z).
    """

    h: np.ndarray  # (N,) fields
    xi: np.ndarray  # (N, P) real (attractive) patterns
    xr: np.ndarray | None = None  # (N, R) repulsive patterns, or None
    encoding: str = "binary"  # encoding of samples
    chains: int = 500  # parallel block-Gibbs chains
    burn_in: int = 200  # block-Gibbs steps discarded
    thin: int = 2  # steps between kept samples
    _log_z: float | None = field(default=None, repr=False)

    @property
    def n_parameters(self) -> int:
        return int(self.h.size + self.xi.size + (0 if self.xr is None else self.xr.size))

    @property
    def repulsive(self) -> bool:
        return self.xr is not None and self.xr.shape[1] > 0

    @property
    def J(self) -> np.ndarray:
        j = self.xi @ self.xi.T / self.h.size
        return j - self.xr @ self.xr.T / self.h.size if self.repulsive else j

    def pairwise(self) -> PairwiseModel:
        """The same distribution as a :class:`PairwiseModel` on {0, 1} variables."""
        J = self.J
        if self.encoding == "spin":  # s = 2x - 1: h·s + sᵀJs/2 = x·(2h + 2 diag J - 2 J1) + 2 xᵀJx + c
            hb = 2 * self.h + 2 * np.diag(J) - 2 * J.sum(1)
            jb = 4 * J
        else:  # x_i² = x_i
            hb, jb = self.h + np.diag(J) / 2, J.copy()
        np.fill_diagonal(jb, 0.0)
        return PairwiseModel(h=hb, J=jb, encoding=self.encoding, chains=self.chains,
                             burn_in=max(self.burn_in, 300), thin=max(self.thin, 3))

    def _fields(self, z: np.ndarray) -> np.ndarray:
        return self.h + z @ self.xi.T / np.sqrt(self.h.size)  # (C, N)

    def _chain(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        nu, p = self.xi.shape
        c = min(self.chains, n)
        per = -(-n // c)
        z = rng.standard_normal((c, p))
        xs = np.empty((per, c, nu), dtype=np.int8)
        zs = np.empty((per, c, p))
        kept = 0
        spin = self.encoding == "spin"
        for step in range(self.burn_in + per * self.thin):
            phi = self._fields(z)
            x = (rng.random((c, nu)) < expit(2 * phi if spin else phi)).astype(np.float64)
            if spin:
                x = 2 * x - 1
            z = x @ self.xi / np.sqrt(nu) + rng.standard_normal((c, p))
            if step >= self.burn_in and (step - self.burn_in) % self.thin == self.thin - 1:
                xs[kept], zs[kept] = x, z
                kept += 1
        return xs.reshape(-1, nu)[:n], zs.reshape(-1, p)[:n]

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        if n < 1:
            raise ParameterError(f"number of samples must be >= 1, got {n}")
        if self.repulsive:
            return self.pairwise().sample(n, seed=seed)
        return self._chain(n, seed)[0]

    def log_partition(self, n_is: int = 20000, seed: int = 0) -> float:
        """log Z by importance sampling with a Gaussian fitted to the chain's z (cached)."""
        if self._log_z is not None:
            return self._log_z
        rng = np.random.default_rng(seed + 1)
        if self.repulsive:  # z | x ~ N(ξᵀx/√N, I) around the pairwise sampler's x
            xs = self.sample(4000, seed=seed).astype(np.float64)
            zs = xs @ self.xi / np.sqrt(self.h.size) + rng.standard_normal((len(xs), self.xi.shape[1]))
        else:
            _, zs = self._chain(4000, seed)
        mu = zs.mean(axis=0)
        if mu.size == 0:  # repulsive patterns only: the proposal is the independent model
            z, log_q, log_prior = np.zeros((n_is, 0)), np.zeros(n_is), np.zeros(n_is)
        else:
            cov = np.atleast_2d(np.cov(zs.T)) * 1.5 + 1e-6 * np.eye(zs.shape[1])
            L = np.linalg.cholesky(cov)
            z = mu + rng.standard_normal((n_is, mu.size)) @ L.T
            d = np.linalg.solve(L, (z - mu).T).T
            log_q = -0.5 * (d * d).sum(1) - np.log(np.diag(L)).sum() - 0.5 * mu.size * np.log(2 * np.pi)
            log_prior = -0.5 * (z * z).sum(1) - 0.5 * mu.size * np.log(2 * np.pi)
        phi = self._fields(z)
        if self.encoding == "spin":
            log_f = (np.logaddexp(phi, -phi)).sum(1)
        else:
            log_f = np.logaddexp(0.0, phi).sum(1)
        if self.repulsive:  # one x | z per z: E_{x|z} exp(-|ξ̂ᵀx|²/(2N)), unbiased
            on = rng.random(phi.shape) < expit(2 * phi if self.encoding == "spin" else phi)
            x = (2.0 * on - 1.0) if self.encoding == "spin" else on.astype(np.float64)
            log_f = log_f - ((x @ self.xr) ** 2).sum(1) / (2 * self.h.size)
        w = log_prior + log_f - log_q
        ess = np.exp(2 * logsumexp(w) - logsumexp(2 * w))
        log.info("Hopfield log Z: importance sampling ESS %.0f of %d", ess, n_is)
        self._log_z = float(logsumexp(w) - np.log(n_is))
        return self._log_z

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        b = _check_x(x, self.h.size)
        if self.encoding == "spin":
            b = 2 * b - 1
        q = b @ self.xi
        e = b @ self.h + (q * q).sum(1) / (2 * self.h.size)
        if self.repulsive:
            e = e - ((b @ self.xr) ** 2).sum(1) / (2 * self.h.size)
        return e - self.log_partition()

    def loglik(self, x: np.ndarray) -> float:
        return float(self.log_prob(x).mean())
