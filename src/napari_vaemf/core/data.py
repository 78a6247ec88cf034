"""Data prepared for fitting: how a file is read, which rows are held out, what travels along.

One rule per concept, used by the CLI, the widgets and the scripts alike:

- :class:`InputOptions`: the options of every command that reads a recording (``--variable``,
  ``--layout``, ``--bin-size``, ``--t-start``/``--t-stop``, ``--units``), generated from this
  dataclass. The bin-size rule lives in :func:`~napari_vaemf.core.recordings.load_recording`:
  spike times are binned at ``bin_size`` (default 20 ms); a raster that states its bin size is
  re-binned to it; a raster that states none is labelled with it.
- :func:`heldout_split`: whole repeats when the recording has repeats (every m-th repeat, m =
  round(1 / holdout), so 0.5 holds out the odd repeats), contiguous time blocks for other
  recordings, random rows for i.i.d. configurations (Monte-Carlo samples).
- :func:`prepare`: a :class:`~napari_vaemf.core.recordings.Recording` -> :class:`FitData`
  (samples in the fitting encoding, the split, and the time base: bin size, t_start, repeats,
  the source file and its sha256), which fits save and ``report.json`` states.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from napari_vaemf.core.encoding import fitting_encoding
from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.settings import setting

__all__ = ["InputOptions", "FitData", "heldout_split", "split_rows", "prepare", "streams", "read_input", "derive",
           "parse_units", "file_sha256",
           "SIMULATED_MODELS", "N_TIME_BLOCKS"]

log = logging.getLogger(__name__)

N_TIME_BLOCKS = 10  # contiguous held-out blocks spread over a recording's time axis
# Configuration files of these models hold independent equilibrium samples (random rows held out).
SIMULATED_MODELS = ("curie-weiss", "hopfield", "maier-saupe", "ising2d")

Layout = Literal["auto", "bins_by_units", "units_by_bins", "repeats_bins_units"]


@dataclass
class InputOptions:
    """How a recording file is read (the same options for every command that reads one)."""

    variable: str | None = setting(None, gui=False)  # array to read from a .mat/.npz holding several (default: the only raster)
    layout: Layout = setting("auto", gui=False)  # raster orientation when the shape does not tell
    bin_size: float | None = setting(None, gui=False)  # bin width in s: spike times are binned at it (default 0.02); a raster stating its bin size is re-binned
    t_start: float | None = setting(None, gui=False)  # start of the time window (s)
    t_stop: float | None = setting(None, gui=False)  # end of the time window (s)
    units: str | None = setting(None, gui=False)  # units to keep, by id: e.g. "0-9,12" (default all)
    labels: str | None = setting(None, gui=False)  # phy/Kilosort folder: clusters to keep by label, e.g. "good,mua" or "all" (default good when labelled, else all; never noise)
    sample_rate: float | None = setting(None, gui=False)  # phy/Kilosort folder: sampling rate in Hz of spike_times.npy (default: params.py's sample_rate)

    def __post_init__(self) -> None:
        if self.bin_size is not None and not (self.bin_size > 0 and np.isfinite(self.bin_size)):
            raise ParameterError(f"--bin-size must be a positive number of seconds, got {self.bin_size}")
        for name in ("t_start", "t_stop"):
            value = getattr(self, name)
            if value is not None and not np.isfinite(value):
                raise ParameterError(f"--{name.replace('_', '-')} must be finite, got {value}")
        if self.t_start is not None and self.t_stop is not None and self.t_stop <= self.t_start:
            raise ParameterError(f"--t-stop ({self.t_stop}) must be after --t-start ({self.t_start})")


def parse_units(text: str | None, ids: np.ndarray) -> np.ndarray | None:
    """Positions of the units named in ``text`` ("3,5-8") among ``ids``; None for all
    (``None``, "", "all")."""
    if text is None or text.strip().lower() in ("", "all", "*"):
        return None
    wanted: list[int] = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        m = re.fullmatch(r"(-?\d+)(?:-(-?\d+))?", part)
        if m is None:
            raise ParameterError(f"--units: cannot read {part!r} (use ids and ranges like 0-9,12)")
        lo = int(m.group(1))
        wanted.extend(range(lo, int(m.group(2)) + 1) if m.group(2) else [lo])
    lookup = {int(v): i for i, v in enumerate(np.asarray(ids).tolist()) if isinstance(v, (int, np.integer))}
    missing = [u for u in wanted if u not in lookup]
    if missing:
        raise ParameterError(f"--units: no unit with id {missing[0]} (ids run {ids[0]}..{ids[-1]})")
    if not wanted:
        raise ParameterError("--units selects no unit")
    return np.array(sorted({lookup[u] for u in wanted}), dtype=np.int64)


def read_input(path: str | Path, options: InputOptions | None = None):
    """The :class:`~napari_vaemf.core.recordings.Recording` in ``path`` read with ``options``."""
    from napari_vaemf.core.recordings import load_recording

    o = options or InputOptions()
    rec = load_recording(path, bin_size=o.bin_size, t_start=o.t_start, t_stop=o.t_stop,
                         layout=o.layout, variable=o.variable, labels=o.labels, sample_rate=o.sample_rate)
    rows = parse_units(o.units, rec.units["id"])
    return rec if rows is None else rec.select(units=rows)


def derive(rec, options: InputOptions):
    """The in-memory recording ``rec`` seen through ``options`` (units by id, the time window
    in seconds, then the bin-size rule of :func:`~napari_vaemf.core.recordings.apply_bin_size`);
    what the Load recording widget shows when its settings change."""
    from napari_vaemf.core.recordings import apply_bin_size

    rows = parse_units(options.units, rec.units["id"])
    if options.bin_size is not None and rec.bin_size is None and rec.model is None \
            and rec.encoding in ("binary", "counts"):
        rec = apply_bin_size(rec, options.bin_size)  # a raster stating no bin: the setting states it
    if rows is not None or options.t_start is not None or options.t_stop is not None:
        rec = rec.select(units=rows, t_start=options.t_start, t_stop=options.t_stop)
    return apply_bin_size(rec, options.bin_size) if rec.bin_size is not None else rec


def file_sha256(path: str | Path, chunk: int = 1 << 22) -> str:
    """sha256 of a file's bytes (read in 4 MB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                return h.hexdigest()
            h.update(block)


def heldout_split(n_samples: int, holdout: float, seed: int = 0, *, repeats: int | None = None,
                  iid: bool = False) -> tuple[np.ndarray, str]:
    """(sorted held-out row indices, the rule's name) for ``n_samples`` rows.

    - ``repeats`` (>= 2; rows repeat-major): every m-th repeat, m = max(2, round(1/holdout)),
      starting with repeat m - 1 ("repeats");
    - ``iid``: a random ``holdout`` fraction of the rows, from ``seed`` ("rows");
    - otherwise the last ``holdout`` fraction of each of :data:`N_TIME_BLOCKS` equal stretches
      of time ("blocks");
    - ``holdout == 0``: nothing held out ("none").
    """
    if not 0.0 <= holdout < 1.0:
        raise ParameterError(f"--holdout must be in [0, 1), got {holdout}")
    if holdout == 0 or n_samples < 2:
        return np.arange(0, dtype=np.int64), "none"
    if repeats and repeats >= 2 and n_samples % repeats == 0:
        per = n_samples // repeats
        m = max(2, int(round(1.0 / holdout)))
        chosen = np.arange(m - 1, repeats, m)
        idx = (chosen[:, None] * per + np.arange(per)[None, :]).ravel()
        return idx.astype(np.int64), "repeats"
    n_test = max(1, min(n_samples - 1, int(round(holdout * n_samples))))
    if iid:
        perm = np.random.default_rng(seed).permutation(n_samples)
        return np.sort(perm[:n_test]).astype(np.int64), "rows"
    edges = np.linspace(0, n_samples, min(N_TIME_BLOCKS, n_samples) + 1).round().astype(np.int64)
    parts = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        k = int(round(holdout * (hi - lo)))
        if k:
            parts.append(np.arange(hi - k, hi))
    idx = np.concatenate(parts) if parts else np.array([n_samples - 1])
    if len(idx) >= n_samples:
        idx = idx[1:]
    return idx.astype(np.int64), "blocks"


def split_rows(n_samples: int, test_index) -> tuple[np.ndarray, np.ndarray]:
    """(held-out rows, training rows), sorted, for ``n_samples`` rows and the held-out
    ``test_index``; ParameterError when an index is out of range or no training row is left."""
    test_index = np.unique(np.asarray(test_index, dtype=np.int64))
    if test_index.size and (test_index[0] < 0 or test_index[-1] >= n_samples):
        raise ParameterError(f"test_index out of range for {n_samples} samples")
    mask = np.ones(n_samples, bool)
    mask[test_index] = False
    train_index = np.flatnonzero(mask)
    if train_index.size == 0:
        raise ParameterError("no training samples left after the held-out split")
    return test_index, train_index


@dataclass
class FitData:
    """Samples ready for a fit, their held-out split and the time base they carry."""

    x: Any  # (T, N) int8 {0,1} or ±1, or (T, N, 3) float32 unit vectors; a PackedRaster (bits) when streamed
    encoding: str  # "binary" | "spin" | "vector" (counts are fitted as binary)
    test_index: np.ndarray  # held-out rows (sorted)
    split: str  # the rule that chose them: "repeats" | "blocks" | "rows" | "none"
    time_base: dict = field(default_factory=dict)  # bin_size, t_start, repeats, source, sha256, input options

    def describe(self) -> dict:
        """What ``report.json`` states about the data (json-able)."""
        return {"split": self.split, "n_test": int(self.test_index.size), **self.time_base}


def streams(rec) -> bool:
    """Whether ``rec`` is fitted from bits (:class:`~napari_vaemf.core.recordings.PackedRaster`)
    rather than dense samples: binary or count rasters binned lazily because they are large
    (more than ``LAZY_CELLS`` cells; the same rule that makes the display lazy)."""
    return bool(rec.is_lazy and rec.encoding in ("binary", "counts"))


def prepare(rec, holdout: float, seed: int = 0, options: InputOptions | None = None,
            hash_source: bool = True, stream: bool = False) -> FitData:
    """:class:`FitData` of recording ``rec`` with ``holdout`` of it held out by the split rule.

    ``stream``: the caller trains and evaluates chunk by chunk, so a recording that
    :func:`streams` is packed one bit per cell instead of made dense (``FitData.x`` is then a
    :class:`~napari_vaemf.core.recordings.PackedRaster`; its rows index as int8 arrays).
    """
    encoding = fitting_encoding(rec.encoding)
    if stream and streams(rec):
        from napari_vaemf.core.recordings import pack_recording

        x = pack_recording(rec)
    else:
        x = rec.samples()
        if encoding != "vector":
            x = x.astype(np.int8)
    iid = rec.model in SIMULATED_MODELS
    test_index, rule = heldout_split(len(x), holdout, seed, repeats=rec.repeats, iid=iid)
    source = None if rec.source is None else Path(rec.source)
    time_base: dict[str, Any] = {
        "bin_size": rec.bin_size, "t_start": float(rec.t_start), "t_stop": rec.t_stop,
        "repeats": rec.repeats, "model": rec.model,
        "source": None if source is None else str(source.resolve()),
        "source_sha256": file_sha256(source) if hash_source and source is not None and source.is_file() else None,
        "unit_ids": [v.item() if hasattr(v, "item") else v for v in np.asarray(rec.units["id"]).tolist()],
        "input_options": asdict(options) if options is not None else None,
    }
    time_base["streamed"] = not isinstance(x, np.ndarray)  # a PackedRaster
    log.info("held-out split: %s, %d of %d rows", rule, test_index.size, len(x))
    return FitData(x=x, encoding=encoding, test_index=test_index, split=rule, time_base=time_base)
