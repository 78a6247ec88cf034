"""The capacity report: sweep points, bipartite MI, the verdict, JSON and a figure."""
from __future__ import annotations

import math

from dataclasses import asdict, dataclass, field

import numpy as np

from napari_vaemf.core.capacity._estimate import MIEstimate
from napari_vaemf.core.configs import jsonable

__all__ = ["SweepPoint", "CapacityReport", "headline_mi", "plot_report"]


@dataclass
class SweepPoint:
    """One VAE fit of the sweep (K latents, one seed), judged on held-out data."""

    latents: int  # K
    seed: int  # the fit's seed
    rate_nats: float  # E KL(q(z|x)||p(z)) per held-out sample (exact fits: I(X; Z))
    rate_per_latent_nats: list[float]  # the same per latent
    active_latents: int  # latents whose rate exceeds the activity threshold
    test_loglik_nats: float  # held-out log-likelihood per sample (exact, or the VAE's IWAE bound)
    test_elbo_nats: float  # ELBO per held-out sample
    stat_errors: dict = field(default_factory=dict)  # model vs held-out data (core.stats.compare)
    model_mi: dict | None = None  # model-based bipartite MI (MIEstimate.as_dict()) or None
    epochs: int = 0  # epochs trained (early stopping included)
    train_seconds: float = 0.0  # wall-clock training time
    decoder: str = "mlp"  # the decoder kind that won on the fit's validation split
    val_neg_elbo: float = float("nan")  # best negative ELBO on the fit's own validation split


def _num(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def headline_mi(estimates: list[MIEstimate]) -> dict:
    """``bipartite_mi_nats``: the largest data lower bound over partitions and methods.

    The bound rate >= I(X_A; X_B) must hold for every cut, so the binding number is the
    largest one; model-based values never enter it (they describe the fit, not the data),
    nor do exact values (shown next to it as ``exact`` when the generating model is known).
    """
    data = [e for e in estimates if e.kind in ("lower bound", "estimate")]
    exact = [e for e in estimates if e.kind == "exact"]
    if not data:
        return {"estimate": None, "lower": None, "upper": None, "method": None, "partitions": []}
    best = max(data, key=lambda e: e.value)
    parts: dict[str, list] = {}
    for e in estimates:
        parts.setdefault(e.partition, []).append(e.as_dict())
    return {"estimate": best.value, "lower": best.lower, "upper": best.upper,
            "method": best.method, "kind": best.kind, "partition": best.partition,
            "exact": max(e.value for e in exact) if exact else None,
            "partitions": [{"name": k, "estimates": v} for k, v in parts.items()]}


@dataclass
class CapacityReport:
    """Everything ``capacity_sweep`` found; :meth:`to_json` is ``capacity.json``."""

    points: list[SweepPoint]  # every fit of the sweep
    bipartite_mi: list[MIEstimate]  # data (and model-based) MI per partition and method
    latents_needed: int | None  # smallest K within tolerance of the best held-out log-lik
    mean_field: bool  # False when the data show no low-dimensional mean-field description
    tolerance_nats: float  # the held-out log-lik tolerance that was applied
    reasons: list[str] = field(default_factory=list)  # why latents_needed / mean_field
    settings: dict = field(default_factory=dict)  # the sweep's settings (json-able)
    paired_se: dict = field(default_factory=dict)  # K -> paired s.e. of held-out (K - best K)
    consistency: dict = field(default_factory=dict)  # K -> R² of restarts' latents (best affine map)
    control: dict | None = None  # the shuffle control's numbers beside the data's, or None
    sizes: dict | None = None  # the size rule's comparison (sub-lattice vs lattice), or None

    def rules_fired(self) -> list[str]:
        """The rules that made the verdict "not mean-field" (K-max, MI, size), by name."""
        return [name for name in ("K-max rule", "MI rule", "Size rule")
                if any(r.startswith(name) for r in self.reasons)]

    def selected(self) -> dict[int, SweepPoint]:
        """The restart that represents each K: the best on its own validation split.

        Seeds are restarts of a non-convex optimisation; one that collapsed (a latent
        unused, a poor local optimum) says nothing about what K latents can do, so the
        restart is chosen on the fit's validation data — never on the test rows.
        """
        out: dict[int, SweepPoint] = {}
        for p in self.points:
            cur = out.get(p.latents)
            score = p.val_neg_elbo if np.isfinite(p.val_neg_elbo) else np.inf
            if cur is None or score < (cur.val_neg_elbo if np.isfinite(cur.val_neg_elbo)
                                       else np.inf):
                out[p.latents] = p
        return out

    def per_k(self) -> list[dict]:
        """Per K: the selected restart's numbers (:meth:`selected`), and the spread over
        all restarts (``*_seed_mean``, ``*_std``) as information."""
        out = []
        chosen = self.selected()
        for k in sorted(chosen):
            pts = [p for p in self.points if p.latents == k]
            best = chosen[k]
            ll = np.array([p.test_loglik_nats for p in pts])
            rate = np.array([p.rate_nats for p in pts])
            row = {
                "latents": k, "seeds": len(pts), "selected_seed": best.seed,
                "test_loglik_nats": float(best.test_loglik_nats),
                "test_loglik_seed_mean": float(ll.mean()),
                "test_loglik_std": float(ll.std(ddof=1)) if len(pts) > 1 else 0.0,
                "rate_nats": float(best.rate_nats),
                "rate_std": float(rate.std(ddof=1)) if len(pts) > 1 else 0.0,
                "active_latents": float(best.active_latents),
                "test_elbo_nats": float(best.test_elbo_nats),
                "decoder": best.decoder,
            }
            row.update({key: float(v) for key, v in best.stat_errors.items()})
            row["paired_se_nats"] = self.paired_se.get(k)
            row["model_mi_nats"] = best.model_mi["value"] if best.model_mi else None
            out.append(row)
        return out

    def verdict(self) -> str:
        """One paragraph: rate and bipartite MI side by side, and what they imply."""
        mi = headline_mi(self.bipartite_mi)
        rows = {r["latents"]: r for r in self.per_k()}
        k = self.latents_needed
        parts = []
        if mi["estimate"] is not None:
            parts.append(f"bipartite MI >= {mi['lower']:.3f} nats ({mi['method']}, "
                         f"{mi['partition']}; estimate {mi['estimate']:.3f})")
        if k is not None:
            parts.append(f"K = {k} latents reach the best held-out log-likelihood within "
                         f"{self.tolerance_nats:.3g} nats, at rate {rows[k]['rate_nats']:.3f} nats")
        head = "; ".join(parts)
        fired = self.rules_fired()
        tail = ("a low-dimensional mean-field description fits" if self.mean_field
                else "no low-dimensional mean-field description"
                + (f" ({', '.join(fired)})" if fired else ""))
        extra = []
        if self.control:
            c = self.control
            extra.append(
                f"Shuffle control ({c['surrogate']}): likelihood gain over independent units "
                f"{c['gain_over_independent_nats']:.4f} nats/sample for the data, "
                f"{c['surrogate_gain_over_independent_nats']:.4f} for the surrogates; bipartite "
                f"MI {_num(c['bipartite_mi_nats'])} vs {_num(c['surrogate_bipartite_mi_nats'])} nats.")
        engine = (self.settings or {}).get("engine")
        if engine:
            extra.append("Fits: exact marginal likelihood on a quadrature grid (rate = I(X; Z))."
                         if engine == "exact" else "Fits: amortized VAE (log-likelihoods are IWAE "
                         "bounds, rate = E KL(q(z|x) || p(z)) >= I(X; Z)).")
        if self.consistency:
            extra.append("Restart consistency (R² of latents after the best linear alignment): "
                         + ", ".join(f"K={k}: {v:.3f}" for k, v in sorted(self.consistency.items()))
                         + ".")
        return f"{head}. Verdict: {tail}. " + " ".join([*self.reasons, *extra])

    def to_json(self) -> dict:
        """Plain JSON types only (numpy scalars and arrays converted)."""
        return jsonable({
            "bipartite_mi_nats": headline_mi(self.bipartite_mi),
            "sweep": self.per_k(),
            "fits": [asdict(p) for p in self.points],
            "latents_needed": self.latents_needed,
            "mean_field": self.mean_field,
            "tolerance_nats": self.tolerance_nats,
            "reasons": list(self.reasons),
            "verdict": self.verdict(),
            "restart_consistency_r2": {str(k): v for k, v in self.consistency.items()},
            "control": self.control,
            "sizes": self.sizes,
            "rules_fired": self.rules_fired(),
            "settings": self.settings,
        })


def draw_report(report: CapacityReport, ax1, ax2) -> None:
    """Draw the capacity figure on two matplotlib axes: rate and bipartite MI against K
    (``ax1``); held-out log-likelihood against K (``ax2``). The one drawing of the figure:
    :func:`plot_report` (the CLI's PNG) and the Capacity widget both call it."""
    rows = report.per_k()
    ks = [r["latents"] for r in rows]
    ax1.plot(ks, [r["rate_nats"] for r in rows], marker="o", label="rate (held-out)")
    mod = [(r["latents"], r["model_mi_nats"]) for r in rows if r["model_mi_nats"] is not None]
    if mod:
        ax1.plot(*zip(*mod), marker="s", ls="--", label="model-based MI")
    mi = headline_mi(report.bipartite_mi)
    if mi["estimate"] is not None:
        lo = mi["lower"] if mi["lower"] is not None else mi["estimate"]
        hi = mi["upper"] if mi["upper"] is not None and math.isfinite(mi["upper"]) else mi["estimate"]
        ax1.axhspan(lo, max(hi, lo), color="C3", alpha=0.2)
        ax1.axhline(mi["estimate"], color="C3", label=f"data MI ({mi['method']})")
    if mi.get("exact") is not None:
        ax1.axhline(mi["exact"], color="k", ls=":", label="exact MI")
    ax1.set(xlabel="latents K", ylabel="nats / sample", title="rate vs bipartite MI")
    ax1.legend(fontsize=7)
    ax2.plot(ks, [r["test_loglik_nats"] for r in rows], marker="o", label="selected restart")
    if len(report.points) > len(rows):  # every restart, so failed ones stay visible
        ax2.plot([p.latents for p in report.points], [p.test_loglik_nats for p in report.points],
                 ".", color="0.6", label="all restarts")
    if report.latents_needed is not None:
        ax2.axvline(report.latents_needed, color="C3", ls="--",
                    label=f"latents needed = {report.latents_needed}")
    ax2.legend(fontsize=7)
    ax2.set(xlabel="latents K", ylabel="nats / sample", title="held-out log-likelihood")
    for ax in (ax1, ax2):
        ax.set_xticks(ks)


def plot_report(report: CapacityReport, path) -> None:
    """The capacity figure (:func:`draw_report`) as a PNG at ``path``."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, safe in threads

    fig = Figure(figsize=(9, 3.6), layout="constrained")
    draw_report(report, *fig.subplots(1, 2))
    fig.savefig(path, dpi=120)
