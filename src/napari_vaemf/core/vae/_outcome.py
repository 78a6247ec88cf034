"""Is a finished fit worth saving, and how to state its held-out numbers.

- :func:`check_trained`: a fit whose weights are not finite, or whose loss is far worse than
  a coin flip's (what ``--lr 1e6`` gives: a held-out log-likelihood of -1e29 nats), diverged;
  it is refused with a one-line :class:`ParameterError` suggesting a lower ``--lr`` instead of
  being saved as a result.
- :func:`heldout_words` / :func:`heldout_numbers`: with ``--holdout 0`` nothing is held out, so
  there is no held-out log-likelihood; the report says so (``None``) instead of printing NaN.
"""
from __future__ import annotations

import math
from typing import Any

from napari_vaemf.core.errors import ParameterError

__all__ = ["check_trained", "coin_flip_nats", "heldout_words", "heldout_numbers", "DIVERGED_FACTOR"]

# A loss this many times a coin flip's (plus 10 nats) is divergence, not a poor fit: even the
# independent-unit model that starts every fit is within a small factor of the coin flip.
DIVERGED_FACTOR = 10.0
HELDOUT_KEYS = ("test_elbo_nats", "test_loglik_nats")


def coin_flip_nats(n_units: int, encoding: str) -> float:
    """Negative log-likelihood per sample of the uniform model: N log 2 for binary and spin
    data, N log 4π for unit vectors (the uniform density on the sphere)."""
    return n_units * (math.log(4 * math.pi) if encoding == "vector" else math.log(2.0))


def check_trained(fit: Any, evaluation: dict | None = None) -> None:
    """Raise :class:`ParameterError` when ``fit`` (a trained :class:`~napari_vaemf.core.vae.Fit`)
    diverged: non-finite weights, or a non-finite or absurd loss.

    Looks at the numbers of the model the fit kept: its held-out negative ELBO when rows were
    held out (the best epoch's, which training restored), else the last epoch's training
    negative ELBO and rate; and, given ``evaluation`` (``Fit.evaluate()``), the held-out
    log-likelihood and the rate of the final model.
    """
    lr = fit.config.lr
    advice = f"fit again with a lower --lr (now {lr:g})"
    model = getattr(fit, "model", None)
    for name, tensor in (model.state_dict().items() if hasattr(model, "state_dict") else ()):
        if tensor.is_floating_point() and not bool(tensor.isfinite().all()):
            raise ParameterError(f"the fit diverged: weight {name} holds NaN or infinite values; {advice}")
    numbers: dict[str, float] = {}
    history = list(getattr(fit, "history", None) or [])
    if len(getattr(fit, "test_index", ())) and history and hasattr(fit, "best_test_neg_elbo"):
        numbers["held-out -ELBO"] = float(fit.best_test_neg_elbo)
    elif history:
        last = history[-1]
        numbers["training -ELBO"] = float(last["neg_elbo"] if "neg_elbo" in last else -last.get("loglik", 0.0))
        numbers["rate"] = float(history[-1].get("rate", 0.0))
    if evaluation:
        if evaluation.get("n_test"):
            numbers["held-out log-likelihood"] = -float(evaluation["test_loglik_nats"])
        numbers["rate"] = float(evaluation["rate_nats"])
    base = coin_flip_nats(fit.n_units, fit.encoding)
    for label, value in numbers.items():
        if not math.isfinite(value) or value > DIVERGED_FACTOR * base + 10.0:
            shown = -value if label.endswith("log-likelihood") else value
            raise ParameterError(
                f"the fit diverged: {label} {shown:.4g} nats per sample (a coin flip scores "
                f"{base:.4g} on these {fit.n_units} units); {advice}")


def heldout_numbers(evaluation: dict) -> dict:
    """``evaluation`` with the held-out numbers ``None`` when nothing was held out (JSON has no
    NaN)."""
    out = dict(evaluation)
    if not out.get("n_test"):
        out.update({k: None for k in HELDOUT_KEYS if k in out})
    return out


def heldout_words(evaluation: dict, split: str) -> str:
    """The held-out part of a fit's one-line summary."""
    if not evaluation.get("n_test"):
        return "nothing held out (--holdout 0), so no held-out log-likelihood"
    how = "exact" if evaluation.get("method") == "exact" else f"IWAE bound, k={evaluation['iwae_k']}"
    return (f"held-out log-likelihood {evaluation['test_loglik_nats']:.4f} nats/sample "
            f"({how}, {split} held out)")
