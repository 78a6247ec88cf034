"""What a trained VAE says: its rate, and the bipartite MI of the distribution it models.

Rate R = E_x KL(q(z|x) || p(z)) per sample, total and per latent (from ``Fit.evaluate``);
a latent is *active* when its rate exceeds a threshold.

Model-based MI: the fitted model p(x) = ∫ p(z) Π_i p(x_i|z) dz is sampled (x ~ p), and
    I_model(X_A; X_B) = E_x [ log p(x) - log p(x_A) - log p(x_B) ]
with every marginal p(x_S) = ∫ p(z) Π_{i∈S} p(x_i|z) dz estimated by importance sampling
from the *same* draws z_m ~ r(z|x) = ½ q(z|x) + ½ p(z): the encoder's posterior keeps the
full-x term accurate, the prior half keeps the weights of the half-marginals bounded
(w <= 2 p(x_S|z)). Each log-mean-exp is biased low by O(1/M); the report keeps the value
with a quarter of the draws as a convergence check.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from napari_vaemf.core.capacity._estimate import MIEstimate
from napari_vaemf.core.capacity._partitions import Bipartition
from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.progress import Job, Progress

__all__ = ["RateSummary", "fit_rate", "model_bipartite_mi"]

_LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class RateSummary:
    """The rate of a trained fit, in nats per sample."""

    total_nats: float  # E KL(q(z|x) || p(z)) summed over latents
    per_latent_nats: tuple[float, ...]  # the same, per latent
    active: int  # number of latents with rate above ``threshold_nats``
    threshold_nats: float  # the activity threshold used

    def as_dict(self) -> dict:
        return asdict(self)


def fit_rate(fit, x: np.ndarray | None = None, threshold_nats: float = 0.02,
             metrics: dict | None = None) -> RateSummary:
    """Rate of ``fit`` (a :class:`~napari_vaemf.core.vae.Fit`) on ``x`` (default: its
    training split). ``metrics`` reuses an ``evaluate()`` result instead of recomputing."""
    m = metrics if metrics is not None else fit.evaluate(x)
    per = tuple(float(v) for v in m["rate_per_latent_nats"])
    return RateSummary(float(m["rate_nats"]), per,
                       int(sum(v > threshold_nats for v in per)), threshold_nats)


def _log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return (-0.5 * ((z - mu).square() / logvar.exp() + logvar + _LOG_2PI)).sum(-1)


@torch.no_grad()
def _pointwise_mi(model, xp: torch.Tensor, part: Bipartition, draws: int,
                  gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """log p(x) - log p(x_A) - log p(x_B) per row of prepared ``xp`` (B, ...), with all
    ``draws`` and with the first quarter of each stratum."""
    mu, logvar = model.encode(xp)  # (B, K)
    half = draws // 2
    eps = torch.randn((half, *mu.shape), generator=gen, device=mu.device, dtype=mu.dtype)
    z_q = mu + eps * (0.5 * logvar).exp()
    z_p = torch.randn((half, *mu.shape), generator=gen, device=mu.device, dtype=mu.dtype)
    z = torch.cat([z_q, z_p])  # (M, B, K): stratified draws from ½q + ½p
    zeros = torch.zeros_like(mu)
    log_prior = _log_normal(z, zeros, zeros)
    log_r = torch.logaddexp(_log_normal(z, mu, logvar), log_prior) - math.log(2)
    phi = model.decoder(z)  # (M, B, N) or (M, B, N, 5)
    a, b = torch.as_tensor(part.a), torch.as_tensor(part.b)
    ll_a = model.log_lik(xp[:, a], phi[:, :, a])
    ll_b = model.log_lik(xp[:, b], phi[:, :, b])
    base = log_prior - log_r

    def lme(lw: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        lw = lw[keep]
        return torch.logsumexp(lw, 0) - math.log(lw.shape[0])

    out = []
    for keep in (torch.arange(2 * half), torch.cat([torch.arange(half // 4),
                                                     half + torch.arange(half // 4)])):
        out.append(lme(base + ll_a + ll_b, keep) - lme(base + ll_a, keep) - lme(base + ll_b, keep))
    return out[0], out[1]


def model_bipartite_mi(fit, partition: Bipartition, samples: int = 2000, draws: int = 512,
                       batch: int = 50, seed: int = 0) -> Job[MIEstimate]:
    """I(X_A; X_B) of the distribution a trained fit models (a Job; "model-based")."""
    if draws < 8:
        raise ParameterError(f"draws must be >= 8, got {draws}")
    if partition.n != fit.n_units:
        raise ParameterError(f"partition covers {partition.n} units, the fit {fit.n_units}")
    model = fit.model
    model.eval()
    x = fit.sample(samples, seed=seed)
    dev = next(model.parameters()).device
    gen = torch.Generator(device=dev).manual_seed(seed + 1)
    full, quarter = [], []
    for s in range(0, samples, batch):
        xp = model.prepare(torch.as_tensor(x[s:s + batch]).to(dev))
        f, q = _pointwise_mi(model, xp, partition, draws, gen)
        full.append(f.double().cpu())
        quarter.append(q.double().cpu())
        yield Progress("model MI " + partition.name, min(s + batch, samples), samples)
    v = torch.cat(full).numpy()
    value = float(v.mean())
    se = float(v.std(ddof=1) / np.sqrt(v.size))
    return MIEstimate(value, value - 1.96 * se, value + 1.96 * se, "vae-importance",
                      "model-based", partition.name,
                      {"stderr": se, "samples": samples, "draws": draws,
                       "value_quarter_draws": float(torch.cat(quarter).mean())})
