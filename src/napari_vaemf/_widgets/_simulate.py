"""Simulate dock widget: draw equilibrium configurations of a solvable model into a layer."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ._base import JobWidget, put_layer
from ._form import option
from ._runner import Outcome

if TYPE_CHECKING:
    import napari

__all__ = ["SimulateSettings", "SimulateWidget"]


@dataclass
class SimulateSettings:
    """What to simulate (the fields of the Simulate widget)."""

    model: Literal["curie-weiss", "hopfield", "maier-saupe", "ising2d"] = "curie-weiss"  # solvable model to sample
    n: int = option(64, min=2, max=100_000)  # units N (for ising2d: the side L, N = L*L)
    beta_j: float = option(1.2, min=0.0, max=100.0, step=0.05)  # coupling beta*J (Hopfield, 2-D Ising: beta)
    beta_h: float = option(0.0, min=-100.0, max=100.0, step=0.05)  # field beta*h (Curie-Weiss only)
    n_patterns: int = option(3, min=1, max=1000)  # stored patterns P (Hopfield only)
    samples: int = option(10_000, min=1, max=10_000_000)  # configurations to draw
    seed: int = option(0, min=0, max=2**31 - 1)  # random seed: the same seed gives the same samples


def make_sampler_job(s: SimulateSettings):
    """The core sampling job for settings ``s`` (A's samplers)."""
    from ..core import samplers

    if s.model == "curie-weiss":
        return samplers.sample_curie_weiss(
            s.n, s.beta_j, beta_h=s.beta_h, samples=s.samples, seed=s.seed
        )
    if s.model == "hopfield":
        return samplers.sample_hopfield(
            s.n, n_patterns=s.n_patterns, beta=s.beta_j, samples=s.samples, seed=s.seed
        )
    if s.model == "maier-saupe":
        return samplers.sample_maier_saupe(s.n, s.beta_j, samples=s.samples, seed=s.seed)
    return samplers.sample_ising2d(s.n, beta=s.beta_j, samples=s.samples, seed=s.seed)


def sampleset_layer(sample_set, name: str):
    """The configuration layer (B's recording layer of the sample set)."""
    from ..core.recordings import Recording
    from .._napari.layers import recording_layer

    return recording_layer(Recording.from_sampleset(sample_set), name=name)


class SimulateWidget(JobWidget):
    """Sample a Curie-Weiss, Hopfield, Maier-Saupe or 2-D Ising model into a new layer."""

    settings_cls = SimulateSettings
    settings_key = "simulate"
    job_name = "Simulate"
    start_text = "Simulate"
    start_tip = "Draw the configurations in a background thread; they appear as a new layer."
    stop_tip = "Cancel the simulation (no layer is added)."

    def __init__(self, napari_viewer: napari.viewer.Viewer):
        super().__init__(napari_viewer)
        self.layer = None  # the last layer this widget added

    def _make_job(self, settings: SimulateSettings):
        self._last = settings
        return make_sampler_job(settings), None

    def _apply(self, outcome: Outcome) -> None:
        if outcome.stopped or outcome.value is None:
            self.status.setText("Simulation cancelled.")
            return
        s = self._last
        name = f"{s.model} N={s.n} bJ={s.beta_j:g} seed={s.seed}"
        self.layer = put_layer(self.viewer, sampleset_layer(outcome.value, name))
        shape = outcome.value.configurations.shape
        self.status.setText(f"Added layer '{name}': {shape[0]} samples of {shape[1]} units.")
