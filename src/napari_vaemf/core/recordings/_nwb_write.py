"""Write a fit to a **new** NWB file (the source file is only ever read).

Layout of the written file:

- ``processing/vaemf/latents``: TimeSeries (T, K) of posterior means on the recording's time
  base (``starting_time`` = left edge of bin 0, ``rate`` = 1 / bin size; sample k is the bin
  ``[t_start + k*b, t_start + (k+1)*b)``). Without a bin size the rate is 1 per configuration.
- ``processing/vaemf/decoder_units``: DynamicTable with one row per unit whose ``id`` is the
  unit id (integer ids; otherwise row numbers and a string ``unit_id`` column), plus
  ``field`` (N,) and ``pattern`` (N, P) when the fit has them.
- ``scratch/vaemf_config``, ``scratch/vaemf_metrics``: JSON text of the fit's configuration
  and metrics; ``scratch/vaemf_source``: JSON reference to the source (path, sha256, NWB
  object ids of the source file and its Units table, bin size, window, repeats).
- Subject: copied from the source NWB file when it has one, else ``subject=`` (a dict of
  pynwb Subject fields) or a placeholder saying the subject is not recorded.

``fit`` is duck-typed: any object with ``latents`` (T, K), ``patterns`` (N, P) or None,
``fields`` (N,) or None, ``config`` (dict or dataclass) and ``metrics`` (dict); an object
with a ``summary()`` method (``napari_vaemf.core.vae.Fit``) is summarised first.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..configs import jsonable
from ..errors import InputError, ParameterError
from ._recording import Recording

__all__ = ["save_fit_to_nwb", "file_sha256"]

log = logging.getLogger(__name__)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fit_parts(fit: Any) -> dict:
    if callable(getattr(fit, "summary", None)) and callable(getattr(fit, "latents", None)):
        fit = fit.summary()
    parts = {}
    for key in ("latents", "patterns", "fields", "config", "metrics"):
        v = getattr(fit, key, None)
        if callable(v):
            raise ParameterError(f"fit.{key} must be data, not a method; pass fit.summary()")
        parts[key] = v
    if parts["latents"] is None:
        raise ParameterError("fit has no latents (T, K)")
    cfg = parts["config"]
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        cfg = dataclasses.asdict(cfg)
    parts["config"] = cfg or {}
    parts["metrics"] = parts["metrics"] or {}
    parts["latent_bins"] = getattr(fit, "latent_bins", None)
    return parts


def _json(obj: Any) -> str:
    return json.dumps(jsonable(obj), default=repr, sort_keys=True)


def _source_info(rec: Recording) -> tuple[dict, Any, dict | None]:
    """(reference dict, session_start_time or None, subject fields or None) of the source."""
    ref: dict[str, Any] = {
        "path": None if rec.source is None else str(rec.source.resolve()),
        "bin_size": rec.bin_size, "t_start": rec.t_start, "n_bins": rec.n_bins,
        "n_units": rec.n_units, "repeats": rec.repeats, "encoding": rec.encoding, "model": rec.model,
    }
    start, subject = None, None
    if rec.source is not None and rec.source.is_file():
        ref["sha256"] = file_sha256(rec.source)
        if rec.source.suffix.lower() == ".nwb":
            from ._nwb import find_units, open_hdf5

            with open_hdf5(rec.source) as f:
                ref["nwb_object_id"] = _s(f.attrs.get("object_id"))
                ref["identifier"] = _s(f["identifier"][()]) if "identifier" in f else None
                try:
                    ref["units_path"] = find_units(f, rec.source)
                    ref["units_object_id"] = _s(f[ref["units_path"]].attrs.get("object_id"))
                except InputError:
                    pass
                if "session_start_time" in f:
                    start = datetime.fromisoformat(_s(f["session_start_time"][()]))
                if "general/subject" in f:
                    g = f["general/subject"]
                    subject = {k: _s(g[k][()]) for k in ("subject_id", "species", "sex", "age", "description", "strain") if k in g}
    return ref, start, subject


def _s(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def save_fit_to_nwb(
    fit: Any,
    source: Recording | str | Path,
    path: str | Path,
    *,
    overwrite: bool = False,
    subject: dict | None = None,
) -> Path:
    """Write ``fit`` of recording ``source`` to a new NWB file at ``path``; return the path.

    ``source`` is the :class:`Recording` the fit was made on (or a path, loaded with default
    options). The source file is only read (hashed, referenced); ``path`` must differ from it
    and must not exist unless ``overwrite=True``.
    """
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.file import Subject
    from hdmf.common import DynamicTable, VectorData

    from ._load import load_recording

    rec = source if isinstance(source, Recording) else load_recording(source)
    path = Path(path)
    if rec.source is not None and path.resolve() == rec.source.resolve():
        raise ParameterError(f"{path}: refusing to write over the source recording")
    if path.exists() and not overwrite:
        raise ParameterError(f"{path}: file exists (pass overwrite=True to replace it)")
    parts = _fit_parts(fit)
    z = np.asarray(parts["latents"], dtype=np.float64)
    if z.ndim == 1:
        z = z[:, None]
    if z.ndim != 2:
        raise ParameterError(f"latents must be (T, K), got shape {z.shape}")
    ref, start, src_subject = _source_info(rec)
    nwbfile = NWBFile(
        session_description=f"vaemf product-decoder VAE fit of {rec.name}",
        identifier=str(uuid.uuid4()),
        session_start_time=start or datetime.now(timezone.utc),
        notes=f"Derived from {ref['path'] or rec.name} (sha256 {ref.get('sha256', 'n/a')}); "
        "see scratch/vaemf_source.",
        source_script="napari-vaemf", source_script_file_name="napari_vaemf/core/recordings/_nwb_write.py",
    )
    sub = subject or src_subject or {
        "subject_id": "unknown",
        "description": "subject not recorded in the source file",
        "species": "unknown", "sex": "U", "age": "P0D/",
    }
    nwbfile.subject = Subject(**sub)
    mod = nwbfile.create_processing_module("vaemf", "product-decoder VAE fit (napari-vaemf)")
    mod.add(_latents_series(TimeSeries, z, rec, parts["latent_bins"]))
    mod.add(_unit_table(DynamicTable, VectorData, rec, parts))
    nwbfile.add_scratch(_json(parts["config"]), name="vaemf_config", description="fit configuration (JSON)")
    nwbfile.add_scratch(_json(parts["metrics"]), name="vaemf_metrics", description="fit metrics (JSON)")
    nwbfile.add_scratch(_json(ref), name="vaemf_source", description="reference to the source recording (JSON)")
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    log.info("wrote fit of %s to %s", rec.name, path)
    return path


def _latents_series(TimeSeries, z: np.ndarray, rec: Recording, latent_bins):
    desc = (
        "posterior means of the latent variables; sample k is the bin "
        "[t_start + k*b, t_start + (k+1)*b) of the source recording"
    )
    common = dict(name="latents", data=z, unit="a.u.", description=desc, comments="vaemf latents")
    if latent_bins is not None:
        bins = np.asarray(latent_bins, dtype=np.int64)
        if bins.shape != (len(z),):
            raise ParameterError(f"latent_bins has shape {bins.shape}, latents {z.shape}")
        step = rec.bin_size or 1.0
        return TimeSeries(timestamps=rec.t_start + bins * step, **common)
    if len(z) != rec.n_bins:
        raise ParameterError(
            f"{len(z)} latent rows but the recording has {rec.n_bins} bins (give fit.latent_bins)"
        )
    return TimeSeries(starting_time=float(rec.t_start), rate=1.0 / (rec.bin_size or 1.0), **common)


def _unit_table(DynamicTable, VectorData, rec: Recording, parts: dict):
    ids = np.asarray(rec.units["id"])
    n = rec.n_units
    columns = []
    if ids.dtype.kind in "iu" and len(np.unique(ids)) == n:
        table_ids = ids.astype(np.int64)
    else:
        table_ids = np.arange(n)
        columns.append(VectorData(name="unit_id", description="unit id in the source", data=[str(i) for i in ids]))
    for key, desc in (("fields", "decoder bias b_i (the unit's field at z = 0)"),
                      ("patterns", "decoder weights W_i (the unit's pattern entries, one per feature of g: "
                                   "the K latents unless features > K)")):
        v = parts[key]
        if v is None:
            continue
        v = np.asarray(v, dtype=np.float64)
        if v.shape[0] != n:
            raise ParameterError(f"fit {key} has {v.shape[0]} rows but the recording has {n} units")
        columns.append(VectorData(name=key[:-1], description=desc, data=v))
    if "location" in rec.units:
        columns.append(VectorData(name="location", description="unit location in the source",
                                  data=[str(x) for x in rec.units["location"]]))
    return DynamicTable(
        name="decoder_units", description="per-unit decoder parameters, keyed by unit id",
        id=table_ids.tolist(), columns=columns,
    )
