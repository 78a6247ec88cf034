"""The product-decoder VAE: config, encoder, mean-field decoder, likelihoods (one small file).

Generative model: z ~ N(0, I_K); per-unit fields φ_i(z) = W_i · g(z) + b_i; units independent
given z. The decoder is a finite-size mean-field theory: z are the order parameters, g the
order-parameter map, W the patterns, b the external fields.

Likelihoods by encoding (x is the data as the user gave it):
- ``"binary"`` x_i ∈ {0, 1}:  p(x_i | z) = Bernoulli(sigmoid(φ_i))
- ``"spin"``   s_i ∈ {±1}:    p(s_i | z) = exp(s_i φ_i) / (2 cosh φ_i)  (Bernoulli, logit 2φ_i)
- ``"vector"`` n_i ∈ S²:      p(n_i | z) = exp(n_iᵀ A_i(z) n_i) / Z(A_i(z)), Bingham, with
  A_i = Σ_c φ_ic BASIS[c] built from 5 traceless-symmetric components φ_ic (see bingham.py).

Internally the model works on a *prepared* tensor: {0, 1} floats for binary and spin data,
the 5 features of n nᵀ for vectors (:meth:`ProductVAE.prepare`).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.vae.config import VAEConfig
from napari_vaemf.core.vae import bingham

__all__ = ["VAEConfig", "Encoder", "Decoder", "TheoryParts", "ProductVAE", "ENCODINGS"]

ENCODINGS = ("binary", "spin", "vector")
_LOG_2PI = math.log(2 * math.pi)
_LOGVAR_INIT = -4.0  # initial posterior log-variance (avoids early posterior collapse)


def _log_prior_over_posterior(z: torch.Tensor, eps: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log p(z) - log q(z|x) (k, B) for z = mu + eps * exp(logvar / 2) with prior N(0, I)."""
    log_q = (-0.5 * (eps.square() + _LOG_2PI) - 0.5 * logvar).sum(-1)
    log_p = (-0.5 * (z.square() + _LOG_2PI)).sum(-1)
    return log_p - log_q


def _mlp(sizes: list[int], act: type[nn.Module] = nn.Tanh) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """MLP q(z|x) = N(mu(x), diag exp(logvar(x)))."""

    def __init__(self, n_in: int, latents: int, widths: tuple[int, ...]):
        super().__init__()
        self.net = _mlp([n_in, *widths, 2 * latents], act=nn.ELU)
        self.latents = latents
        with torch.no_grad():  # start with narrow posteriors so the decoder learns to use z
            self.net[-1].bias[latents:] = _LOGVAR_INIT

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(x.flatten(1))  # (B, 2K)
        mu, logvar = h.split(self.latents, dim=-1)  # (B, K) each
        return mu, logvar.clamp(-12.0, 8.0)


class Decoder(nn.Module):
    """φ(z) = W g(z) + b: the order-parameter map ``g`` and the linear readout (``W``, ``b``).

    ``W``: (N, H) patterns for binary/spin data, (N, 5, H) for vectors (H = K by default).
    ``b``: (N,) fields for binary/spin data, (N, 5) for vectors.
    ``g``: module R^K -> R^H (an MLP with a skip connection, or the identity).
    With H = K the fields lie in a K-dimensional affine subspace (the Hopfield form); H > K
    lets them move on a curved K-dimensional manifold (still K order parameters, still a
    product over units given z).
    """

    def __init__(self, n_units: int, latents: int, comps: int, kind: str, widths: tuple[int, ...],
                 features: int = 0):
        super().__init__()
        self.n_units, self.comps = n_units, comps
        h = features or latents
        self.g: nn.Module = _GMap(latents, widths, h) if kind == "mlp" else nn.Identity()
        self.readout = nn.Linear(h, n_units * comps)

    @property
    def W(self) -> torch.Tensor:  # noqa: N802 - the physics name
        w = self.readout.weight  # (N * comps, K)
        return w if self.comps == 1 else w.view(self.n_units, self.comps, -1)

    @property
    def b(self) -> torch.Tensor:
        b = self.readout.bias  # (N * comps,)
        return b if self.comps == 1 else b.view(self.n_units, self.comps)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        phi = self.readout(self.g(z))  # (..., N * comps)
        return phi if self.comps == 1 else phi.unflatten(-1, (self.n_units, self.comps))


class _GMap(nn.Module):
    """g(z) = (z, 0) + MLP(z) in R^H (H >= K outputs), starting at the embedding (z, 0).

    Each tanh hidden layer has a per-unit gain exp(log_gain) learned in log space, so the map
    can grow the near-discontinuous steps a first-order transition needs (the Curie-Weiss
    order parameter jumps between ±m*) in a few hundred steps rather than tens of thousands.
    """

    def __init__(self, latents: int, widths: tuple[int, ...], features: int | None = None):
        super().__init__()
        sizes = [latents, *widths]
        self.pad = (features or latents) - latents
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.log_gain = nn.ParameterList(nn.Parameter(torch.zeros(w)) for w in widths)
        self.out = nn.Linear(sizes[-1], latents + self.pad)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        for layer, log_gain in zip(self.hidden, self.log_gain):
            h = torch.tanh(layer(h) * log_gain.exp())  # (..., width)
        skip = F.pad(z, (0, self.pad)) if self.pad else z
        return skip + self.out(h)


class TheoryParts:
    """The decoder's named theory tensors, for any module holding a :class:`Decoder` as
    ``self.decoder`` (:class:`ProductVAE`, the exact engine's ``QuadratureModel``)."""

    decoder: "Decoder"

    @property
    def W(self) -> torch.Tensor:  # noqa: N802 - the physics name
        """Patterns: (N, H) (binary/spin) or (N, 5, H) (vector); H = config.features or K."""
        return self.decoder.W

    @property
    def b(self) -> torch.Tensor:
        """Fields: (N,) (binary/spin) or (N, 5) (vector)."""
        return self.decoder.b

    @property
    def g(self) -> nn.Module:
        """The order-parameter map R^K -> R^H."""
        return self.decoder.g


class ProductVAE(TheoryParts, nn.Module):
    """Gaussian encoder + product (mean-field) decoder for one encoding."""

    def __init__(self, n_units: int, encoding: str, config: VAEConfig):
        super().__init__()
        if encoding not in ENCODINGS:
            raise ParameterError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
        config = config.for_engine("vae")  # auto settings -> the VAE's defaults
        self.n_units, self.encoding, self.config = n_units, encoding, config
        comps = 5 if encoding == "vector" else 1
        self.encoder = Encoder(n_units * comps, config.latents, config.encoder_widths)
        self.decoder = Decoder(n_units, config.latents, comps, config.decoder, config.decoder_widths,
                               config.features)

    # --- data ----------------------------------------------------------------------------
    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Data in its encoding -> the float tensor the model trains on.

        binary (B, N) {0,1} -> as float; spin (B, N) ±1 -> (s + 1)/2; vector (B, N, 3) -> (B, N, 5)
        features of n nᵀ.
        """
        if self.encoding == "vector":
            return bingham.features(x.float())
        x = x.float()
        return (x + 1) / 2 if self.encoding == "spin" else x

    # --- model pieces ---------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Prepared data (B, ...) -> posterior mean and log-variance, (B, K) each."""
        return self.encoder(x)

    def fields(self, z: torch.Tensor) -> torch.Tensor:
        """Per-unit fields φ(z): (..., N); for vectors the Bingham matrices A(z), (..., N, 3, 3)."""
        phi = self.decoder(z)
        return bingham.to_matrix(phi) if self.encoding == "vector" else phi

    def log_lik(self, xp: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        """log p(x|z) summed over units: prepared x (B, ...) with decoder output (S, B, ...) -> (S, B)."""
        if self.encoding == "vector":
            log_z = bingham.log_normaliser(bingham.to_matrix(phi))  # (S, B, N)
            return (phi * xp).sum((-1, -2)) - log_z.sum(-1)
        logits = 2 * phi if self.encoding == "spin" else phi
        target = xp.expand_as(logits)
        return -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)

    @staticmethod
    def kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """KL(q(z|x) || N(0, I)) per latent, (B, K)."""
        return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar)

    def _draw(self, xp: torch.Tensor, k: int, generator: torch.Generator | None):
        """Encode ``xp`` and draw k reparameterised latents: mu, logvar (B, K), eps, z (k, B, K)."""
        mu, logvar = self.encode(xp)
        std = (0.5 * logvar).exp()
        eps = torch.randn((k, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype)
        return mu, logvar, eps, mu + eps * std

    def neg_elbo_terms(
        self, xp: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One-sample estimate: distortion -log p(x|z) and rate KL, both (B,)."""
        _, distortion, rate = self.loss_terms(xp, 1, 1.0, generator)
        return distortion, rate

    def loss_terms(
        self, xp: torch.Tensor, k: int = 1, beta: float = 1.0, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training objective, distortion and rate per sample, each (B,).

        k = 1: the negative ELBO, distortion + beta * rate. k > 1: the negative IWAE bound
        -log (1/k) Σ_j p(x|z_j)^1 [p(z_j)/q(z_j|x)]^beta (tighter; beta < 1 only during warm-up).
        Distortion is averaged over the k draws; the rate is the closed-form KL.
        """
        mu, logvar, eps, z = self._draw(xp, k, generator)
        ll = self.log_lik(xp, self.decoder(z))  # (k, B)
        rate = self.kl(mu, logvar).sum(-1)  # (B,)
        distortion = -ll.mean(0)
        if k == 1:
            return distortion + beta * rate, distortion, rate
        log_w = ll + beta * _log_prior_over_posterior(z, eps, logvar)
        return -(torch.logsumexp(log_w, 0) - math.log(k)), distortion, rate

    @torch.no_grad()
    def iwae(self, xp: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Importance-weighted bound on log p(x) with k samples, (B,) nats (>= the ELBO on average)."""
        _, logvar, eps, z = self._draw(xp, k, generator)
        log_w = self.log_lik(xp, self.decoder(z)) + _log_prior_over_posterior(z, eps, logvar)
        return torch.logsumexp(log_w, 0) - math.log(k)

    @torch.no_grad()
    def sample_fields(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw z ~ N(0, I) and return the decoder output φ(z), (n, N) or (n, N, 5)."""
        p = next(self.parameters())
        z = torch.randn((n, self.config.latents), generator=generator, device=p.device, dtype=p.dtype)
        return self.decoder(z)

