"""Settings of the theory read-off and of validation, in dataclasses without torch.

``vaemf extract`` / ``vaemf validate`` options and the Theory widget's form are generated from
these classes (:mod:`napari_vaemf.core.settings`); defaults live only here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.settings import setting

__all__ = ["THEORIES", "BASELINES", "KNOWN_BASELINES", "ExtractionSettings", "ValidationSettings", "theories_for"]

THEORIES = ("curie-weiss", "hopfield", "maier-saupe", "generalized-hopfield")
BASELINES = ("independent", "cms", "rbm")  # the default rows
# every baseline validate knows: the defaults and the strict generalized Hopfield models with
# P = 1, 2, 3 attractive patterns (exact maximum likelihood through the HS integral), and
# hopfield-signed: 3 attractive + 3 repulsive patterns (persistent Gibbs chains, log Z by AIS)
KNOWN_BASELINES = (*BASELINES, "hopfield1", "hopfield2", "hopfield3", "hopfield-signed")

Theory = Literal["curie-weiss", "hopfield", "maier-saupe", "generalized-hopfield"]


def theories_for(encoding: str, latents: int, features: int) -> dict[str, str]:
    """Each theory of :data:`THEORIES` -> whether it can be read off a decoder of that kind
    ("yes", or "no: why"): Curie-Weiss needs one latent on binary/spin data (its read-off then
    checks that all units share one field), Hopfield needs fields of rank K (H = K),
    Maier-Saupe needs 3-D unit vectors, the generalized Hopfield energy takes any binary/spin
    decoder (H > K adds its curvature to F)."""
    scalar = encoding in ("binary", "spin")
    out = {
        "curie-weiss": "yes" if scalar and latents == 1 else
        ("no: needs one latent" if scalar else "no: needs binary or spin data"),
        "hopfield": "yes" if scalar and features <= latents else
        ("no: the decoder is curved (H > K); refit with --features 0" if scalar else
         "no: needs binary or spin data"),
        "maier-saupe": "yes" if encoding == "vector" else "no: needs 3-D unit vectors",
        "generalized-hopfield": "yes" if scalar else "no: needs binary or spin data",
    }
    return out


@dataclass
class ExtractionSettings:
    """Which theory to read off a trained decoder, and how."""

    theory: Theory = "hopfield"  # mean-field theory to read off the decoder
    prior_samples: int = setting(50000, gui=False)  # samples of the prior's push-forward used by the read-off
    seed: int = setting(0, min=0, max=2**31 - 1)  # seed of the read-off's sampling steps (prior samples, MCMC)

    def __post_init__(self) -> None:
        if self.theory not in THEORIES:
            raise ParameterError(f"--theory must be one of {', '.join(THEORIES)}, got {self.theory!r}")
        if self.prior_samples < 100:
            raise ParameterError(f"--prior-samples must be >= 100, got {self.prior_samples}")


@dataclass
class ValidationSettings:
    """What to compare and how many samples to draw."""

    samples: int = 100000  # configurations drawn from every model
    latent_draws: int = 1000000  # prior draws z for the VAE's statistics exact given z (0: sampled only; capped for large N)
    baselines: tuple[str, ...] = BASELINES  # baselines fitted on the training data (independent, cms, rbm; also hopfield1, hopfield2, hopfield3: strict Hopfield, exact maximum likelihood; hopfield-signed: 3 attractive + 3 repulsive patterns, persistent Gibbs chains, log Z by AIS)
    cms_patterns: int | None = None  # CMS patterns (default: the fit's K)
    rbm_hidden: int | None = None  # RBM hidden units (default: 2K)
    max_triplets: int = 2000  # triplets compared (random subset, fixed by seed)
    seed: int = 0  # seed of triplets, samplers and baselines

    def __post_init__(self) -> None:
        # "independent,cms" and ("independent", "cms") both name baselines
        self.baselines = tuple(b for item in self.baselines for b in str(item).split(",") if b)
        unknown = sorted(set(self.baselines) - set(KNOWN_BASELINES))
        if unknown:
            raise ParameterError(f"--baselines: unknown {', '.join(unknown)} "
                                 f"(known: {', '.join(KNOWN_BASELINES)})")
        if self.samples < 1 or self.latent_draws < 0 or self.latent_draws == 1:
            raise ParameterError(f"need --samples >= 1 and --latent-draws 0 or >= 2, got "
                                 f"{self.samples}, {self.latent_draws}")
