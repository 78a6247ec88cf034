"""``VAEConfig``: every setting of a VAE fit, in one dataclass without torch.

The CLI options of ``vaemf fit``, the Fit VAE widget's form and the checkpoints are generated
from this class (:mod:`napari_vaemf.core.settings`); defaults live only here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Literal

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.settings import setting

__all__ = ["VAEConfig"]


@dataclass
class VAEConfig:
    """Everything that defines a VAE fit (architecture, optimisation, data split)."""

    latents: int = setting(1, min=1, max=64)  # K, the number of latent variables (order parameters)
    encoder_widths: tuple[int, ...] = setting((128,), gui=False)  # hidden layer widths of the encoder MLP
    decoder: Literal["mlp", "identity"] = "mlp"  # order-parameter map g: learned MLP R^K -> R^H, or identity (fields linear in z)
    decoder_widths: tuple[int, ...] = setting((64,), gui=False)  # hidden layer widths of g when decoder="mlp"
    features: int = setting(0, min=0, max=4096)  # H, outputs of g = columns of the patterns W (0: H = K, fields linear in g; H > K lets the fields bend; mlp only)
    epochs: int = setting(100, min=1, max=100_000)  # maximum passes over the training data (early stopping may end sooner)
    batch_size: int = setting(1024, min=1, max=1_000_000)  # samples per optimisation step
    lr: float = setting(3e-3, min=1e-6, max=1.0, step=1e-4)  # Adam learning rate
    kl_warmup_epochs: float = setting(5.0, gui=False)  # epochs over which the KL weight rises linearly 0 -> 1
    holdout: float = setting(0.1, min=0.0, max=0.9, step=0.05)  # fraction held out for early stopping and the report (whole repeats, time blocks or random rows: core.data.heldout_split)
    patience: int = setting(8, gui=False)  # epochs without held-out improvement before stopping early
    min_delta: float = setting(1e-4, gui=False)  # improvement (nats/sample) that resets the patience counter
    lr_decay: float = setting(0.5, gui=False)  # learning-rate factor each time held-out stalls for patience // 2 epochs
    lr_schedule: Literal["plateau", "onecycle"] = setting("plateau", gui=False)  # plateau: lr_decay on stalls; onecycle: warm-up to lr, cosine down
    seed: int = setting(0, min=0, max=2**31 - 1)  # seed for initialisation, data split, batch order and noise
    device: str = "auto"  # where to train: auto (CUDA, then MPS, then CPU), or a torch device (cpu, cuda, mps)
    train_k: int = setting(1, gui=False)  # importance samples in the training objective (1: ELBO, >1: IWAE bound)
    iwae_k: int = setting(128, gui=False)  # importance samples for the held-out IWAE log-likelihood
    max_device_mb: float = setting(2048.0, gui=False)  # data larger than this stays on the host, batches stream

    def __post_init__(self) -> None:
        import math

        from napari_vaemf.core.limits import DEVICE_NAMES, MAX_HIDDEN_PARAMETERS, MAX_LATENTS

        self.encoder_widths = tuple(int(w) for w in self.encoder_widths)
        self.decoder_widths = tuple(int(w) for w in self.decoder_widths)
        if self.latents < 1:
            raise ParameterError(f"latents must be >= 1, got {self.latents}")
        if self.latents > MAX_LATENTS:
            raise ParameterError(f"--latents must be at most {MAX_LATENTS} (order parameters, not units), "
                                 f"got {self.latents}")
        for name in ("lr", "kl_warmup_epochs", "min_delta", "lr_decay", "max_device_mb"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ParameterError(f"--{name.replace('_', '-')} must be a finite number, got {value}")
        if self.epochs < 1:
            raise ParameterError(f"--epochs must be >= 1 (0 would save an untrained model), got {self.epochs}")
        if any(w < 1 for w in self.encoder_widths + self.decoder_widths):
            raise ParameterError("--encoder-widths and --decoder-widths must be >= 1, got "
                                 f"{list(self.encoder_widths)} and {list(self.decoder_widths)}")
        # weights whose number does not depend on the units: encoder hidden layers up to the 2K
        # posterior outputs, and the order-parameter map g (K -> widths -> H)
        enc = [*self.encoder_widths, 2 * self.latents]
        dec = [self.latents, *self.decoder_widths, self.features or self.latents] if self.decoder == "mlp" else []
        hidden = sum(a * b for a, b in zip(enc[:-1], enc[1:])) + sum(a * b for a, b in zip(dec[:-1], dec[1:]))
        if hidden > MAX_HIDDEN_PARAMETERS:
            raise ParameterError(
                f"--latents {self.latents}, --features {self.features}, --encoder-widths "
                f"{' '.join(map(str, self.encoder_widths))} and --decoder-widths "
                f"{' '.join(map(str, self.decoder_widths))} make {hidden:,} weights between hidden "
                f"layers, more than {MAX_HIDDEN_PARAMETERS:,} ({4 * hidden / 2**30:.1f} GiB of float32)")
        if not DEVICE_NAMES.fullmatch(str(self.device)):
            raise ParameterError(f"--device must be auto, cpu, cuda, cuda:N or mps, got {self.device!r}")
        if self.decoder not in ("mlp", "identity"):
            raise ParameterError(f"decoder must be 'mlp' or 'identity', got {self.decoder!r}")
        if self.features and (self.features < self.latents or self.decoder == "identity"):
            raise ParameterError(f"features must be 0 or >= latents ({self.latents}) with an mlp "
                                 f"decoder, got {self.features} ({self.decoder})")
        if self.batch_size < 1:
            raise ParameterError(f"--batch-size must be >= 1, got {self.batch_size}")
        if self.lr <= 0:
            raise ParameterError(f"--lr must be > 0, got {self.lr}")
        if self.lr_schedule not in ("plateau", "onecycle"):
            raise ParameterError(f"lr_schedule must be 'plateau' or 'onecycle', got {self.lr_schedule!r}")
        if not 0.0 < self.lr_decay <= 1.0:
            raise ParameterError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if not 0.0 <= self.holdout < 1.0:
            raise ParameterError(f"holdout must be in [0, 1), got {self.holdout}")
        if self.iwae_k < 1 or self.train_k < 1:
            raise ParameterError(f"iwae_k and train_k must be >= 1, got {self.iwae_k}, {self.train_k}")

    def to_dict(self) -> dict:
        """JSON-able dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "VAEConfig":
        """Inverse of :meth:`to_dict`; unknown keys are ignored (older/newer checkpoints)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
