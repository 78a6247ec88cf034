"""What every read-off returns, and the decoder pieces it is computed from."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from napari_vaemf.core.errors import ParameterError

__all__ = ["Extraction", "decoder_parts", "prior_pushforward", "posterior_pushforward"]


SUMMARY_KEYS = ("attractors", "silent_state", "quadratic_share", "quadratic")  # extraction.json entries that are not parameters


@dataclass
class Extraction:
    """A mean-field theory read off a trained decoder."""

    theory: str  # "curie-weiss" | "hopfield" | "maier-saupe" | "generalized-hopfield"
    parameters: dict[str, float]  # named scalars: beta_J, beta_h, beta, ...
    consistency: float  # one score in [0, 1]: 1 = the decoder is exactly of the theory's form
    diagnostics: dict[str, Any] = field(default_factory=dict)  # fit-quality numbers behind it
    patterns: np.ndarray | None = None  # (N, P) patterns (±1 for "hopfield"), else None
    fields: np.ndarray | None = None  # (N,) external fields h_i, else None
    encoding: str = "spin"  # encoding of the data the theory describes
    bin_size: float | None = None  # seconds per bin of the data the decoder was fitted on (None: configurations)
    summary: dict[str, Any] = field(default_factory=dict)  # top-level entries beside the parameters (SUMMARY_KEYS: attractors, quadratic_share, ...)

    def to_json(self) -> dict:
        """JSON-able dict (``theory``, the parameters by name, ``consistency``, diagnostics)."""
        out = {"theory": self.theory, **{k: _num(v) for k, v in self.parameters.items()}}
        out["consistency"] = _num(self.consistency)
        out["encoding"] = self.encoding
        out["bin_size"] = self.bin_size
        out["diagnostics"] = _jsonable(self.diagnostics)
        if self.patterns is not None:
            out["n_units"], out["n_patterns"] = (int(s) for s in self.patterns.shape)
        out.update({k: _jsonable(v) for k, v in self.summary.items()})
        return out

    def save(self, run_dir: str | Path) -> list[Path]:
        """Write ``extraction.json`` (+ ``patterns.npy``, ``fields.npy``) into ``run_dir``."""
        run_dir = Path(run_dir)
        paths = [run_dir / "extraction.json"]
        paths[0].write_text(json.dumps(self.to_json(), indent=2) + "\n")
        if self.patterns is not None:
            paths.append(run_dir / "patterns.npy")
            np.save(paths[-1], np.asarray(self.patterns, dtype=np.float64))
        if self.fields is not None:
            paths.append(run_dir / "fields.npy")
            np.save(paths[-1], np.asarray(self.fields, dtype=np.float64))
        return paths

    @classmethod
    def load(cls, run_dir: str | Path) -> "Extraction":
        run_dir = Path(run_dir)
        d = json.loads((run_dir / "extraction.json").read_text())
        skip = {"theory", "consistency", "encoding", "diagnostics", "n_units", "n_patterns",
                "bin_size", *SUMMARY_KEYS}
        pat = run_dir / "patterns.npy"
        fld = run_dir / "fields.npy"
        return cls(
            theory=d["theory"],
            parameters={k: v for k, v in d.items() if k not in skip},
            consistency=d["consistency"],
            diagnostics=d.get("diagnostics", {}),
            patterns=np.load(pat) if pat.exists() else None,
            fields=np.load(fld) if fld.exists() else None,
            encoding=d.get("encoding", "spin"),
            bin_size=d.get("bin_size"),
            summary={k: d[k] for k in SUMMARY_KEYS if k in d},
        )


def _num(v: Any) -> Any:
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    return _num(v)


def decoder_parts(fit: Any) -> tuple[np.ndarray, np.ndarray]:
    """The readout ``W`` and fields ``b`` of a :class:`~napari_vaemf.core.vae.Fit` as numpy."""
    model = fit.model
    return (
        model.W.detach().cpu().numpy().astype(np.float64),
        model.b.detach().cpu().numpy().astype(np.float64),
    )


@torch.no_grad()
def prior_pushforward(fit: Any, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``z`` (n, K) of the model's latent measure and the order parameters ``g(z)`` (n, K) of
    the decoder: z ~ N(0, I_K), or the fit's own draws when it has them (an exact fit of the
    strict Hopfield class draws its tilted measure, :meth:`ExactFit.prior_draws`)."""
    if n < 1:
        raise ParameterError(f"need at least one prior sample, got {n}")
    if hasattr(fit, "prior_draws"):
        z = fit.prior_draws(n, seed)
    else:
        z = np.random.default_rng(seed).standard_normal((n, fit.config.latents))
    p = next(fit.model.parameters())
    g = fit.model.g(torch.as_tensor(z, dtype=p.dtype, device=p.device))
    return z, g.cpu().numpy().astype(np.float64)


@torch.no_grad()
def posterior_pushforward(fit: Any, n: int, seed: int = 0, data: np.ndarray | None = None
                          ) -> np.ndarray | None:
    """g(z) for z drawn from the aggregate posterior (1/T) Σ_t q(z | x_t), (n, K), over the
    fit's data (or ``data``); ``None`` when the fit holds no data. Exact fits draw from their
    exact posterior on the grid (:meth:`ExactFit.posterior_draws`), VAE fits from q. When the model is exact the
    aggregate posterior equals the prior, but it has no 'holes' where the prior puts mass the
    data never use (e.g. between the two states of an ordered magnet)."""
    if hasattr(fit, "posterior_draws"):  # exact fits: nodes drawn by their exact posterior weight
        z = fit.posterior_draws(n, seed, data)
        if z is None:
            return None
        p = next(fit.model.parameters())
        return fit.model.g(torch.as_tensor(z, dtype=p.dtype, device=p.device)).cpu().numpy().astype(np.float64)
    x = data if data is not None else getattr(fit, "x", None)
    if x is None:
        return None
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(x), size=n, replace=len(x) < n))
    p = next(fit.model.parameters())
    out = []
    for i in range(0, n, 8192):
        xb = fit.model.prepare(torch.as_tensor(np.asarray(x[rows[i : i + 8192]])).to(p.device))
        mu, logvar = fit.model.encode(xb)
        eps = torch.as_tensor(rng.standard_normal(tuple(mu.shape)), dtype=mu.dtype, device=mu.device)
        out.append(fit.model.g(mu + eps * (0.5 * logvar).exp()).cpu().numpy())
    return np.concatenate(out).astype(np.float64)
