"""The quadrature model: the VAE's product decoder with the prior integrated on a grid.

Generative model (as :class:`napari_vaemf.core.vae.ProductVAE`, without an encoder):
z ~ N(0, I_K), K <= 3; fields φ(z) = W g(z) + b (the same :class:`~napari_vaemf.core.vae.
model.Decoder`: linear fields with H = K, or a curved map g: R^K -> R^H, H > K); units
independent given z. The integral over z is a positive-weight quadrature (:mod:`._grid`), so

    log p(x) = logsumexp_g [ log w_g + Σ_i log p(x_i | φ_i(z_g)) ]

is computed exactly for the grid model, a normalised mixture of product Bernoullis over the
nodes, which converges to the continuous model as the grid is refined. The decoder is run
once per node; the data term is one (B × N) @ (N × G) product (a gather-sum over the 1s of
sparse rows, :mod:`._rows`), since for a Bernoulli with logit ℓ, log p(x_i) = x_i ℓ_i -
softplus(ℓ_i). Encodings follow the VAE: binary x ∈ {0, 1} has logits φ; spins s = ±1 are
used as x = (s + 1)/2 with logits 2φ, i.e. p(s_i | φ_i) = exp(s_i φ_i) / (2 cosh φ_i).

The node weights are the prior's, w_g ∝ N(z_g; 0, I), for the VAE's model. With
``config.measure = "hs"`` (identity decoder, fields b + W z) they are tilted by the units'
normalisers, w_g ∝ N(z_g; 0, I) Π_i Z_i(φ_i(z_g)) (:meth:`QuadratureModel.node_log_weights`):
then Σ_g w_g Π_i p(x_i | z_g) ∝ ∫ N(z) e^{x·(b + W z)} dz = e^{b·x + ½|Wᵀx|²}, the strict
generalized Hopfield model by the Hubbard-Stratonovich transform, with the same product
decoder and the same sums over nodes (its node posterior p(z | x) is N(Wᵀx, I), binary x or
spins s).

The decoder runs in float32; every exact quantity is summed in float64 from its logits, so
e.g. the probabilities of all 2^N states of the grid model sum to 1 to rounding. Training
runs in float32.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.exact._grid import Grid, lattice_grid
from napari_vaemf.core.exact.config import EXACT_ENCODINGS, TRAIN_NODES, ExactConfig
from napari_vaemf.core.exact._rows import Rows
from napari_vaemf.core.exact._stats import grid_stats
from napari_vaemf.core.stats import PopulationStats
from napari_vaemf.core.vae.model import Decoder, TheoryParts

__all__ = ["ExactConfig", "QuadratureModel", "TRAIN_NODES", "EXACT_ENCODINGS", "softmax_rows_"]

_EVAL_ENTRIES = 1 << 22  # (patterns × nodes) entries per evaluation chunk (32 MB in float64)
# exp() of arguments this far below a row's maximum is 0 to the sum's precision; clamping
# there keeps exp off its slow underflow path (float32 exp(-500) is ~10x slower than exp(-50))
EXP_FLOOR = {torch.float32: -80.0, torch.float64: -700.0}


def softmax_rows_(lj: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """In place: rows of log-weights (B, G) -> their exp relative to each row's maximum.
    Returns ``(e, total, lse)``: e = exp(lj - max) (B, G), total = e.sum(1) (B, 1) and
    lse = logsumexp(lj) per row (B,)."""
    top = lj.amax(1, keepdim=True)  # amax: ~20x faster than max(1).values on the CPU
    e = lj.sub_(top).clamp_(min=EXP_FLOOR.get(lj.dtype, -80.0)).exp_()
    total = e.sum(1, keepdim=True)
    return e, total, (top + total.log()).squeeze(1)


class QuadratureModel(TheoryParts, nn.Module):
    """Product decoder + quadrature grid; every likelihood and posterior is a sum over nodes.

    :attr:`grid` is the evaluation grid every method uses by default (each also takes a
    ``grid``); a new model gets the unshifted lattice of ``config.nodes`` per axis, refined
    once (2n - 1 per axis). ``xp`` arguments are prepared {0, 1} float rows (:meth:`prepare`).
    """

    def __init__(self, n_units: int, encoding: str, config: ExactConfig, grid: Grid | None = None):
        super().__init__()
        if encoding not in EXACT_ENCODINGS:
            raise ParameterError(f"encoding must be one of {EXACT_ENCODINGS}, got {encoding!r}")
        self.n_units, self.encoding, self.config = int(n_units), encoding, config
        self.decoder = Decoder(self.n_units, config.latents, 1, config.decoder, config.decoder_widths,
                               config.features)
        self.grid = grid if grid is not None else lattice_grid(config.latents, config.nodes).refined()

    # --- pieces -----------------------------------------------------------------------------
    def prepare(self, x) -> torch.Tensor:
        """Data in its encoding (binary {0,1} or spins ±1), (B, N) -> {0, 1} float32 tensor."""
        x = torch.as_tensor(np.asarray(x)).float()
        return (x + 1) / 2 if self.encoding == "spin" else x

    def fields(self, z) -> torch.Tensor:
        """Decoder fields φ(z) for latents (..., K): (..., N)."""
        p = next(self.parameters())
        return self.decoder(torch.as_tensor(np.asarray(z), dtype=p.dtype, device=p.device))

    def logits(self, grid: Grid | None = None) -> torch.Tensor:
        """Bernoulli logits at every node, (G, N): φ(z_g) (binary) or 2 φ(z_g) (spin)."""
        phi = self.fields((grid or self.grid).nodes)
        return 2 * phi if self.encoding == "spin" else phi

    @staticmethod
    def log_joint(rows: Rows, logits: torch.Tensor, log_w: torch.Tensor) -> torch.Tensor:
        """log w_g + log p(x_b | z_g) for {0,1} rows (B, N) and node logits (G, N): (B, G)."""
        return rows.times(logits).add_(log_w - F.softplus(logits).sum(-1))

    def _eval_pieces(self, grid: Grid | None, dtype: torch.dtype = torch.float64):
        """``(grid, logits (G, N), log-weights (G,))`` in ``dtype``: g(z) in float32 (the
        decoder's precision), the readout W g + b in ``dtype``, as the energy file
        (:mod:`napari_vaemf.core.extraction.energy`) computes it."""
        grid = grid or self.grid
        with torch.no_grad():
            lg = self._logits(grid, dtype)
        return grid, lg, self.node_log_weights(grid, dtype, lg)

    def _logits(self, grid: Grid, dtype: torch.dtype) -> torch.Tensor:
        """Node logits (G, N) in ``dtype``: g(z) in the decoder's precision (the identity map
        in ``dtype`` itself), the readout in ``dtype``."""
        p = next(self.parameters())
        if self.config.decoder == "identity":
            g = torch.as_tensor(grid.nodes, dtype=dtype, device=p.device)
        else:
            g = self.decoder.g(torch.as_tensor(grid.nodes, dtype=p.dtype, device=p.device)).to(dtype)
        ro = self.decoder.readout
        lg = g @ ro.weight.to(dtype).T + ro.bias.to(dtype)
        return 2 * lg if self.encoding == "spin" else lg

    @torch.no_grad()
    def node_log_weights(self, grid: Grid | None = None, dtype: torch.dtype = torch.float64,
                         logits: torch.Tensor | None = None) -> torch.Tensor:
        """log w_g (G,) of the model's node measure on ``grid`` (logsumexp = 0): the prior's
        (``grid.log_weights``), or with ``config.measure = "hs"`` the prior's tilted by
        Σ_i log Z_i(φ_i(z_g)) (Z_i = 1 + e^φ for binary units, 2 cosh φ for spins), from the
        node ``logits`` when the caller has them."""
        grid = grid or self.grid
        lw = torch.as_tensor(grid.log_weights, dtype=dtype)
        if self.config.measure != "hs":
            return lw
        lg = self._logits(grid, dtype) if logits is None else logits.to(dtype)
        tilt = F.softplus(lg).sum(-1)  # binary: Σ log(1 + e^φ)
        if self.encoding == "spin":  # logits 2φ: log 2cosh φ = softplus(2φ) - φ
            tilt = tilt - lg.sum(-1) / 2
        lw = lw + tilt
        return lw - torch.logsumexp(lw, 0)

    def node_weights(self, grid: Grid | None = None) -> np.ndarray:
        """(G,) normalised weights of the model's node measure (:meth:`node_log_weights`)."""
        return self.node_log_weights(grid).exp().numpy()

    def _chunks(self, xp: torch.Tensor, g: int):
        size = max(1, _EVAL_ENTRIES // max(1, g))
        for a in range(0, len(xp), size):
            yield Rows(xp[a : a + size])

    # --- exact quantities (float64, no gradient) -------------------------------------------
    @torch.no_grad()
    def log_likelihood(self, xp: torch.Tensor, grid: Grid | None = None,
                       dtype: torch.dtype = torch.float64) -> np.ndarray:
        """Exact log p(x) of the grid model for prepared {0,1} rows (B, N): (B,) nats (summed
        in ``dtype``; float32 is twice as fast and good to ~1e-6 relative)."""
        grid, lg, lw = self._eval_pieces(grid, dtype)
        out = [softmax_rows_(self.log_joint(xb, lg, lw))[2] for xb in self._chunks(xp, grid.size)]
        return torch.cat(out).double().numpy() if out else np.zeros(0)

    @torch.no_grad()
    def refined_log_likelihood(self, xp: torch.Tensor, tol: float = 1e-3, max_nodes: int = 65536,
                               grid: Grid | None = None) -> tuple[np.ndarray, np.ndarray]:
        """log p(x) of the continuous model for prepared rows (B, N), each refined on its own.

        Starts on ``grid`` (default :attr:`grid`) and, for the rows whose log p still moves by
        more than ``tol`` nats when the grid goes from n to 2n - 1 nodes per axis, repeats on
        the finer grid (only those rows), until every row has settled or the next grid would
        exceed ``max_nodes``. Returns ``(log_p, settled)``: (B,) nats from the finest grid each
        row reached, and (B,) bool, False where the row was still moving at the cap. A row
        with a wide posterior settles on the first grid; only the rare rows with sharp
        posteriors pay for the fine grids.
        """
        grid = grid or self.grid
        ll = self.log_likelihood(xp, grid)
        todo = np.ones(len(ll), bool)
        while todo.any():
            finer = grid.refined()
            if finer.size > max_nodes:
                break
            ll_f = self.log_likelihood(xp[torch.as_tensor(np.flatnonzero(todo))], finer)
            moved = np.abs(ll_f - ll[todo]) > tol
            ll[todo] = ll_f
            todo[todo] = moved
            grid = finer
        return ll, ~todo

    @torch.no_grad()
    def posterior(self, xp: torch.Tensor, grid: Grid | None = None) -> np.ndarray:
        """p(z_g | x) on the nodes for prepared rows (B, N): (B, G) float64, rows sum to 1."""
        grid, lg, lw = self._eval_pieces(grid)
        out = [torch.softmax(self.log_joint(xb, lg, lw), 1) for xb in self._chunks(xp, grid.size)]
        return torch.cat(out).numpy() if out else np.zeros((0, grid.size))

    @torch.no_grad()
    def posterior_moments(self, xp: torch.Tensor, grid: Grid | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means E[z|x] (B, K) and per-latent standard deviations (B, K)."""
        grid, lg, lw = self._eval_pieces(grid)
        z = torch.as_tensor(grid.nodes, dtype=torch.float64)
        means, sds = [], []
        for xb in self._chunks(xp, grid.size):
            post = torch.softmax(self.log_joint(xb, lg, lw), 1)
            m = post @ z
            means.append(m)
            sds.append((post @ z.square() - m.square()).clamp_min(0).sqrt())
        k = grid.latents
        if not means:
            return np.zeros((0, k)), np.zeros((0, k))
        return torch.cat(means).numpy(), torch.cat(sds).numpy()

    @torch.no_grad()
    def rate(self, xp: torch.Tensor, counts: np.ndarray | None = None, grid: Grid | None = None) -> float:
        """I(X; Z) = E_x KL(p(z|x) ‖ p(z)) in nats, on the grid: the KL of the posterior over the
        nodes from the prior weights (the consistent discrete quantity), averaged over rows with
        ``counts`` as their multiplicities (default 1 each)."""
        return self.loglik_and_rate(xp, counts, grid)[1]

    @torch.no_grad()
    def loglik_and_rate(self, xp: torch.Tensor, counts: np.ndarray | None = None,
                        grid: Grid | None = None) -> tuple[np.ndarray, float]:
        """``(log p(x) per row (B,), I(X; Z))`` in one pass over the rows (float64): what
        :meth:`log_likelihood` and :meth:`rate` give, for half the work of calling both."""
        grid, lg, lw = self._eval_pieces(grid)
        c = torch.ones(len(xp), dtype=torch.float64) if counts is None else torch.as_tensor(
            np.asarray(counts, np.float64))
        total, a, lls = 0.0, 0, []
        for xb in self._chunks(xp, grid.size):
            lj = self.log_joint(xb, lg, lw)
            lse = torch.logsumexp(lj, 1, keepdim=True)
            lpost = lj.sub_(lse)
            kl = (lpost.exp() * (lpost - lw)).sum(1)
            total += float((c[a : a + len(xb)] * kl).sum())
            lls.append(lse.squeeze(1))
            a += len(xb)
        ll = torch.cat(lls).numpy() if lls else np.zeros(0)
        return ll, (total / float(c.sum()) if len(xp) else math.nan)

    @torch.no_grad()
    def probabilities(self, grid: Grid | None = None) -> np.ndarray:
        """P(x_i = 1 | z_g) (spins: P(s_i = +1 | z_g)) at every node, (G, N) float64."""
        _, lg, _ = self._eval_pieces(grid)
        return torch.sigmoid(lg).numpy()

    def stats(self, triplets: np.ndarray | None = None, grid: Grid | None = None) -> PopulationStats:
        """Exact population statistics of the grid model ({0,1} convention, :mod:`._stats`)."""
        grid = grid or self.grid
        return grid_stats(self.probabilities(grid), self.node_weights(grid), triplets)

    def sample(self, n: int, seed: int = 0, grid: Grid | None = None) -> np.ndarray:
        """``n`` exact draws from the grid model in the data's encoding (int8 (n, N)): a node by
        its weight (:meth:`node_weights`), then independent units given the node."""
        if n < 0:
            raise ParameterError(f"samples must be >= 0, got {n}")
        grid = grid or self.grid
        p = self.probabilities(grid)
        rng = np.random.default_rng(seed)
        w = self.node_weights(grid)
        idx = rng.choice(grid.size, size=n, p=w / w.sum())
        on = (rng.random((n, self.n_units)) < p[idx]).astype(np.int8)
        return 2 * on - 1 if self.encoding == "spin" else on
