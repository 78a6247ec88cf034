"""``ExactConfig``: every setting of an exact (quadrature) fit, in one dataclass without torch.

These are the exact engine's defaults; :meth:`napari_vaemf.core.vae.config.VAEConfig.for_engine`
reads them from here when a fit's settings leave a field at "auto".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.exact._grid import MAX_LATENTS

__all__ = ["ExactConfig", "TRAIN_NODES", "EXACT_ENCODINGS", "AUTO_FEATURES", "MEASURES"]

EXACT_ENCODINGS = ("binary", "spin")
TRAIN_NODES = {1: 129, 2: 33, 3: 17}  # default training-lattice nodes per axis (spacing 0.08-0.6)
MEASURES = ("prior", "hs")  # node measures (:meth:`QuadratureModel.node_log_weights`)
AUTO_FEATURES = 16  # H of the curved candidate when features = -1 ("auto")
RATE_MATCH_BUDGET = 2e-3  # most held-out log-likelihood (nats/sample) the default rate matching may cost


@dataclass
class ExactConfig:
    """Everything that defines an exact (quadrature) fit: decoder, grid, optimisation, split."""

    latents: int = 1  # K <= 3
    decoder: str = "mlp"  # order-parameter map g: "mlp" or "identity" (as VAEConfig)
    decoder_widths: tuple[int, ...] = (128, 128)  # hidden widths of g (run on G nodes only: cheap)
    features: int = -1  # H, outputs of g (0: H = K, fields W g(z) + b of rank K; H > K bends the fields; -1: the strict Hopfield class and both of these tried, the simplest that is not beaten on validation kept)
    measure: str = "prior"  # node measure: "prior" (N(0, I): the VAE's model) or "hs" (N(z) Π_i Z_i(φ_i(z)): the strict generalized Hopfield model, identity decoder, fitted by maximum likelihood)
    nodes: int = 0  # training-lattice nodes per axis; 0: TRAIN_NODES[latents]
    max_nodes: int = 65536  # the evaluation grid is refined up to this many nodes
    grid_tol: float = 1e-3  # nats/sample: refine the evaluation grid while n -> 2n - 1 moves mean log p more
    recentre: bool = True  # move the lattice onto the aggregate posterior after each epoch
    shift: bool = True  # train on a randomly shifted lattice each step (no tuning to fixed nodes)
    epochs: int = 60  # maximum epochs (an epoch: a pass over the distinct patterns, >= 10 steps)
    batch_size: int = 2048  # distinct patterns per Adam step (all of them when fewer)
    lr: float = 3e-2  # Adam learning rate (the peak of the one-cycle schedule)
    holdout: float = 0.1  # fraction of rows held out for early stopping, if no test_index
    patience: int = 10  # epochs without held-out improvement before stopping (plateau schedule; one-cycle runs to its end, the best epoch kept)
    min_delta: float = 1e-4  # improvement (nats/sample) that resets the patience counter
    lr_decay: float = 0.5  # learning-rate factor each time held-out stalls for patience // 2 epochs
    lr_schedule: str = "onecycle"  # "onecycle" (rise to lr, cosine down over epochs) or "plateau" (lr_decay on stalls)
    match_rates: bool = True  # after training, shift the fields b so the model's exact rates equal the training rates (moment matching; taken only as far as it costs <= RATE_MATCH_BUDGET nats/sample)
    seed: int = 0  # initialisation, split and batch order

    def __post_init__(self) -> None:
        self.decoder_widths = tuple(int(w) for w in self.decoder_widths)
        if not 1 <= self.latents <= MAX_LATENTS:
            raise ParameterError(f"the exact engine takes 1 to {MAX_LATENTS} latents, got {self.latents}")
        if self.decoder not in ("mlp", "identity"):
            raise ParameterError(f"decoder must be 'mlp' or 'identity', got {self.decoder!r}")
        if self.measure not in MEASURES:
            raise ParameterError(f"measure must be one of {MEASURES}, got {self.measure!r}")
        if self.measure == "hs" and (self.decoder != "identity" or self.features > 0):
            raise ParameterError("the 'hs' measure (strict Hopfield class) needs decoder 'identity' "
                                 "and features 0")
        if self.features == -1 and self.decoder == "identity":
            self.features = 0  # nothing to choose: identity fields are linear
        if self.features < -1 or (self.features > 0 and (self.features < self.latents
                                                          or self.decoder == "identity")):
            raise ParameterError(f"features must be -1 (auto), 0 or >= latents with an mlp decoder, "
                                 f"got {self.features}")
        if self.nodes == 1 or self.nodes < 0 or self.max_nodes < 2 or self.grid_tol <= 0:
            raise ParameterError("nodes must be 0 or >= 2, max_nodes >= 2 and grid_tol > 0")
        if self.nodes == 0:
            self.nodes = TRAIN_NODES[self.latents]
        if self.epochs < 0 or self.batch_size < 1 or self.lr <= 0 or self.patience < 1:
            raise ParameterError("epochs must be >= 0, batch_size >= 1, lr > 0 and patience >= 1")
        if self.lr_schedule not in ("plateau", "onecycle"):
            raise ParameterError(f"lr_schedule must be 'plateau' or 'onecycle', got {self.lr_schedule!r}")
        if not 0.0 <= self.holdout < 1.0 or not 0.0 < self.lr_decay <= 1.0:
            raise ParameterError("holdout must be in [0, 1) and lr_decay in (0, 1]")

    @property
    def candidates(self) -> tuple[int, ...]:
        """The decoder classes (values of H) a fit trains by gradient on the prior's lattice:
        both when ``features`` is -1 (which also races the strict Hopfield class)."""
        return (0, AUTO_FEATURES) if self.features == -1 else (self.features,)

    def to_dict(self) -> dict:
        """JSON-able dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_settings(cls, settings) -> "ExactConfig":
        """The exact engine's config of a fit's settings (a :class:`~napari_vaemf.core.vae.
        config.VAEConfig`; its auto values become this class's defaults)."""
        s = settings.for_engine("exact")
        names = ("latents", "decoder", "decoder_widths", "features", "epochs", "batch_size", "lr",
                 "holdout", "patience", "min_delta", "lr_decay", "lr_schedule", "seed")
        return cls(**{k: getattr(s, k) for k in names})

    @classmethod
    def from_dict(cls, d: dict) -> "ExactConfig":
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
