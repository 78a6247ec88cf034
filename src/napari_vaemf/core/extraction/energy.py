"""The read-off energy of an exact fit, in closed form, in a file anyone can use.

A product decoder with linear readout, φ(z) = W g(z) + b, integrated over the prior on the
fit's quadrature grid (nodes z_g, normalised weights w_g) has the marginal

    log p(x) = b·x + F(Wᵀx),   F(u) = logsumexp_g [ log w_g + g(z_g)·u − Σ_i log Z_i(φ_i(z_g)) ]

for x ∈ {0, 1}^N, Z_i(φ) = 1 + e^φ: an energy E(x) = −b·x − F(Wᵀx) of H collective
projections Wᵀx with a non-quadratic interaction F (the quadratic case is the generalized
Hopfield model). It is the exact model the fit reports (the grid model), not an
approximation. Spins s = ±1 enter as x = (s + 1)/2 with W and b doubled (the logits of
p(s_i | φ_i) = e^{s_i φ_i} / 2cosh φ_i), so the file always speaks the {0, 1} convention.

``energy.npz`` (``format`` = ``vaemf-energy-1``) holds, all float64:

- ``patterns`` (N, H): W, ``fields`` (N,): b — in the {0, 1} convention;
- ``nodes`` (G, K): z_g; ``log_weights`` (G,): log w_g (logsumexp = 0);
- ``projections`` (G, H): g(z_g); ``log_norm`` (G,): Σ_i log(1 + e^{b_i + W_i·g(z_g)});
- ``encoding``: "binary" or "spin" (how to map data to x), ``formula``: the line above.

:func:`load_energy` reads it with numpy alone; :meth:`Energy.log_prob` and
:meth:`Energy.sample` evaluate and sample it exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit, logsumexp

from napari_vaemf.core.errors import InputError, ParameterError

__all__ = ["Energy", "energy_of", "load_energy", "ENERGY_FORMAT"]

ENERGY_FORMAT = "vaemf-energy-1"
FORMULA = ("log p(x) = fields·x + logsumexp_g[log_weights_g + projections_g·(patternsᵀx) - "
           "log_norm_g], x in {0,1}^N (spins: x = (s+1)/2)")
_ARRAYS = ("patterns", "fields", "nodes", "log_weights", "projections", "log_norm")


@dataclass
class Energy:
    """E(x) = −b·x − F(Wᵀx) on a quadrature of the prior (module docstring)."""

    patterns: np.ndarray  # (N, H) W, {0, 1} convention
    fields: np.ndarray  # (N,) b, {0, 1} convention
    nodes: np.ndarray  # (G, K) z_g
    log_weights: np.ndarray  # (G,) log w_g
    projections: np.ndarray  # (G, H) g(z_g)
    log_norm: np.ndarray  # (G,) Σ_i log Z_i(φ_i(z_g))
    encoding: str  # "binary" | "spin": how data map to x

    def _x01(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.patterns.shape[0]:
            raise ParameterError(f"need (T, {self.patterns.shape[0]}) configurations, got {x.shape}")
        return (x + 1) / 2 if self.encoding == "spin" else x

    def log_prob(self, x: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """Exact log p(x) (T,) nats for configurations in the data's encoding."""
        x01 = self._x01(x)
        out = np.empty(len(x01))
        for a in range(0, len(x01), chunk):
            xb = x01[a : a + chunk]
            u = xb @ self.patterns  # (B, H) the collective projections Wᵀx
            inner = self.log_weights[None, :] + u @ self.projections.T - self.log_norm[None, :]
            out[a : a + chunk] = xb @ self.fields + logsumexp(inner, axis=1)
        return out

    def unit_probabilities(self) -> np.ndarray:
        """P(x_i = 1 | z_g) at every node, (G, N): the model is their mixture with weights w."""
        return expit(self.projections @ self.patterns.T + self.fields[None, :])

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` exact samples (n, N) int8 in the data's encoding: a node by its weight, then
        independent units."""
        rng = np.random.default_rng(seed)
        w = np.exp(self.log_weights - logsumexp(self.log_weights))
        g = rng.choice(len(w), size=int(n), p=w / w.sum())
        p = expit(self.projections[g] @ self.patterns.T + self.fields[None, :])
        x = (rng.random(p.shape) < p).astype(np.int8)
        return (2 * x - 1).astype(np.int8) if self.encoding == "spin" else x

    def save(self, path: str | Path) -> Path:
        """Write the ``.npz`` (module docstring); returns its path."""
        path = Path(path)
        with open(path, "wb") as fh:
            np.savez(fh, format=np.array(ENERGY_FORMAT), encoding=np.array(self.encoding),
                     formula=np.array(FORMULA), **{k: getattr(self, k) for k in _ARRAYS})
        return path


def energy_of(fit: Any) -> Energy:
    """The energy of a fit on the exact engine (its evaluation grid and decoder)."""
    import torch

    if getattr(fit, "method", None) != "exact" or not hasattr(fit, "grid"):
        raise ParameterError("the read-off energy needs a fit on the exact engine (binary or "
                             "spin data, K <= 3): refit with `vaemf fit` (method auto or exact)")
    model, grid = fit.model, fit.grid
    with torch.no_grad():
        p = next(model.parameters())
        if model.config.decoder == "identity":  # g(z) = z, kept in float64
            g = np.asarray(grid.nodes, np.float64)
        else:
            g = model.decoder.g(torch.as_tensor(grid.nodes, dtype=p.dtype)).double().cpu().numpy()
        w = model.decoder.readout.weight.double().cpu().numpy()
        b = model.decoder.readout.bias.double().cpu().numpy()
    if fit.encoding == "spin":  # logits of x = (s + 1)/2 are 2φ
        w, b = 2 * w, 2 * b
    logits = g @ w.T + b[None, :]
    return Energy(patterns=w, fields=b, nodes=np.asarray(grid.nodes, np.float64),
                  log_weights=model.node_log_weights(grid).numpy(), projections=g,
                  log_norm=np.logaddexp(0.0, logits).sum(1), encoding=fit.encoding)


def load_energy(path: str | Path) -> Energy:
    """Read an ``energy.npz`` (one-line :class:`InputError` when it is not one)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            if "format" not in z or str(z["format"]) != ENERGY_FORMAT:
                raise InputError(path, f"is not a {ENERGY_FORMAT} file")
            arrays = {k: np.asarray(z[k], dtype=np.float64) for k in _ARRAYS}
            encoding = str(z["encoding"])
    except (OSError, ValueError, KeyError) as err:
        raise InputError(path, f"cannot read the energy file ({err})") from err
    n, h = arrays["patterns"].shape if arrays["patterns"].ndim == 2 else (0, 0)
    g = arrays["log_weights"].shape[0]
    ok = (arrays["fields"].shape == (n,) and arrays["projections"].shape == (g, h)
          and arrays["log_norm"].shape == (g,) and arrays["nodes"].shape[0] == g and n > 0
          and encoding in ("binary", "spin"))
    if not ok:
        raise InputError(path, "has inconsistent energy arrays (patterns, fields, nodes, "
                               "log_weights, projections, log_norm)")
    return Energy(**arrays, encoding=encoding)
