"""How much of the latent variance a repeated stimulus locks: repeat average vs the rest.

With R repeats of P bins (repeat-major rows), the total latent variance (the trace of the
covariance, so the split does not depend on how the latent axes are rotated) splits
exactly into the variance of the repeat-averaged trajectory m(p) across the stimulus and
the trial-to-trial variance around it. The repeat average of a finite number of repeats
keeps 1/R of the trial-to-trial variance, which would count as stimulus-locked; that part
is estimated from the within-bin spread (unbiased: within / (R - 1)) and subtracted.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError

__all__ = ["stimulus_locked_share", "variance_partition", "stimulus_locked_text"]


def variance_partition(latents, repeats: int) -> dict:
    """The split of the latents' total variance (trace of covariance) between the
    stimulus-locked trajectory and the trial-to-trial part; json-able.

    ``stimulus_locked_share`` is bias-corrected for the finite number of repeats (clipped
    at 0); ``uncorrected_share`` is the plain variance of the repeat average over the total.
    """
    z = np.asarray(latents, dtype=np.float64)
    z = z.reshape(len(z), -1)  # (T, K)
    r = int(repeats) if repeats else 0
    if r < 2:
        raise ParameterError(f"the stimulus-locked share needs at least 2 repeats, got {repeats}")
    t, k = z.shape
    if t % r:
        raise ParameterError(f"{t} latent rows cannot be split into {r} repeats")
    p = t // r
    zr = z.reshape(r, p, k)  # (repeat, bin in the repeat, K)
    mu = z.mean(axis=0)
    total = float(((z - mu) ** 2).sum(axis=1).mean())
    m = zr.mean(axis=0)  # (P, K): the repeat-averaged trajectory
    locked_raw = float(((m - mu) ** 2).sum(axis=1).mean())
    within = float(((zr - m) ** 2).sum(axis=2).mean())  # = total - locked_raw
    locked = max(0.0, locked_raw - within / (r - 1))
    share = locked / total if total > 0 else float("nan")
    return {
        "stimulus_locked_share": share,
        "trial_to_trial_share": 1.0 - share if total > 0 else float("nan"),
        "uncorrected_share": locked_raw / total if total > 0 else float("nan"),
        "total_variance": total,
        "stimulus_locked_variance": locked,
        "repeats": r,
        "bins_per_repeat": p,
    }


def stimulus_locked_share(latents, repeats: int) -> float:
    """Share of the latents' total variance (trace of covariance, rotation-invariant)
    explained by the repeat-averaged trajectory, corrected for the finite number of repeats.

    ``latents``: (T, K) with T = repeats × bins per repeat, repeat-major (as fits keep them).
    """
    return variance_partition(latents, repeats)["stimulus_locked_share"]


def stimulus_locked_text(latents, repeats: int | None) -> str:
    """" Stimulus-locked share of the latent variance: 0.42 (297 repeats)." for a status
    line, or "" when there are no repeats to split by (or the rows do not split into them)."""
    if latents is None or not repeats or int(repeats) < 2 or len(latents) % int(repeats):
        return ""
    share = stimulus_locked_share(latents, int(repeats))
    return f" Stimulus-locked share of the latent variance: {share:.2f} ({int(repeats)} repeats)."
