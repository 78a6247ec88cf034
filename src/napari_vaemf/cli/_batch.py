"""``vaemf batch {fit,capacity} INPUT... -o DIR``: one analysis over many recordings.

Each recording (paths or glob patterns, e.g. ``'data/*.nwb'``) gets its own result folder
``DIR/<name>/`` written exactly as ``vaemf fit`` / ``vaemf capacity`` write theirs; a folder
that already holds a complete result (its manifest lists ``report.json`` or
``capacity.json``) is skipped, so rerunning the command finishes an interrupted batch. One
summary table, ``DIR/summary.csv`` and ``DIR/summary.json``, has a row per recording (units,
bins, and for capacity: latents needed, rate, bipartite-MI bound and the verdict; for fit:
held-out log-likelihood and rate). A recording that fails is reported in its row (status
"failed" and the one-line error) and the batch goes on; the exit code is 2 if any failed.
"""
from __future__ import annotations

import argparse
import csv
import glob
import io
import json
import logging
import sys
from pathlib import Path

from napari_vaemf.cli._common import add_input_options
from napari_vaemf.core.capacity import CapacitySettings
from napari_vaemf.core.errors import InputError, VaemfError
from napari_vaemf.core.runs import MANIFEST, RunFolder, verify_run
from napari_vaemf.core.settings import add_options, from_args
from napari_vaemf.core.vae.config import VAEConfig

__all__ = ["register", "run", "expand_inputs"]

log = logging.getLogger(__name__)

RESULT = {"fit": "report.json", "capacity": "capacity.json"}  # the file that marks a folder done
COLUMNS = ("recording", "path", "status", "units", "bins", "bin_size", "latents_needed",
           "rate_nats", "bipartite_mi_lower_nats", "mean_field", "verdict", "test_loglik_nats",
           "error")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "batch", help="run fit or capacity over many recordings, with one summary table",
        description="Run `vaemf fit` or `vaemf capacity` over a list or glob of recordings: one "
        "result folder per recording under DIR, a summary table (DIR/summary.csv, .json); "
        "finished recordings are skipped when the command is run again.")
    sub = p.add_subparsers(dest="task", required=True, metavar="TASK")
    for task, cls, title in (("fit", VAEConfig, "fit settings"),
                             ("capacity", CapacitySettings, "sweep settings")):
        q = sub.add_parser(task, help=f"`vaemf {task}` on every recording")
        q.add_argument("inputs", nargs="+", help="recordings or glob patterns (quote them)")
        q.add_argument("-o", "--output", type=Path, required=True, help="folder of the batch")
        add_input_options(q)
        add_options(q, cls, title=title)
    p.set_defaults(func=run)


def expand_inputs(patterns: list[str]) -> list[Path]:
    """Paths named by ``patterns`` (globs expanded, sorted, duplicates dropped)."""
    out: list[Path] = []
    for pattern in patterns:
        hits = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
        if not hits:
            raise InputError(pattern, "matches no file")
        for hit in hits:
            path = Path(hit)
            if path not in out:
                out.append(path)
    return out


def _names(paths: list[Path]) -> list[str]:
    """Folder names: the file stem, with the parent folder's name added when stems repeat."""
    stems = [p.stem if p.is_file() else p.name for p in paths]
    return [s if stems.count(s) == 1 else f"{p.parent.name}-{s}" for p, s in zip(paths, stems)]


def _complete(folder: Path, task: str) -> bool:
    if not (folder / MANIFEST).is_file():
        return False
    try:
        manifest = verify_run(folder, hashes=False)
    except VaemfError:
        return False
    return manifest is not None and RESULT[task] in manifest.files


def _row(task: str, folder: Path) -> dict:
    data = json.loads((folder / RESULT[task]).read_text())
    row = {"units": data.get("n_units") or (data.get("settings") or {}).get("n_units"),
           "bin_size": data.get("bin_size")}
    if task == "fit":
        row.update(bins=data.get("n_samples"), test_loglik_nats=data.get("test_loglik_nats"),
                   rate_nats=data.get("rate_nats"))
        return row
    settings = data.get("settings") or {}
    row["bins"] = (settings.get("n_train") or 0) + (settings.get("n_test") or 0)
    needed = data.get("latents_needed")
    rates = {r["latents"]: r for r in data.get("sweep", [])}
    mi = data.get("bipartite_mi_nats") or {}
    row.update(latents_needed=needed, mean_field=data.get("mean_field"),
               rate_nats=rates.get(needed, {}).get("rate_nats") if needed else None,
               test_loglik_nats=rates.get(needed, {}).get("test_loglik_nats") if needed else None,
               bipartite_mi_lower_nats=mi.get("lower"),
               verdict=(f"mean-field, {needed} latent{'s' if needed != 1 else ''}"
                        if data.get("mean_field") and needed else
                        "no low-dimensional mean-field description"))
    return row


def _one(task: str, path: Path, folder: Path, args: argparse.Namespace) -> None:
    """Run ``task`` on one recording into ``folder`` (what `vaemf fit|capacity` would do)."""
    ns = argparse.Namespace(**vars(args))
    ns.input, ns.output = path, folder
    if task == "fit":
        from napari_vaemf.cli import _fit

        code = _fit.run(ns)
    else:
        from napari_vaemf.cli import _capacity

        settings = from_args(CapacitySettings, ns)
        with RunFolder.open(folder, kind="capacity", option="-o/--output") as held:
            code = _capacity._sweep_into(held, ns, settings)
    if code:
        raise KeyboardInterrupt  # the run was interrupted (130): stop the batch here


def run(args: argparse.Namespace) -> int:
    task = args.task
    paths = expand_inputs(args.inputs)
    out = Path(args.output)
    with RunFolder.open(out, kind="batch", option="-o/--output") as batch:
        rows = []
        for path, name in zip(paths, _names(paths)):
            folder = out / name
            row = {"recording": name, "path": str(path)}
            if _complete(folder, task):
                row["status"] = "skipped (done)"
            else:
                try:
                    _one(task, path, folder, args)
                    row["status"] = "done"
                except VaemfError as err:
                    row.update(status="failed", error=str(err))
                    sys.stderr.write(f"vaemf batch: {name}: {err}\n")
            if row["status"] != "failed":
                row.update(_row(task, folder))
            rows.append({c: row.get(c) for c in COLUMNS})
            sys.stdout.write(f"{name}: {row['status']}\n")
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        with batch.begin() as txn:
            txn.write_bytes("summary.csv", text.getvalue().encode())
            txn.write_json("summary.json", {"task": task, "recordings": rows})
            txn.commit(keep=True)
    sys.stdout.write(f"wrote {out / 'summary.csv'} ({len(rows)} recordings)\n")
    return 2 if any(r["status"] == "failed" for r in rows) else 0
