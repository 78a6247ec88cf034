"""Controls that say a structure is real: shuffled surrogates and restart consistency.

- :func:`shuffle_surrogate`: each unit's time series shifted circularly by its own random
  offset. Every unit keeps its rate and its autocorrelation; the coordination between units
  is broken. With stimulus repeats the shifts are whole repeats, which keeps the
  stimulus-locked (signal) correlations and removes only the trial-to-trial (noise)
  correlations.
- :func:`independent_loglik`: held-out log-likelihood of independent units (rates from the
  training rows), the baseline a latent model's gain is measured from.
- :func:`restart_consistency`: R² of one restart's latents predicted linearly from another's
  (the best affine alignment; latents are defined up to such a map).
"""
from __future__ import annotations

import numpy as np

from napari_vaemf.core.errors import ParameterError

__all__ = ["shuffle_surrogate", "independent_loglik", "restart_consistency"]


def shuffle_surrogate(x: np.ndarray, repeats: int | None = None, seed: int = 0) -> np.ndarray:
    """``x`` (T, N[, 3]) with every unit circularly shifted by its own random offset.

    With ``repeats`` (rows repeat-major, T divisible by it) the offsets are whole repeats, so
    each unit's response to the stimulus stays where it was.
    """
    x = np.asarray(x)
    t, n = x.shape[0], x.shape[1]
    rng = np.random.default_rng(seed)
    if repeats and repeats >= 2:
        if t % repeats:
            raise ParameterError(f"{t} rows cannot be split into {repeats} repeats")
        per = t // repeats
        shifts = rng.integers(1, repeats, size=n) * per
    else:
        if t < 3:
            raise ParameterError(f"need at least 3 rows to shuffle, got {t}")
        shifts = rng.integers(1, t, size=n)
    out = np.empty_like(x)
    for i in range(n):
        out[:, i] = np.roll(x[:, i], shifts[i], axis=0)
    return out


def independent_loglik(x_train: np.ndarray, x_test: np.ndarray, encoding: str) -> np.ndarray:
    """Per-row log-likelihood (nats) of ``x_test`` under independent Bernoulli units whose
    rates are those of ``x_train`` (clipped to [0.5/T, 1 - 0.5/T]); binary or spin data."""
    if encoding not in ("binary", "spin"):
        raise ParameterError(f"independent_loglik is for binary or spin data, not {encoding}")
    on_train = (np.asarray(x_train) > 0).astype(np.float64)
    on_test = (np.asarray(x_test) > 0).astype(np.float64)
    t = len(on_train)
    p = np.clip(on_train.mean(axis=0), 0.5 / t, 1 - 0.5 / t)
    return on_test @ np.log(p) + (1 - on_test) @ np.log1p(-p)


def restart_consistency(z_a: np.ndarray, z_b: np.ndarray) -> float:
    """R² of ``z_b`` predicted from ``z_a`` by the best affine map (least squares), pooled
    over ``z_b``'s dimensions: 1 - Σ residual² / Σ (z_b - mean)². Rows are the same samples."""
    z_a, z_b = np.asarray(z_a, np.float64), np.asarray(z_b, np.float64)
    if z_a.ndim != 2 or z_b.ndim != 2 or len(z_a) != len(z_b) or len(z_a) < 3:
        raise ParameterError(f"latents must be (T, K) of the same T >= 3, got {z_a.shape}, {z_b.shape}")
    design = np.column_stack([z_a, np.ones(len(z_a))])
    coef, *_ = np.linalg.lstsq(design, z_b, rcond=None)
    resid = z_b - design @ coef
    total = ((z_b - z_b.mean(axis=0)) ** 2).sum()
    return float(1.0 - (resid**2).sum() / total) if total > 0 else float("nan")
