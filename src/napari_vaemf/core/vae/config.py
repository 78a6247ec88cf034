"""``VAEConfig``: every setting of a fit, in one dataclass without torch.

The CLI options of ``vaemf fit``, the Fit widget's form and the checkpoints are generated
from this class (:mod:`napari_vaemf.core.settings`). ``method`` picks the engine (the exact
quadrature likelihood for few latents, or the amortized VAE; ``auto`` decides per data set in
:func:`napari_vaemf.core.fitting.new_fit`). The optimisation settings whose best value depends
on the engine (epochs, batch size, learning rate and schedule, patience, decoder widths and
features) default to "auto" (0, an empty tuple or -1); :meth:`VAEConfig.for_engine` fills them
from the engine's own defaults: :data:`VAE_DEFAULTS` here and the exact engine's
:class:`~napari_vaemf.core.exact.config.ExactConfig`. A value a user sets applies to either.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Literal

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.settings import setting

__all__ = ["VAEConfig", "VAE_DEFAULTS", "ENGINE_FIELDS"]

# the amortized VAE's values of the engine-dependent settings
VAE_DEFAULTS = {"epochs": 100, "batch_size": 1024, "lr": 3e-3, "lr_schedule": "plateau", "patience": 8,
                "decoder_widths": (64,), "features": 0}
ENGINE_FIELDS = tuple(VAE_DEFAULTS)  # settings whose "auto" value the engine fills in
# a default VAE fit of a short recording: batches of about 1/16 of the training rows (at least
# VAE_MIN_BATCH) and at least VAE_MIN_STEPS optimizer steps (at most VAE_MAX_EPOCHS epochs);
# patience grows with the epochs, so it stays the same number of steps, and the KL warm-up
# takes a tenth of them (5 epochs of several hundred let a latent collapse: Hopfield N = 160,
# P = 6 then read 89 % of the bits, 100 % with the longer warm-up)
VAE_MIN_STEPS, VAE_MIN_BATCH, VAE_MAX_EPOCHS = 6000, 128, 2000
VAE_KL_WARMUP, VAE_KL_WARMUP_FRACTION = 5.0, 0.1


@dataclass
class VAEConfig:
    """Everything that defines a VAE fit (architecture, optimisation, data split)."""

    latents: int = setting(1, min=1, max=64)  # K, the number of latent variables (order parameters)
    method: Literal["auto", "exact", "vae"] = "auto"  # engine: exact (quadrature likelihood, K <= 3, binary/spin, when affordable), vae (amortized encoder, ELBO), or auto (exact where affordable)
    encoder_widths: tuple[int, ...] = setting((128,), gui=False)  # hidden layer widths of the VAE's encoder MLP
    decoder: Literal["mlp", "identity"] = "mlp"  # order-parameter map g: learned MLP R^K -> R^H, or identity (fields linear in z)
    decoder_widths: tuple[int, ...] = setting((), gui=False)  # hidden layer widths of g when decoder="mlp" (empty: the engine's, 128 128 exact, 64 VAE)
    features: int = setting(-1, min=-1, max=4096)  # H, outputs of g = columns of W (0: H = K, fields of rank K; H > K bends them; -1 auto: exact tries the strict Hopfield model, 0 and 16 and keeps the simplest not beaten on validation, VAE uses 0)
    epochs: int = setting(0, min=0, max=100_000)  # maximum passes over the training data, early stopping may end sooner (0: the engine's, 60 exact; VAE 100, more on short recordings to take >= 6,000 steps)
    batch_size: int = setting(0, min=0, max=1_000_000)  # samples per step; distinct patterns for exact (0: the engine's, 2048 exact; VAE 1024, or 1/16 of the training rows when fewer, at least 128)
    lr: float = setting(0.0, min=0.0, max=1.0, step=1e-4)  # Adam learning rate (0: the engine's, 0.03 exact, 0.003 VAE)
    kl_warmup_epochs: float = setting(-1.0, gui=False)  # VAE: epochs over which the KL weight rises linearly 0 -> 1 (-1 auto: 5, or a tenth of the epochs when a short recording takes more than the default 100)
    holdout: float = setting(0.1, min=0.0, max=0.9, step=0.05)  # fraction held out for early stopping and the report (whole repeats, time blocks or random rows: core.data.heldout_split)
    patience: int = setting(0, gui=False)  # epochs without held-out improvement before stopping early (0: the engine's, 10 exact; VAE 8, scaled with the epochs on short recordings)
    min_delta: float = setting(1e-4, gui=False)  # improvement (nats/sample) that resets the patience counter
    lr_decay: float = setting(0.5, gui=False)  # learning-rate factor each time held-out stalls for patience // 2 epochs (plateau schedule)
    lr_schedule: Literal["auto", "plateau", "onecycle"] = setting("auto", gui=False)  # plateau: lr_decay on stalls; onecycle: warm-up to lr, cosine down (auto: onecycle exact, plateau VAE)
    seed: int = setting(0, min=0, max=2**31 - 1)  # seed for initialisation, data split, batch order and noise
    device: str = "auto"  # where to train: auto (CUDA, then MPS, then CPU), or a torch device (cpu, cuda, mps); the exact engine runs on the CPU
    train_k: int = setting(1, gui=False)  # VAE: importance samples in the training objective (1: ELBO, >1: IWAE bound)
    iwae_k: int = setting(128, gui=False)  # VAE: importance samples for the held-out IWAE log-likelihood
    max_device_mb: float = setting(2048.0, gui=False)  # VAE: data larger than this stays on the host, batches stream
    restarts: int = setting(2, min=0, max=20, gui=False)  # VAE: when a latent collapses (its rate under a quarter of the latents' median), train up to this many more seeds and keep the best on the held-out split

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
        if self.restarts < 0:
            raise ParameterError(f"--restarts must be >= 0, got {self.restarts}")
        if self.kl_warmup_epochs < 0 and self.kl_warmup_epochs != -1:
            raise ParameterError(f"--kl-warmup-epochs must be >= 0 (-1: auto), got {self.kl_warmup_epochs}")
        if self.epochs < 0:
            raise ParameterError(f"--epochs must be >= 1 (0: the engine's default), got {self.epochs}")
        if self.method not in ("auto", "exact", "vae"):
            raise ParameterError(f"--method must be auto, exact or vae, got {self.method!r}")
        if self.patience < 0:
            raise ParameterError(f"--patience must be >= 1 (0: the engine's default), got {self.patience}")
        if any(w < 1 for w in self.encoder_widths + self.decoder_widths):
            raise ParameterError("--encoder-widths and --decoder-widths must be >= 1, got "
                                 f"{list(self.encoder_widths)} and {list(self.decoder_widths)}")
        # weights whose number does not depend on the units: encoder hidden layers up to the 2K
        # posterior outputs, and the order-parameter map g (K -> widths -> H)
        enc = [*self.encoder_widths, 2 * self.latents]
        widths = self.decoder_widths or (128, 128)  # the widest default
        h = self.features if self.features > 0 else (max(16, self.latents) if self.features else self.latents)
        dec = [self.latents, *widths, h] if self.decoder == "mlp" else []
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
        if self.features < -1 or (self.features > 0 and (self.features < self.latents
                                                          or self.decoder == "identity")):
            raise ParameterError(f"--features must be -1 (auto), 0 or >= latents ({self.latents}) with "
                                 f"an mlp decoder, got {self.features} ({self.decoder})")
        if self.batch_size < 0:
            raise ParameterError(f"--batch-size must be >= 1 (0: the engine's default), got {self.batch_size}")
        if self.lr < 0:
            raise ParameterError(f"--lr must be > 0 (0: the engine's default), got {self.lr}")
        if self.lr_schedule not in ("auto", "plateau", "onecycle"):
            raise ParameterError(f"lr_schedule must be auto, plateau or onecycle, got {self.lr_schedule!r}")
        if not 0.0 < self.lr_decay <= 1.0:
            raise ParameterError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if not 0.0 <= self.holdout < 1.0:
            raise ParameterError(f"holdout must be in [0, 1), got {self.holdout}")
        if self.iwae_k < 1 or self.train_k < 1:
            raise ParameterError(f"iwae_k and train_k must be >= 1, got {self.iwae_k}, {self.train_k}")

    def is_auto(self, name: str) -> bool:
        """Whether engine-dependent setting ``name`` is left to the engine."""
        value = getattr(self, name)
        return value in (0, 0.0, (), "auto") if name != "features" else value == -1

    def for_engine(self, engine: str) -> "VAEConfig":
        """A copy with ``method`` = ``engine`` ("vae" or "exact") and every engine-dependent
        setting left at auto replaced by that engine's default (idempotent)."""
        import dataclasses

        if engine == "vae":
            defaults = dict(VAE_DEFAULTS)
        elif engine == "exact":
            from napari_vaemf.core.exact.config import ExactConfig

            ex = ExactConfig()
            defaults = {name: getattr(ex, name) for name in ENGINE_FIELDS}
        else:
            raise ParameterError(f"engine must be 'vae' or 'exact', got {engine!r}")
        if self.decoder == "identity":
            defaults["features"] = 0
        filled = {k: v for k, v in defaults.items() if self.is_auto(k)}
        if engine == "vae" and self.kl_warmup_epochs == -1:
            filled["kl_warmup_epochs"] = VAE_KL_WARMUP
        return dataclasses.replace(self, method=engine, **filled)

    def sized_for(self, n_train: int, requested: "VAEConfig") -> "VAEConfig":
        """This (VAE-resolved) config with the batch size, epochs and patience that
        ``requested`` left at auto set for ``n_train`` training rows: batches of n_train / 16
        in [VAE_MIN_BATCH, the default], and enough epochs for VAE_MIN_STEPS steps (1,000
        training rows at 1024 per batch would otherwise take 100 steps in all), with the
        patience and an auto KL warm-up scaled to them."""
        import dataclasses

        n_train = max(int(n_train), 1)
        changes: dict = {}
        if requested.is_auto("batch_size"):
            changes["batch_size"] = int(min(VAE_DEFAULTS["batch_size"],
                                            max(VAE_MIN_BATCH, n_train // 16)))
        batch = changes.get("batch_size", self.batch_size)
        if requested.is_auto("epochs"):
            per_epoch = math.ceil(n_train / min(batch, n_train))
            epochs = min(VAE_MAX_EPOCHS, max(self.epochs, math.ceil(VAE_MIN_STEPS / per_epoch)))
            if requested.is_auto("patience") and epochs > self.epochs:
                changes["patience"] = round(self.patience * epochs / self.epochs)
            if requested.kl_warmup_epochs == -1 and epochs > self.epochs:
                changes["kl_warmup_epochs"] = max(VAE_KL_WARMUP, VAE_KL_WARMUP_FRACTION * epochs)
            changes["epochs"] = epochs
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON-able dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "VAEConfig":
        """Inverse of :meth:`to_dict`; unknown keys are ignored (older/newer checkpoints)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
