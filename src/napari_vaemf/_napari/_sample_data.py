"""napari sample data: small equilibrium samples of the four reference models.

Each function draws a fresh, seeded sample (well under two seconds) and returns one image
layer with units down and samples across, built by :func:`recording_layer`; the layer's
``metadata["vaemf"]`` carries the model, every parameter and the ground truth.
"""
from __future__ import annotations

from napari_vaemf._napari.layers import recording_layer
from napari_vaemf.core.configs import SampleSet
from napari_vaemf.core.progress import Job, drive
from napari_vaemf.core.recordings import Recording
from napari_vaemf.core.samplers import (
    BETA_C,
    sample_curie_weiss,
    sample_hopfield,
    sample_ising2d,
    sample_maier_saupe,
)

__all__ = ["curie_weiss", "hopfield", "maier_saupe", "ising2d"]

SEED = 0  # every sample-data entry is drawn with this seed, so it is the same each time


def _layer(job: Job[SampleSet], name: str) -> list[tuple]:
    s = drive(job, bar=False)
    return [recording_layer(Recording.from_sampleset(s), name=name)]


def curie_weiss() -> list[tuple]:
    """Curie-Weiss ferromagnet, N=64 spins at beta J = 1.2 (ordered), 2000 exact samples."""
    return _layer(sample_curie_weiss(64, 1.2, samples=2000, seed=SEED),
                  "Curie-Weiss N=64 betaJ=1.2")


def hopfield() -> list[tuple]:
    """Hopfield network, N=100 spins with 3 random planted patterns at beta = 1.4."""
    return _layer(sample_hopfield(100, 3, beta=1.4, samples=1000, seed=SEED, burn_in=100),
                  "Hopfield N=100 P=3 beta=1.4")


def maier_saupe() -> list[tuple]:
    """Nematic Maier-Saupe system, N=64 unit vectors at beta J = 9 (S = 0.75), RGB = (x, y, z)."""
    return _layer(sample_maier_saupe(64, 9.0, samples=400, seed=SEED, chains=16, burn_in=40),
                  "Maier-Saupe N=64 betaJ=9")


def ising2d() -> list[tuple]:
    """2-D Ising model, 32 x 32 periodic lattice at the critical point (N = 1024 spins)."""
    return _layer(sample_ising2d(32, BETA_C, samples=600, seed=SEED, burn_in=30),
                  "2-D Ising L=32 at beta_c")
