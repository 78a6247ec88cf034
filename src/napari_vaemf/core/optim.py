"""The optimisers of the fits, without ``torch.optim``: Adam (the exact engine, the VAE,
InfoNCE, the strict Hopfield fit) and :func:`lbfgs` (the strict fit's polish, the exact RBM).

``torch.optim.Adam`` imports ``torch._dynamo`` when it is made (1.5-2.3 s on the 2-core
machine, once per process: each Dask worker pays it again) and wraps every step in hooks
these fits do not use (a VAE fit of 255 steps trained 11 % faster without them, to the same
bits). This is the same update as torch's single-tensor Adam, what torch runs on the CPU
(β = (0.9, 0.999), ε = 1e-8, no weight decay), with the same ``param_groups``,
``zero_grad``, ``step`` and ``state_dict`` layout, so checkpoints written with either load
in both. ``torch.optim.LBFGS`` imports ``torch._dynamo`` too, so :func:`lbfgs` is scipy's
L-BFGS-B driven by a torch gradient.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

__all__ = ["Adam", "lbfgs"]


def lbfgs(loss_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]], x0: np.ndarray,
          **options):
    """scipy's L-BFGS-B on ``loss_and_grad`` (value and gradient as float64) from ``x0``, with
    ``options`` passed to it (maxiter, maxcor, gtol, ftol); returns scipy's result.

    OpenBLAS is held to one thread meanwhile: L-BFGS-B calls it between evaluations and its
    worker threads then spin, taking the cores torch's threads need for the next one (an
    exact RBM fit with 16 hidden units ran 300 iterations in 34 s without the limit, 16 s
    with it, on 2 cores)."""
    from scipy.optimize import minimize
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        return minimize(loss_and_grad, x0, jac=True, method="L-BFGS-B", options=options)


class Adam:
    """Adam over ``params`` with learning rate ``lr`` (``param_groups[0]["lr"]`` may be set
    between steps, as schedules do)."""

    def __init__(self, params, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.params = [p for p in params]
        self.param_groups = [{"lr": float(lr), "betas": tuple(betas), "eps": float(eps),
                              "weight_decay": 0, "amsgrad": False, "maximize": False,
                              "params": list(range(len(self.params)))}]
        self.state: dict[int, dict[str, torch.Tensor]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One Adam update of every parameter that has a gradient."""
        group = self.param_groups[0]
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            st = self.state.get(i)
            if st is None:
                st = self.state[i] = {"step": torch.tensor(0.0),
                                      "exp_avg": torch.zeros_like(p),
                                      "exp_avg_sq": torch.zeros_like(p)}
            st["step"] += 1
            t = float(st["step"])
            st["exp_avg"].lerp_(p.grad, 1 - b1)
            st["exp_avg_sq"].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            denom = (st["exp_avg_sq"].sqrt() / (1 - b2 ** t) ** 0.5).add_(eps)
            p.addcdiv_(st["exp_avg"], denom, value=-lr / (1 - b1 ** t))

    def state_dict(self) -> dict:
        """``torch.optim.Adam.state_dict()``'s layout."""
        groups = [{k: v for k, v in g.items()} for g in self.param_groups]
        return {"state": {i: {k: v.clone() for k, v in st.items()} for i, st in self.state.items()},
                "param_groups": groups}

    def load_state_dict(self, sd: dict) -> None:
        """Restore from :meth:`state_dict` (or ``torch.optim.Adam``'s)."""
        group = sd["param_groups"][0]
        self.param_groups[0].update({k: group[k] for k in ("lr", "betas", "eps") if k in group})
        self.param_groups[0]["betas"] = tuple(self.param_groups[0]["betas"])
        self.state = {}
        for key, st in sd["state"].items():
            i = int(key)
            p = self.params[i]
            step = st["step"]
            self.state[i] = {"step": torch.as_tensor(float(step)),
                             "exp_avg": st["exp_avg"].to(p.dtype).clone(),
                             "exp_avg_sq": st["exp_avg_sq"].to(p.dtype).clone()}
