"""Positive-weight quadrature grids for the standard normal prior on K <= 3 latents.

A :class:`Grid` is the set of points of a cubic lattice with ``n`` nodes per axis across
[-half_width, half_width] that lie inside the ball of radius ``half_width``, placed by an
affine change of variables z = centre + axes · u. The weight of node z_g is the prior
density itself, w_g ∝ N(z_g; 0, I) (the Jacobian |det axes| and the cell volume are the same
for every node), normalised to sum to 1. So

    Σ_g w_g f(z_g)  ≈  ∫ N(z; 0, I) f(z) dz

for any f: the prior enters through its exact density wherever the lattice is, and moving or
stretching the lattice only changes where the nodes are, never what is integrated. The rule
is the rectangle (trapezoid) rule, which converges spectrally fast for smooth, decaying
integrands once the spacing is below the width of the integrand's peaks; the prior mass
outside the ball is dropped (:attr:`Grid.prior_mass` says how much is kept: 1 - 4e-6 for
the default radius 5 at K = 2 when the axes are the identity). All weights are positive, so
the grid model Σ_g w_g Π_i p(x_i | φ_i(z_g)) is itself a normalised probability
distribution (a mixture of product distributions over the nodes).

Refining (:meth:`Grid.refined`) goes from n to 2n - 1 nodes per axis on the same ball: the
old nodes are kept and a new one is put between each pair. :meth:`Grid.shifted` moves the
whole lattice by a fraction of one cell (a Cranley-Patterson shift): averaged over a uniform
random shift, the unnormalised rule is an unbiased estimate of the integral, which is what
training uses so that the model cannot tune itself to one fixed set of nodes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from napari_vaemf.core.errors import ParameterError

__all__ = ["Grid", "lattice_grid", "HALF_WIDTH", "MAX_LATENTS"]

MAX_LATENTS = 3  # tensor grids beyond K = 3 cost too many nodes
HALF_WIDTH = 5.0  # radius of the ball of nodes in u units; prior mass beyond 5: 4e-6 at K = 2
_LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class Grid:
    """Nodes and normalised log-weights of a lattice quadrature of N(0, I_K)."""

    nodes: np.ndarray  # (G, K) float64 latent positions z_g
    log_weights: np.ndarray  # (G,) float64, logsumexp = 0
    n: int  # nodes per axis (G = n ** K)
    centre: np.ndarray  # (K,) centre of the ball of nodes in z
    axes: np.ndarray  # (K, K) z = centre + axes @ u, u in [-half_width, half_width]^K
    half_width: float  # radius of the ball of nodes, in u units
    prior_mass: float  # prior mass the rule assigns to the ball before normalising (≈ 1)
    shift: np.ndarray | None = None  # (K,) lattice shift in cells, None for the unshifted grid

    @property
    def latents(self) -> int:
        return self.nodes.shape[1]

    @property
    def size(self) -> int:
        return self.nodes.shape[0]

    @property
    def weights(self) -> np.ndarray:
        """(G,) normalised weights."""
        return np.exp(self.log_weights)

    def with_nodes(self, n: int) -> "Grid":
        """The same ball, unshifted, with ``n`` nodes per axis."""
        return lattice_grid(self.latents, n, self.centre, self.axes, self.half_width)

    def shifted(self, shift: np.ndarray) -> "Grid":
        """The same lattice moved by ``shift`` (K,) cells, each in [0, 1); 0.5 is no move."""
        return lattice_grid(self.latents, self.n, self.centre, self.axes, self.half_width, shift)

    def refined(self) -> "Grid":
        """The same ball, unshifted, with 2n - 1 nodes per axis (contains every node of the
        unshifted grid)."""
        return self.with_nodes(2 * self.n - 1)

    def moved(self, mean: np.ndarray, cov: np.ndarray, min_scale: float = 0.8,
              max_scale: float = 2.0) -> "Grid":
        """An unshifted lattice centred at ``mean`` along the principal axes of ``cov`` (same n
        and radius in u units).

        The scale along each principal axis is sqrt of its eigenvalue clipped to
        [min_scale, max_scale], so the ball never shrinks onto a sliver of the prior (at 0.8
        the default radius still reaches 4 prior standard deviations) or spreads over its
        far tails.
        """
        mean = np.asarray(mean, np.float64).reshape(self.latents)
        cov = np.asarray(cov, np.float64).reshape(self.latents, self.latents)
        if not (np.isfinite(mean).all() and np.isfinite(cov).all()):
            raise ParameterError("grid centre and covariance must be finite")
        eig, vec = np.linalg.eigh((cov + cov.T) / 2)
        scale = np.sqrt(np.clip(eig, min_scale**2, max_scale**2))
        return lattice_grid(self.latents, self.n, mean, vec * scale, self.half_width)


def lattice_grid(latents: int, n: int, centre: np.ndarray | None = None, axes: np.ndarray | None = None,
             half_width: float = HALF_WIDTH, shift: np.ndarray | None = None) -> Grid:
    """The lattice quadrature of N(0, I_K) with ``n`` nodes per axis (see the module docstring).

    Defaults: centre 0, axes I (the ball of radius half_width around the prior's centre), no
    shift. ``shift`` (K,) in [0, 1) moves every node by (shift - 0.5) cells.
    """
    if not 1 <= latents <= MAX_LATENTS:
        raise ParameterError(f"quadrature grids take 1 to {MAX_LATENTS} latents, got {latents}")
    if n < 2:
        raise ParameterError(f"a grid needs at least 2 nodes per axis, got {n}")
    if half_width <= 0:
        raise ParameterError(f"half_width must be > 0, got {half_width}")
    centre = np.zeros(latents) if centre is None else np.asarray(centre, np.float64).reshape(latents)
    axes = np.eye(latents) if axes is None else np.asarray(axes, np.float64).reshape(latents, latents)
    det = abs(float(np.linalg.det(axes)))
    if not det > 0:
        raise ParameterError("grid axes must be non-singular")
    u1 = np.linspace(-half_width, half_width, n)
    h = u1[1] - u1[0]
    u = np.stack(np.meshgrid(*([u1] * latents), indexing="ij"), -1).reshape(-1, latents)
    u = u[(u * u).sum(1) <= half_width**2 * (1 + 1e-9)]  # the ball: corners hold no prior mass
    if shift is not None:
        shift = np.asarray(shift, np.float64).reshape(latents)
        if shift.min() < 0 or shift.max() >= 1:
            raise ParameterError(f"lattice shifts must lie in [0, 1), got {shift}")
        u = u + (shift - 0.5) * h
    z = centre + u @ axes.T  # (G, K)
    log_prior = -0.5 * (z * z).sum(1) - 0.5 * latents * _LOG_2PI
    log_total = float(logsumexp(log_prior))
    mass = math.exp(log_total + latents * math.log(h) + math.log(det))
    return Grid(nodes=z, log_weights=log_prior - log_total, n=int(n), centre=centre, axes=axes,
                half_width=float(half_width), prior_mass=mass, shift=shift)
