"""Fits trained in a child process: what the Fit and Capacity widgets' Start runs.

    job = train_in_process(data, config)     # a core job (ProcessJob): Progress records
    drive(job)                               # or the GUI's JobRunner; Stop = job.close()
    done = job.result                        # ChildFit, also after a stop (the best model)
    fit = done.rebuild(data)                 # the same fit, in this process
    done.latents                             # (T, K) posterior means of every bin

The child (:func:`napari_vaemf.core.processes.process_job`) builds the fit with
:func:`napari_vaemf.core.fitting.new_fit`, the one entry point, and uses only what every fit
offers: ``train()``, ``latents()``, ``save(path)``, ``config``, ``epoch``, and
``rate_per_latent()`` when it has one. Each epoch's last record gains the rate of each latent
(``rate_z0``, ``rate_z1``, ... for the live plot); a loss that is not finite ends the fit with
a one-line :class:`~napari_vaemf.core.errors.ParameterError`. At the end, or when stopped (the
fit then restores its best model), the child sends back a :class:`ChildFit`: the checkpoint
as bytes and the latents of every bin.

Data: the prepared samples ``data.x`` (or, for a streamed recording, the bits of its
:class:`~napari_vaemf.core.recordings.PackedRaster`) go to the child in shared memory, copied once; the
child's fit views them read-only (pickling would put a second copy in the pipe and a third
in the child). While the fit runs this process holds ``data.x`` (kept for the fit it
rebuilds) and the shared copy, which is freed when the child has ended. The rest of
``data`` (split, time base) travels pickled. The child does not re-read the layer's file:
layers need not come from a file (simulations, plain image layers), and re-reading would
repeat the binning and could differ from what the layer shows.

:func:`sweep_in_process` runs a whole capacity sweep (the MI estimates and every fit) the
same way; its ``scheduler`` setting still applies inside the child (a Dask cluster there).
A stopped sweep returns nothing (its fits are kept only in its output folder, if any).
"""
from __future__ import annotations

import dataclasses
import importlib
import io
import math
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from napari_vaemf.core.data import FitData
from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.processes import ProcessJob, process_job
from napari_vaemf.core.progress import Job, Progress
from napari_vaemf.core.vae.config import VAEConfig

__all__ = ["ChildFit", "train_in_process", "fit_target", "with_rates", "sweep_in_process",
           "sweep_target"]


@dataclasses.dataclass
class ChildFit:
    """What the child sends back: the trained fit as a checkpoint, and its latents."""

    checkpoint: bytes  # the file the fit's save(path) wrote
    latents: np.ndarray  # (T, K) float32 posterior means of every bin
    engine: str  # "module:Class" of the fit; that class rebuilds it (from_checkpoint or load)
    epoch: int  # epochs trained
    stopped: bool  # True when the fit was stopped before it finished

    def rebuild(self, data: FitData, device: str | None = None):
        """The fit in this process on ``data`` (the data it was trained on; its split and
        fingerprint are checked), ready to evaluate, save or continue training."""
        cls = _engine_class(self.engine)
        if hasattr(cls, "from_checkpoint"):
            import torch

            ckpt = torch.load(io.BytesIO(self.checkpoint), map_location="cpu", weights_only=True)
            return cls.from_checkpoint(ckpt, x=data.x, device=device)
        with tempfile.TemporaryDirectory(prefix="vaemf-fit-") as tmp:
            path = Path(tmp) / "fit.pt"
            path.write_bytes(self.checkpoint)
            return cls.load(path, x=data.x, device=device)


def _send(x) -> tuple[np.ndarray, int | None]:
    """What travels to a child in shared memory: the samples, or the bits of a streamed
    recording (a PackedRaster) with its number of units (else None)."""
    from napari_vaemf.core.recordings._packed import PackedRaster

    if isinstance(x, PackedRaster):
        return x.bits, x.n_units
    return x, None


def _received(x: np.ndarray, packed: int | None):
    """The child's side of :func:`_send`: the samples as the parent held them."""
    if packed is None:
        return x
    from napari_vaemf.core.recordings._packed import PackedRaster

    return PackedRaster(x, packed)


def train_in_process(data: FitData, config: VAEConfig, *, threads: int | None = None,
                     stop_timeout_s: float = 120.0) -> ProcessJob:
    """The job that trains ``new_fit(data, config)`` in a spawned child process.

    ``threads``: torch threads in the child (default: torch's, one per core). The job yields
    the fit's Progress records (epoch ends with ``rate_z*``) and returns a :class:`ChildFit`,
    which is also ``job.result`` after a stop.
    """
    meta = dataclasses.replace(data, x=np.zeros((0,), np.int8))  # x travels in shared memory
    x, packed = _send(data.x)
    return process_job(fit_target, meta, config, threads, packed, arrays={"x": x}, name="fit",
                       stop_timeout_s=stop_timeout_s)


def fit_target(meta: FitData, config: VAEConfig, threads: int | None, packed: int | None = None, *,
               x: np.ndarray):
    """The child's side (module level, so spawn can import it): the fit's job and its finish."""
    import warnings

    # x is a read-only view of the parent's shared memory; torch.as_tensor warns about that
    # although the fit only reads it (every tensor made from it is converted, i.e. copied)
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable",
                            category=UserWarning)
    if threads:
        import torch

        torch.set_num_threads(int(threads))
    from napari_vaemf.core.fitting import new_fit

    fit = new_fit(dataclasses.replace(meta, x=_received(x, packed)), config)
    return with_rates(fit), partial(_finish, fit)


def with_rates(fit) -> Job[Any]:
    """``fit.train()`` with the rate of each latent added to each epoch's last record, and a
    loss that is not finite turned into a :class:`ParameterError`. Closing it closes the
    training (which keeps the best model)."""
    job = fit.train()
    last_epoch = 0
    try:
        while True:
            try:
                rec = next(job)
            except StopIteration as fin:
                return fin.value
            loss = rec.metrics.get("neg_elbo", 0.0)
            if not math.isfinite(loss):
                steps = int(rec.metrics.get("step", 0))
                raise ParameterError(
                    f"the training loss became {loss} after {steps} steps; lower the "
                    f"learning rate (lr={fit.config.lr:g})")
            epoch = rec.metrics.get("epoch", 0)
            if epoch > last_epoch and hasattr(fit, "rate_per_latent"):
                last_epoch = epoch
                rates = {f"rate_z{k}": float(r) for k, r in enumerate(fit.rate_per_latent())}
                rec = Progress(rec.stage, rec.step, rec.total, {**rec.metrics, **rates})
            yield rec
    finally:
        job.close()


def _finish(fit, _value, stopped: bool) -> ChildFit:
    """After training (or a stop): the checkpoint's bytes and the latents of every bin."""
    with tempfile.TemporaryDirectory(prefix="vaemf-fit-") as tmp:
        path = Path(tmp) / "fit.pt"
        fit.save(path)
        blob = path.read_bytes()
    cls = type(fit)
    return ChildFit(checkpoint=blob, latents=np.asarray(fit.latents(), np.float32),
                    engine=f"{cls.__module__}:{cls.__qualname__}", epoch=int(fit.epoch),
                    stopped=bool(stopped))


def _engine_class(engine: str) -> type:
    module, _, name = engine.partition(":")
    if not module.startswith("napari_vaemf.core."):
        raise ParameterError(f"not a vaemf fit class: {engine!r}")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def sweep_in_process(data: FitData, settings, *, repeats: int | None = None,
                     threads: int | None = None) -> ProcessJob:
    """The job that runs :func:`~napari_vaemf.core.capacity.capacity_sweep` on ``data`` (its
    held-out rows are the sweep's test rows) in a spawned child; returns the CapacityReport,
    or None when stopped."""
    x, packed = _send(data.x)
    return process_job(sweep_target, data.encoding, settings, data.test_index, repeats, threads,
                       packed, arrays={"x": x}, name="capacity sweep")


def sweep_target(encoding: str, settings, test_index: np.ndarray, repeats: int | None,
                 threads: int | None, packed: int | None = None, *, x: np.ndarray) -> Job[Any]:
    """The child's side of :func:`sweep_in_process` (``packed``: x holds the bits of a
    streamed recording of that many units)."""
    if threads:
        import torch

        torch.set_num_threads(int(threads))
    from napari_vaemf.core.capacity import capacity_sweep

    return capacity_sweep(_received(x, packed), encoding, settings=settings, test_index=test_index, repeats=repeats)
