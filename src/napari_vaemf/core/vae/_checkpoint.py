"""Checkpoint files: atomic writes, data fingerprints, device choice."""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from napari_vaemf.core.errors import InputError, ParameterError

__all__ = ["atomic_save", "load_checkpoint", "check_checkpoint", "check_fields", "fingerprint", "pick_device",
           "CHECKPOINT_FORMAT"]

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "napari-vaemf.fit/1"  # stored in every checkpoint, checked on load


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file next to ``path``, fsync, then ``os.replace``.

    A crash or cancel mid-write leaves the old file (or none) and no partial file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`atomic_save` (weights only: no code is unpickled)."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.pt"
    if not path.is_file():
        raise InputError(path, "no such checkpoint file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as err:
        raise InputError(path, f"not a readable vaemf checkpoint ({err})") from err
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise InputError(path, f"not a vaemf checkpoint (expected format {CHECKPOINT_FORMAT!r})")
    if ckpt.get("engine", "vae") == "exact":
        from napari_vaemf.core.exact._checkpoint import check_exact_checkpoint

        check_exact_checkpoint(ckpt, path)
    else:
        check_checkpoint(ckpt, path)
    return ckpt


# what Fit.load reads from a checkpoint, and the type each must have
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "config": dict, "n_units": int, "encoding": str, "model": dict, "optimizer": dict,
    "step": int, "epoch": int, "metrics": dict, "history": list,
    "best_test_neg_elbo": (float, int), "train_seconds": (float, int), "n_samples": int,
    "fingerprint": (str, type(None)), "test_index": torch.Tensor,
}


def check_fields(ckpt: dict, fields: dict[str, type | tuple[type, ...]], path: str | os.PathLike) -> None:
    """Every key of ``fields`` is in ``ckpt`` with its type (a bool is no int), else a one-line
    :class:`InputError` naming ``path`` and the field."""
    for key, kind in fields.items():
        if key not in ckpt:
            raise InputError(path, f"checkpoint has no {key!r} (damaged, or not written by vaemf fit)")
        value = ckpt[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            wanted = " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__
            raise InputError(path, f"checkpoint field {key!r} is a {type(value).__name__}, not a {wanted}")


def check_checkpoint(ckpt: dict, path: str | os.PathLike) -> None:
    """Refuse a checkpoint ``Fit.load`` could not rebuild, before anything is allocated.

    Every field must be there with its type; the config must be possible
    (``VAEConfig.__post_init__``); the model its config and ``n_units`` describe (built on
    torch's ``meta`` device, which allocates nothing) must fit in the memory budget and have
    exactly the stored tensors' names and shapes; every weight must be finite (NaN weights
    sample all -1 and read off nonsense).
    """
    from napari_vaemf.core.limits import check_alloc
    from napari_vaemf.core.vae.model import ENCODINGS, ProductVAE, VAEConfig

    check_fields(ckpt, _FIELDS, path)
    if ckpt["encoding"] not in ENCODINGS:
        raise InputError(path, f"checkpoint encoding {ckpt['encoding']!r} is not one of {ENCODINGS}")
    n_units = ckpt["n_units"]
    if n_units < 1:
        raise InputError(path, f"checkpoint n_units must be >= 1, got {n_units}")
    try:
        config = VAEConfig.from_dict(ckpt["config"])
    except (ParameterError, TypeError, ValueError) as err:
        raise InputError(path, f"the checkpoint's config is impossible: {err}") from err
    with torch.device("meta"):  # shapes only, nothing allocated
        expected = ProductVAE(n_units, ckpt["encoding"], config).state_dict()
    numel = sum(t.numel() for t in expected.values())
    check_alloc(4 * 3 * numel, f"the model of its config ({numel:,} weights for {n_units:,} units, "
                f"{config.latents} latents; with Adam's state)", source=path)
    stored = ckpt["model"]
    missing = sorted(set(expected) - set(stored))
    extra = sorted(set(stored) - set(expected))
    if missing or extra:
        raise InputError(path, f"the model weights do not match the checkpoint's config (missing "
                               f"{missing[:3] or 'none'}, unexpected {extra[:3] or 'none'})")
    for name, want in expected.items():
        got = stored[name]
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(want.shape):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise InputError(path, f"model weight {name} is {shape}, but n_units={n_units} and "
                                   f"{config.latents} latents make it {tuple(want.shape)}")
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            raise InputError(path, f"model weight {name} holds NaN or infinite values: the fit "
                                   "diverged; fit again with a lower --lr")


def fingerprint(x: np.ndarray, encoding: str) -> str:
    """sha256 of the data's encoding, shape, dtype and bytes (identifies the training data)."""
    h = hashlib.sha256(f"{encoding}|{tuple(x.shape)}|{x.dtype.str}|".encode())
    step = max(1, (64 << 20) // max(1, x[0].nbytes)) if len(x) else 1  # hash in ~64 MB chunks
    for i in range(0, len(x), step):
        h.update(np.ascontiguousarray(x[i : i + step]).tobytes())
    return h.hexdigest()


def pick_device(name: str = "auto") -> torch.device:
    """``"auto"`` -> CUDA if available, then Apple MPS, then CPU; otherwise ``torch.device(name)``."""
    if name != "auto":
        from napari_vaemf.core.limits import DEVICE_NAMES

        if not DEVICE_NAMES.fullmatch(str(name)):
            raise ParameterError(f"--device must be auto, cpu, cuda, cuda:N or mps, got {name!r}")
        try:
            dev = torch.device(name)
        except RuntimeError as err:
            raise ParameterError(f"unknown device {name!r} ({err})") from err
        mps = getattr(torch.backends, "mps", None)
        if (dev.type == "cuda" and not torch.cuda.is_available()) or (
            dev.type == "mps" and not (mps is not None and mps.is_available())
        ):
            raise ParameterError(f"device {name!r} is not available here (try --device auto)")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
