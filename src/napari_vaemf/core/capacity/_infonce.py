"""InfoNCE: a variational lower bound on I(X_A; X_B) with a trained critic.

For a batch of B pairs (a_i, b_i) from p(x_A, x_B) and a critic score s(a, b),
    I(X_A; X_B) >= E[ (1/B) Σ_i log( e^{s(a_i, b_i)} / ((1/B) Σ_j e^{s(a_i, b_j)}) ) ],
which is capped at log B (van den Oord et al. 2018; Poole et al. 2019). The critic is
separable, s(a, b) = f(a)·g(b), with two small MLPs trained on part of the samples. A
critic that sees single units memorises the training pairs within a few hundred steps (its
held-out bound then falls below zero), so training stops early on a validation split and
keeps the best critic; the bound is evaluated on a third, untouched split, and its
uncertainty is the standard error over those held-out batches.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from napari_vaemf.core.capacity._estimate import MIEstimate
from napari_vaemf.core.capacity._partitions import Bipartition
from napari_vaemf.core.errors import InputError, ParameterError
from napari_vaemf.core.optim import Adam
from napari_vaemf.core.progress import Job, Progress

__all__ = ["InfoNCEConfig", "infonce_bipartite_mi"]

log = logging.getLogger(__name__)


@dataclass
class InfoNCEConfig:
    """Critic and optimisation settings of the InfoNCE bound."""

    hidden: int = 64  # width of the hidden layer of each critic MLP
    embed: int = 16  # dimension of the embeddings f(x_A), g(x_B)
    steps: int = 3000  # maximum optimisation steps
    batch_size: int = 256  # pairs per batch; the bound can never exceed log(batch_size)
    lr: float = 2e-3  # Adam learning rate
    holdout: float = 0.3  # fraction of samples kept for evaluating the bound
    validation: float = 0.2  # fraction of samples for early stopping
    check_every: int = 50  # steps between validation checks
    patience: int = 6  # validation checks without improvement before stopping
    passes: int = 5  # reshuffled passes over the held-out samples when evaluating
    seed: int = 0  # seed for initialisation, split and batches


def _features(x: np.ndarray, encoding: str) -> np.ndarray:
    if encoding == "vector":
        u = np.asarray(x, dtype=np.float32)
        return np.einsum("tni,tnj->tnij", u, u).reshape(u.shape[0], u.shape[1], 9)
    if encoding == "spin":
        return np.where(np.asarray(x) > 0, 1.0, -1.0).astype(np.float32)
    if encoding == "binary":
        return 2.0 * (np.asarray(x) > 0).astype(np.float32) - 1.0
    raise ParameterError(f"unknown encoding {encoding!r}")


def _mlp(n_in: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, out))


def _bound(f: nn.Module, g: nn.Module, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    scores = f(a) @ g(b).T  # (B, B): row i scores a_i against every b_j
    return torch.diagonal(torch.log_softmax(scores, dim=1)).mean() + math.log(a.shape[0])


def infonce_bipartite_mi(x: np.ndarray, encoding: str, partition: Bipartition,
                         config: InfoNCEConfig | None = None) -> Job[MIEstimate]:
    """Train a separable critic and return the held-out InfoNCE lower bound (a Job)."""
    cfg = config or InfoNCEConfig()
    feats = _features(x, encoding)
    if feats.shape[1] != partition.n:
        raise InputError(None, f"data with {feats.shape[1]} units do not match a partition "
                         f"of {partition.n} units")
    t = feats.shape[0]
    n_test, n_val = int(round(cfg.holdout * t)), int(round(cfg.validation * t))
    # small data: shrink the batch to the smallest split (the cap log B shrinks with it)
    bsz = min(cfg.batch_size, n_test, n_val, t - n_test - n_val)
    if bsz < 16:
        raise ParameterError(f"{t} samples are too few for InfoNCE (holdout {cfg.holdout}, "
                             f"validation {cfg.validation}: batches under 16 pairs)")
    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    perm = torch.randperm(t, generator=gen).numpy()
    xa = torch.from_numpy(feats[:, partition.a].reshape(t, -1))
    xb = torch.from_numpy(feats[:, partition.b].reshape(t, -1))
    test, val = perm[:n_test], perm[n_test:n_test + n_val]
    train_t = torch.from_numpy(perm[n_test + n_val:])
    f = _mlp(xa.shape[1], cfg.hidden, cfg.embed)
    g = _mlp(xb.shape[1], cfg.hidden, cfg.embed)
    opt = Adam([*f.parameters(), *g.parameters()], lr=cfg.lr)

    def evaluate(rows: np.ndarray, passes: int) -> list[list[float]]:
        out = []
        with torch.no_grad():
            for _ in range(passes):
                order = rows[torch.randperm(rows.size, generator=gen).numpy()]
                out.append([float(_bound(f, g, xa[order[s:s + bsz]], xb[order[s:s + bsz]]))
                            for s in range(0, rows.size - bsz + 1, bsz)])
        return out

    best, best_state, bad, steps_done = -math.inf, None, 0, 0
    for step in range(cfg.steps):
        idx = train_t[torch.randint(0, train_t.numel(), (bsz,), generator=gen)]
        loss = -_bound(f, g, xa[idx], xb[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps_done = step + 1
        if steps_done % cfg.check_every == 0:
            v = float(np.mean(evaluate(val, 1)[0]))
            if v > best:
                best, bad = v, 0
                best_state = ({k: w.clone() for k, w in f.state_dict().items()},
                              {k: w.clone() for k, w in g.state_dict().items()})
            else:
                bad += 1
            yield Progress("infonce " + partition.name, steps_done, cfg.steps,
                           {"validation_bound_nats": v, "train_bound_nats": float(-loss.detach())})
            if bad >= cfg.patience:
                break
    if best_state is not None:
        f.load_state_dict(best_state[0])
        g.load_state_dict(best_state[1])
    passes = evaluate(test, cfg.passes)
    values = [v for p in passes for v in p]
    first_pass = passes[0]
    value = float(np.mean(values))
    k = len(first_pass)
    se = float(np.std(first_pass, ddof=1) / np.sqrt(k)) if k > 1 else 0.0
    cap = math.log(bsz)
    saturated = value > cap - 0.5
    if saturated:
        log.warning("InfoNCE bound %.3f is close to its cap log(%d) = %.3f", value, bsz, cap)
    return MIEstimate(value, value - 1.96 * se, value + 1.96 * se, "infonce", "lower bound",
                      partition.name, {"stderr": se, "cap_nats": cap, "saturated": saturated,
                                       "held_out": int(n_test), "steps": steps_done})
