"""Read a phy / Kilosort output folder (read-only) into :class:`SpikeTrains`.

The folder holds ``spike_times.npy`` (spike times in samples, (n,) or (n, 1), any integer
dtype), ``spike_clusters.npy`` (the cluster of each spike; phy's fallback
``spike_templates.npy`` when it is absent), ``params.py`` (``sample_rate`` in Hz) and label
tables. Units are clusters; their ids are the cluster ids.

``params.py`` is Python source written by Kilosort or phy. It is never executed: its
top-level ``name = literal`` assignments are read with :func:`ast.literal_eval` and
everything else is ignored.

Labels, per cluster, from the first table that gives one (an empty cell gives none):

1. ``cluster_group.tsv`` ``group``: phy's manual curation (what phy saves);
2. ``cluster_info.tsv`` ``group``: the same curation in phy's summary table;
3. ``cluster_KSLabel.tsv`` ``KSLabel``: Kilosort's automatic label;
4. ``cluster_info.tsv`` ``KSLabel``;
5. otherwise ``unsorted``.

So a cluster that a person curated is judged by that curation, and Kilosort's label only
fills in the clusters nobody looked at. ``labels`` picks clusters by label ("good",
"good,mua", "all"); without it, ``good`` when any table labels a cluster, else every
cluster. ``noise`` clusters are never kept.
"""
from __future__ import annotations

import ast
import csv
import logging
import math
import re
from pathlib import Path

import numpy as np

from ..errors import InputError, ParameterError
from ._binning import SpikeTrains

__all__ = ["read_phy", "phy_folder", "read_params", "PHY_LABELS"]

log = logging.getLogger(__name__)

PHY_LABELS = ("good", "mua", "unsorted")  # phy's labels besides noise, which is never kept
# (file, column) in order of precedence: the first non-empty label of a cluster wins
_LABEL_SOURCES = (("cluster_group.tsv", "group"), ("cluster_info.tsv", "group"),
                  ("cluster_KSLabel.tsv", "KSLabel"), ("cluster_info.tsv", "KSLabel"))
_SPIKE_FILES = ("spike_times.npy", "spike_clusters.npy", "spike_templates.npy")
_PARAMS_MAX_BYTES = 1 << 20  # a params.py is a few lines; refuse to parse megabytes
_TABLE_IDS = 1 << 22  # cluster ids below this are looked up in a table, larger ones sorted


def phy_folder(path) -> Path | None:
    """The spike-sorter folder ``path`` names (the folder itself, or its ``params.py``) when
    it holds a phy / Kilosort spike file; else None. A cheap check (no file is opened)."""
    p = Path(path)
    folder = p if p.is_dir() else (p.parent if p.name.lower() == "params.py" and p.is_file() else None)
    if folder is None or not any((folder / name).is_file() for name in _SPIKE_FILES):
        return None
    return folder


def read_params(path) -> dict:
    """The literal top-level assignments of a ``params.py`` (``name = 30000.0``), without
    executing it: other statements (imports, calls, expressions) are ignored."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            text = fh.read(_PARAMS_MAX_BYTES + 1)
    except OSError as err:
        raise InputError(path, f"cannot read it: {err}") from err
    if len(text) > _PARAMS_MAX_BYTES:
        raise InputError(path, f"larger than {_PARAMS_MAX_BYTES // 1024} KiB: not a params.py")
    try:
        tree = ast.parse(text.decode("utf-8", "replace"), filename=str(path))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
        raise InputError(path, f"cannot parse it as Python ({err}); pass --sample-rate") from err
    out: dict = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if not isinstance(target, ast.Name):
            continue
        try:
            out[target.id] = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            out.pop(target.id, None)  # not a literal (a call, a name ...): unknown
    return out


def _sample_rate(folder: Path, given: float | None) -> float:
    if given is not None:
        if isinstance(given, bool) or not (isinstance(given, (int, float)) and math.isfinite(given) and given > 0):
            raise ParameterError(f"--sample-rate must be a positive number of Hz, got {given!r}")
        return float(given)
    path = folder / "params.py"
    if not path.is_file():
        raise InputError(path, "not found: the sample rate is unknown; pass --sample-rate HZ")
    rate = read_params(path).get("sample_rate")
    if rate is None:
        raise InputError(path, "no literal `sample_rate = ...` assignment; pass --sample-rate HZ")
    if isinstance(rate, bool) or not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
        raise InputError(path, f"sample_rate must be a positive number of Hz, got {rate!r}; pass --sample-rate HZ")
    return float(rate)


def _load_column(path: Path, what: str) -> np.ndarray:
    """A (n,) or (n, 1) integer .npy, memory-mapped (read-only), as (n,)."""
    if not path.is_file():
        raise InputError(path, f"not found: a phy / Kilosort folder needs {path.name} ({what})")
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise InputError(path, f"cannot read this .npy file: {err}") from err
    if not (arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1)):
        raise InputError(path, f"expected shape (n,) or (n, 1), got {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise InputError(path, f"expected integers ({what}), got {arr.dtype}")
    return arr.reshape(-1)


def _read_tsv(path: Path) -> dict[str, dict[int, str]]:
    """A phy cluster table: column -> {cluster id: cell text}."""
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            rows = [r for r in csv.reader(fh, delimiter="\t") if r and any(c.strip() for c in r)]
    except OSError as err:
        raise InputError(path, f"cannot read it: {err}") from err
    if not rows:
        return {}
    header = [h.strip() for h in rows[0]]
    key = next((h for h in ("cluster_id", "id") if h in header), None)
    if key is None:
        raise InputError(path, f"no cluster_id column (columns: {', '.join(header)})")
    k = header.index(key)
    cols: dict[str, dict[int, str]] = {h: {} for h in header if h != key}
    for line, row in enumerate(rows[1:], start=2):
        try:
            cid = int(row[k])
        except (ValueError, IndexError):
            raise InputError(path, f"line {line}: cluster id {row[k] if k < len(row) else ''!r} is not an integer") from None
        for j, h in enumerate(header):
            if h != key:
                cols[h][cid] = row[j].strip() if j < len(row) else ""
    return cols


def _as_column(cells: dict[int, str], ids: np.ndarray) -> np.ndarray:
    """Cells of ``ids`` as numbers (int when whole and complete, else float with NaN) or text."""
    text = [cells.get(int(i), "") for i in ids]
    try:
        values = np.array([float(t) if t else np.nan for t in text])
    except ValueError:
        return np.array(text, dtype=object)
    if not np.isnan(values).any() and np.all(values == np.round(values)) and np.all(np.abs(values) < 2**53):
        return values.astype(np.int64)
    return values


def _labels(folder: Path, ids: np.ndarray) -> tuple[dict[str, np.ndarray], Path | None]:
    """Per-unit columns from the label tables (``label`` resolved by precedence, ``group``,
    ``KSLabel`` and every cluster_info.tsv column) and the table that names the labels."""
    tables = {name: _read_tsv(folder / name) for name in dict.fromkeys(n for n, _ in _LABEL_SOURCES)
              if (folder / name).is_file()}
    raw = {"label": [""] * len(ids), "group": [""] * len(ids), "KSLabel": [""] * len(ids)}
    named_by = None
    for name, column in _LABEL_SOURCES:  # in order of precedence: fill the empty cells
        cells = tables.get(name, {}).get(column)
        if not cells:
            continue
        named_by = named_by or folder / name
        for u, cid in enumerate(ids.tolist()):
            text = cells.get(cid, "")
            raw["label"][u] = raw["label"][u] or text.lower()
            raw[column][u] = raw[column][u] or text
    cols: dict[str, np.ndarray] = {}
    if named_by is not None:
        cols["label"] = np.array([v or "unsorted" for v in raw.pop("label")], dtype=object)
        cols.update({k: np.array(v, dtype=object) for k, v in raw.items() if any(v)})  # group, KSLabel
    for column, cells in tables.get("cluster_info.tsv", {}).items():
        if column not in ("id", "label") and column not in cols:
            cols[column] = _as_column(cells, ids)
    return cols, named_by


def _wanted(text: str | None, labels: np.ndarray | None, named_by: Path | None,
            folder: Path) -> np.ndarray | None:
    """Mask of the clusters ``text`` keeps (noise never); None: all of them."""
    if labels is None:  # no table labels any cluster: every cluster is kept
        if text is not None and text.strip().lower() not in ("all", ""):
            raise InputError(folder, f"--labels {text}: no cluster_group.tsv, cluster_info.tsv or "
                             "cluster_KSLabel.tsv labels the clusters here; use --labels all")
        return None
    names = [w for w in re.split(r"[,\s]+", (text or "good").strip().lower()) if w]
    present = set(labels.tolist())
    keep = np.zeros(len(labels), dtype=bool)
    for name in names:
        if name == "all":
            keep |= labels != "noise"
        elif name == "noise":
            raise InputError(named_by, "--labels noise: noise clusters are never kept")
        elif name in PHY_LABELS or name in present:
            keep |= labels == name
        else:
            raise InputError(named_by, f"--labels: unknown label {name!r} (phy labels: "
                             f"{', '.join(PHY_LABELS)}; or all)")
    if not keep.any():
        tally = ", ".join(f"{int((labels == v).sum())} {v}" for v in sorted(present))
        raise InputError(named_by, f"no cluster is labelled {','.join(names)} (here: {tally}); "
                         "choose others with --labels, e.g. --labels all")
    return keep


def read_phy(folder, labels: str | None = None, sample_rate: float | None = None) -> SpikeTrains:
    """Spike trains of the clusters of a phy / Kilosort folder that ``labels`` selects.

    Times are ``samples / sample_rate`` seconds (float64, made once for the kept spikes);
    the window starts at 0 (the start of the recording). The unit table holds ``id`` (the
    cluster ids), ``label``, ``group``, ``KSLabel`` and every column of ``cluster_info.tsv``
    (``depth``, ``ch``, ``n_spikes``, ``fr``, ...). Refused with an InputError naming the
    file: missing or unreadable spike files, a length mismatch, no sample rate, an unknown
    label, a selection with no spikes.
    """
    folder = Path(folder)
    times_path = folder / "spike_times.npy"
    spike_times = _load_column(times_path, "spike times in samples")
    clusters_path = folder / "spike_clusters.npy"
    if not clusters_path.is_file() and (folder / "spike_templates.npy").is_file():
        log.info("%s: no spike_clusters.npy; clusters are the templates (as phy does)", folder)
        clusters_path = folder / "spike_templates.npy"
    clusters = _load_column(clusters_path, "the cluster of each spike")
    if len(clusters) != len(spike_times):
        raise InputError(clusters_path, f"{len(clusters)} entries but spike_times.npy has {len(spike_times)}")
    if clusters.size == 0:
        raise InputError(times_path, "zero spikes")
    rate = _sample_rate(folder, sample_rate)
    if clusters.dtype.kind == "i" and int(clusters.min()) < 0:
        raise InputError(clusters_path, "negative cluster ids")
    # the clusters present, and a key per spike that indexes a lookup table of clusters
    top = int(clusters.max())
    if top < _TABLE_IDS:  # small ids (phy's): the id is the key
        present = np.flatnonzero(np.bincount(clusters.astype(np.intp, copy=False)))
        key, n_keys = clusters, top + 1
    else:  # huge ids: the key is the position among the sorted distinct ids
        present, key = np.unique(clusters, return_inverse=True)
        n_keys = len(present)
    cols, named_by = _labels(folder, present.astype(np.int64))
    keep = _wanted(labels, cols.get("label"), named_by, folder)
    pick = np.arange(len(present)) if keep is None else np.flatnonzero(keep)  # kept clusters
    ids, cols = present[pick].astype(np.int64), {k: v[pick] for k, v in cols.items()}
    # stable sort of the kept spikes by unit: unit after unit, time order kept within a unit
    table = np.full(n_keys, -1, dtype=np.int32)
    table[ids if key is clusters else pick] = np.arange(len(ids), dtype=np.int32)
    unit = table[key]
    del key, table
    kept = np.flatnonzero(unit >= 0)
    unit = unit[kept]
    order = kept[np.argsort(unit, kind="stable")]
    ends = np.cumsum(np.bincount(unit, minlength=len(ids)), dtype=np.int64)
    del kept, unit
    samples = np.asarray(spike_times[order])
    del order
    if samples.dtype.kind == "i" and samples.size and int(samples.min()) < 0:
        raise InputError(times_path, "negative spike times")
    times = np.divide(samples, rate, dtype=np.float64)
    del samples
    resorted = 0
    for a, b in zip(np.concatenate([[0], ends[:-1]]), ends):
        seg = times[a:b]
        if seg.size > 1 and (seg[1:] < seg[:-1]).any():
            seg.sort()
            resorted += 1
    if resorted:
        log.info("%s: spike_times.npy is not sorted; sorted %d units", folder, resorted)
    st = SpikeTrains(times=times, ends=ends, units={"id": ids, **cols}, source=folder, t_start=0.0)
    st.validate()
    log.info("%s: %d of %d clusters, %d spikes at %g Hz", folder.name, len(ids), len(present), times.size, rate)
    return st
