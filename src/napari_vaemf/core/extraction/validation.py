"""Judge a fit, its extracted theory and the baselines on held-out data, like with like.

Every model is sampled, the samples' population statistics (:mod:`napari_vaemf.core.stats`)
are compared with the held-out data's, and the held-out log-likelihood and number of
parameters are reported where defined. The VAE is a mixture of product Bernoullis, so its
row ``"vae"`` uses statistics exact given z over many prior draws (:func:`stats.mixture_stats`;
no binary sampling noise) and ``"vae_samples"`` judges its sampled configurations like every
other model (its P(K) uses expected counts, so only K values of probability exactly 0 get
the KL's half-count smoothing; sampled rows get it on every K they missed). Two noise floors
set the scale: ``noise_floor`` (the held-out data's two halves, each half its size) and
``noise_floor_train_test`` (training vs held-out data: the held-out side at the size every
model is judged against).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from napari_vaemf.core import stats
from napari_vaemf.core.baselines import IndependentModel, fit_cms, fit_rbm
from napari_vaemf.core.baselines._signed import fit_signed_hopfield
from napari_vaemf.core.baselines._strict import fit_strict_hopfield
from napari_vaemf.core.extraction.energy import energy_of
from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.extraction import Extraction, extract, theory_model
from napari_vaemf.core.extraction._settings import ValidationSettings
from napari_vaemf.core.progress import Job, Progress

__all__ = ["ValidationSettings", "Validation", "validate", "plot_validation", "vae_parameters"]

log = logging.getLogger(__name__)

_MIXTURE_BUDGET = 5e9  # latent draws x N² (P(K) recursion, second moments) for the exact VAE row;
# triplets add draws x 3 x max_triplets (~30 s per 10^6 draws at N = 50 on one core)


@dataclass
class Validation:
    """Numbers (``table``) and the statistics behind the figures (``stats``)."""

    table: dict[str, dict[str, Any]] = field(default_factory=dict)  # model -> numbers
    noise_floor: dict[str, float] = field(default_factory=dict)  # data half vs half
    noise_floor_train_test: dict[str, float] = field(default_factory=dict)  # training vs held-out data
    stats: dict[str, stats.PopulationStats] = field(default_factory=dict)  # "data" and each model

    def to_json(self) -> dict:
        return {"noise_floor": self.noise_floor, "noise_floor_train_test": self.noise_floor_train_test,
                "models": self.table}


def vae_parameters(fit: Any) -> dict[str, int]:
    """Parameters of the generative part (decoder) and of the encoder of a Fit."""
    dec = sum(p.numel() for p in fit.model.decoder.parameters())
    encoder = getattr(fit.model, "encoder", None)  # exact fits have none
    enc = 0 if encoder is None else sum(p.numel() for p in encoder.parameters())
    return {"n_parameters": int(dec), "n_parameters_encoder": int(enc)}


def validate(
    fit: Any,
    x_test: np.ndarray,
    x_train: np.ndarray | None = None,
    extraction: Extraction | None = None,
    settings: ValidationSettings | None = None,
    repeats: int | None = None,
) -> Job[Validation]:
    """Compare the VAE, the generalized-Hopfield theory read off it (or ``extraction``) and
    the baselines (fitted on ``x_train``) with ``x_test``. ``repeats``: split the test data's
    noise floor by odd/even repeats. A generator yielding Progress, returning a Validation."""
    s = settings or ValidationSettings()
    if fit.encoding not in ("binary", "spin"):
        raise ParameterError("validate compares binary or spin data (vectors: see extraction S)")
    x_test = np.asarray(x_test)
    n = x_test.shape[1]
    tri = stats.triplet_indices(n, s.max_triplets, s.seed)
    out = Validation()
    data = stats.population_stats(x_test, tri)
    out.stats["data"] = data
    out.noise_floor = stats.noise_floor(x_test, repeats, tri)
    if x_train is not None:
        out.noise_floor_train_test = stats.compare(stats.population_stats(x_train, tri), data)
    k = fit.config.latents
    steps: list[tuple[str, Callable[[], Any]]] = [("vae", lambda: None), ("theory", lambda: None)]
    if s.latent_draws:  # "vae" exact given z, plus its sampled configurations as a second row
        steps.insert(1, ("vae_samples", lambda: None))
    builders = {
        "independent": lambda: IndependentModel.fit(x_train),
        "cms": lambda: fit_cms(x_train, n_patterns=s.cms_patterns or k, fit_fields=True, seed=s.seed),
        "rbm": lambda: fit_rbm(x_train, n_hidden=s.rbm_hidden or 2 * k, seed=s.seed),
        **{f"hopfield{p}": (lambda p=p: fit_strict_hopfield(x_train, p, fit.encoding)) for p in (1, 2, 3)},
        "hopfield-signed": lambda: fit_signed_hopfield(x_train, 3, 3, fit.encoding, seed=s.seed),
    }
    if getattr(fit, "method", None) == "exact" and hasattr(fit, "grid"):
        steps.append(("energy", lambda: energy_of(fit)))  # the read-off energy, sampled exactly
    if x_train is not None:
        steps += [(b, builders[b]) for b in s.baselines]
    for i, (name, build) in enumerate(steps):
        yield Progress("validate", i, len(steps), {})
        t0 = time.perf_counter()
        row: dict[str, Any] = {}
        samples = st = None
        if name in ("vae", "vae_samples"):
            row.update(vae_parameters(fit))
            if name == "vae" and s.latent_draws and hasattr(fit, "stats"):  # exact fits: the grid model
                st = fit.stats(tri)
                row["estimate"] = f"exact (mixture over {fit.grid.size} quadrature nodes)"
            elif name == "vae" and s.latent_draws:
                draws = min(s.latent_draws, max(10_000, int(_MIXTURE_BUDGET / n**2)))  # O(draws N²)
                st = stats.mixture_stats(fit.prior_probabilities(draws, seed=s.seed), tri)
                row["estimate"] = f"exact given z over {draws} prior draws"
            else:
                samples = fit.sample(s.samples, seed=s.seed)
                row["estimate"] = f"{s.samples} sampled configurations"
            if name == "vae":
                row["test_loglik_nats"] = float(fit.evaluate(x_test)["test_loglik_nats"])
        elif name == "theory":
            ex = extraction
            if ex is None or ex.theory not in ("hopfield", "generalized-hopfield"):
                ex = extract(fit, "generalized-hopfield", seed=s.seed)
            model = theory_model(ex)
            samples = model.sample(s.samples, seed=s.seed)
            row.update(theory=ex.theory, n_parameters=model.n_parameters,
                       test_loglik_nats=model.loglik(x_test), consistency=ex.consistency)
        elif name == "energy":  # E(x) = -b·x - F(Wᵀx): as many free numbers as the decoder
            model = build()
            samples = model.sample(s.samples, seed=s.seed)
            row.update(n_parameters=vae_parameters(fit)["n_parameters"],
                       test_loglik_nats=float(np.mean(model.log_prob(x_test))),
                       estimate=f"{s.samples} exact samples of energy.npz")
        else:
            model = build()
            samples = model.sample(s.samples, seed=s.seed)
            row.update(n_parameters=model.n_parameters, test_loglik_nats=model.loglik(x_test))
            if hasattr(model, "log_z_spread"):
                row["log_z_spread"] = float(model.log_z_spread)
        st = st if st is not None else stats.population_stats(samples, tri)
        out.stats[name] = st
        row.update(stats.compare(st, data))
        row["seconds"] = time.perf_counter() - t0
        out.table[name] = row
        log.info("validate %s: %s", name, {k2: round(v, 5) for k2, v in row.items()
                                            if isinstance(v, float)})
    yield Progress("validate", len(steps), len(steps), {})
    return out


def plot_validation(v: Validation, path: Any) -> None:
    """Four panels (rates, covariances, P(K) on a log scale, triplets), model vs data, to ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    data = v.stats["data"]
    fig = Figure(figsize=(12, 10))
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2)
    iu = np.triu_indices(data.rates.size, 1)
    for name, st in v.stats.items():
        if name == "data":
            continue
        axes[0, 0].plot(data.rates, st.rates, ".", label=name, alpha=0.7)
        axes[0, 1].plot(data.cov[iu], st.cov[iu], ".", label=name, alpha=0.4, ms=3)
        axes[1, 0].semilogy(np.arange(st.pk.size), np.where(st.pk > 0, st.pk, np.nan), "-", label=name)
        axes[1, 1].plot(data.c3, st.c3, ".", label=name, alpha=0.4, ms=3)
    axes[1, 0].semilogy(np.arange(data.pk.size), np.where(data.pk > 0, data.pk, np.nan), "k-",
                        lw=2, label="data")
    for ax, title in zip(axes.flat, ("firing rates", "pairwise covariances", "P(K)",
                                     "connected triplet correlations")):
        ax.set_title(title)
        ax.legend(fontsize=8)
        if title != "P(K)":
            lim = [min(ax.get_xlim()[0], ax.get_ylim()[0]), max(ax.get_xlim()[1], ax.get_ylim()[1])]
            ax.plot(lim, lim, "k:", lw=1)
            ax.set_xlabel("data")
            ax.set_ylabel("model")
        else:
            ax.set_xlabel("K active units")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
