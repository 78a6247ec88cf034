"""``CapacitySettings``: every setting of a capacity sweep, in one dataclass without torch.

``vaemf capacity``'s options and the Capacity widget's form are generated from it
(:mod:`napari_vaemf.core.settings`); defaults live only here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.settings import setting

__all__ = ["CapacitySettings", "SWEEP_VAE_DEFAULTS"]

# a sweep's VAE fits when epochs, batch size and lr are left at 0 (smaller batches than a
# single fit's: a sweep fits many models to the same, often short, recording). "steps" caps
# the optimizer steps of a default fit, so a sweep's cost does not grow with the recording's
# length: long recordings get fewer (larger-data) epochs, at least "min_epochs".
SWEEP_VAE_DEFAULTS = {"epochs": 150, "batch_size": 256, "lr": 3e-3, "steps": 8000,
                      "min_epochs": 20}


@dataclass
class CapacitySettings:
    """How a capacity sweep fits K = 1..k_max latents, judges them and estimates the data's MI."""

    k_max: int = setting(5, min=1, max=32, flag="--max-latents")  # largest number of latents K; the sweep stops at the first K that does not improve on smaller K
    method: Literal["auto", "exact", "vae"] = "auto"  # engine of every fit (one for all K: exact and bound never compared): auto fits exactly while K is affordable (binary/spin, K <= 3) and moves the whole sweep to the VAE only if a larger K is needed
    seeds: int = setting(2, min=1, max=20)  # restarts per K; the best on validation data represents K
    epochs: int = setting(0, min=0, max=100_000)  # maximum epochs per fit (0: the engine's: VAE fits 150, fewer on long recordings to stay within 8,000 steps; exact 60)
    batch_size: int = setting(0, min=0, max=1_000_000)  # samples per step; distinct patterns for exact fits (0: the engine's, 256 VAE, 2048 exact)
    lr: float = setting(0.0, min=0.0, max=1.0, step=1e-4)  # Adam learning rate of every fit (0: the engine's, 0.003 VAE, 0.03 exact)
    patience: int = setting(8, gui=False)  # epochs without validation improvement before a fit stops
    decoders: tuple[str, ...] = setting(("mlp",), gui=False)  # decoder kinds fitted per K and seed (mlp, identity); the best on validation wins
    test_fraction: float = setting(0.2, min=0.05, max=0.9, step=0.05)  # data never trained on, for judging (whole repeats, time blocks or random rows)
    tolerance_nats: float = setting(0.05, gui=False, flag="--tolerance")  # absolute held-out log-likelihood tolerance (nats/sample)
    rel_tolerance: float = setting(2e-3, gui=False)  # tolerance relative to |best held-out log-likelihood|
    rate_threshold_nats: float = setting(0.02, gui=False)  # a latent is active above this rate (nats)
    cuts: Literal["auto", "none", "ordered", "lattice"] = setting("auto", gui=False)  # cuts besides random halves: contiguous halves of ordered units, or lattice halves (auto: lattice for 2-D Ising files)
    random_partitions: int = setting(2, gui=False)  # number of random half/half cuts
    infonce: bool = False  # also bound the bipartite MI with an InfoNCE critic per cut (slower, tighter for large N)
    infonce_steps: int = setting(3000, gui=False)  # maximum InfoNCE steps
    model_mi: bool = True  # estimate each fit's own bipartite MI from model samples (first cut)
    model_mi_samples: int = setting(500, gui=False)  # model samples for the model-based MI
    size_rule: bool = True  # on a square lattice (L >= 8) also sweep its L/2 x L/2 sub-lattice: not mean-field when the bipartite MI and the needed rate both grow with size
    control: Literal["none", "shuffle"] = "none"  # shuffle: the same sweep on surrogates with each unit circularly shifted (by whole repeats when the recording has them), to compare the data's gain and MI with
    max_samples: int | None = setting(None, gui=False)  # use at most this many samples (evenly spaced), to keep runs short
    device: str = "auto"  # where to train: auto (CUDA, then MPS, then CPU), cpu, cuda, mps
    scheduler: str = "serial"  # where the fits run: serial (here), local:N (a Dask LocalCluster of N processes) or a scheduler address (tcp://host:8786)
    seed: int = setting(0, min=0, max=2**31 - 1)  # seed of the cuts, the split and the first fit
    layout: str | tuple | None = setting(None, cli=False, gui=False)  # resolved cuts: None, "ordered" or (L, L)

    def __post_init__(self) -> None:
        self.decoders = tuple(self.decoders)
        if self.k_max < 1 or self.seeds < 1:
            raise ParameterError(f"--max-latents and --seeds must be >= 1, got {self.k_max}, {self.seeds}")
        bad = set(self.decoders) - {"mlp", "identity"}
        if bad or not self.decoders:
            raise ParameterError(f"--decoders must name mlp and/or identity, got {' '.join(self.decoders)}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ParameterError(f"--test-fraction must be in (0, 1), got {self.test_fraction}")
        from napari_vaemf.core.capacity._dask import parse_scheduler

        parse_scheduler(self.scheduler)
        if self.max_samples is not None and self.max_samples < 4:
            raise ParameterError(f"--max-samples must be >= 4, got {self.max_samples}")

    def vae_config(self, n_train: int | None = None):
        """The :class:`~napari_vaemf.core.vae.VAEConfig` template of the sweep's VAE fits; with
        ``n_train`` (training rows) default epochs are capped at ``SWEEP_VAE_DEFAULTS["steps"]``
        optimizer steps (never below ``min_epochs``)."""
        from napari_vaemf.core.vae.config import VAEConfig

        d = SWEEP_VAE_DEFAULTS
        batch = self.batch_size or d["batch_size"]
        epochs = self.epochs or d["epochs"]
        if not self.epochs and n_train:
            per_epoch = max(1, -(-int(n_train) // batch))
            epochs = min(epochs, max(d["min_epochs"], -(-d["steps"] // per_epoch)))
        return VAEConfig(epochs=epochs, batch_size=batch,
                         lr=self.lr or SWEEP_VAE_DEFAULTS["lr"],
                         patience=self.patience, device=self.device, seed=self.seed,
                         method=self.method)

    def exact_config(self):
        """The template of the sweep's fits on the exact engine (its own defaults where these
        settings are left at 0)."""
        from napari_vaemf.core.vae.config import VAEConfig

        return VAEConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                         device=self.device, seed=self.seed, method="exact")
