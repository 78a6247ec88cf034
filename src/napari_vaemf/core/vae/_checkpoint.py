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

__all__ = ["atomic_save", "load_checkpoint", "fingerprint", "pick_device", "CHECKPOINT_FORMAT"]

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
    return ckpt


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
