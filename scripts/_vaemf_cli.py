"""`vaemf` as a user runs it, for the acceptance scripts: a subprocess of this interpreter."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def vaemf(*args: str) -> tuple[float, str]:
    """Run ``vaemf ARGS``; returns (wall seconds from start to exit, stdout). A failure stops
    the script with the command and the end of its stderr."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "napari_vaemf.cli", *args], capture_output=True,
                          text=True)
    if done.returncode:
        raise SystemExit(f"vaemf {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    return time.perf_counter() - t0, done.stdout.strip()


def write_result(path: Path, result: dict) -> None:
    """Write an acceptance result as JSON, with the machine's size and load stated."""
    out = {**result, "cpu_count": os.cpu_count(), "load_average_1min_at_end": os.getloadavg()[0]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, default=float) + "\n")


def write_cases(path: Path, script: str, rows: dict) -> None:
    """Write the cases of a multi-case script as ``{"script": the command that makes them
    all, "cases": rows}`` (rewritten after each case, so a stopped run keeps the finished)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"script": f"python {script} " + " ".join(sorted(rows)),
                                "cases": rows}, indent=1, default=str) + "\n")
