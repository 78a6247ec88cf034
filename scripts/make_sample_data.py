"""Regenerate the example configuration files in ``sample_data/`` (deterministic, seed 0).

    python scripts/make_sample_data.py [--out sample_data]

Every file is a vaemf configuration .npz (drag it onto napari, or `vaemf info FILE`); the
same numpy version writes the same bytes. tests/scripts/test_make_sample_data.py checks it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from napari_vaemf.core.configs import SampleSet, save_configurations
from napari_vaemf.core.progress import Job, drive
from napari_vaemf.core.samplers import (
    BETA_C,
    sample_curie_weiss,
    sample_hopfield,
    sample_ising2d,
    sample_maier_saupe,
)

OUT = Path(__file__).resolve().parents[1] / "sample_data"

# file name -> sampler job (all seed 0); each file stays well under 1 MB
FILES: dict[str, Callable[[], Job[SampleSet]]] = {
    "curie_weiss_n64_betaj1.2.npz": lambda: sample_curie_weiss(64, 1.2, samples=5000, seed=0),
    "curie_weiss_n64_betaj0.8_spikes.npz": lambda: sample_curie_weiss(
        64, 0.8, beta_h=-0.5, samples=5000, seed=0),
    "hopfield_n100_p3_beta1.4.npz": lambda: sample_hopfield(
        100, 3, beta=1.4, samples=4000, seed=0),
    "maier_saupe_n64_betaj9.npz": lambda: sample_maier_saupe(
        64, 9.0, samples=400, seed=0, chains=16, burn_in=60),
    "ising2d_l32_betac.npz": lambda: sample_ising2d(32, BETA_C, samples=1000, seed=0),
}


def _to_spikes(s: SampleSet) -> SampleSet:
    """±1 spins as a {0, 1} spike raster (up spin = spike)."""
    x = ((s.configurations + 1) // 2).astype(s.configurations.dtype)
    params = dict(s.params, encoding="binary: spike = (s + 1) / 2")
    return SampleSet(s.model, x, params, s.truth)


def make(out: Path = OUT) -> list[Path]:
    """Write every file of FILES into ``out``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, job in FILES.items():
        s = drive(job(), bar=False)
        if name.endswith("_spikes.npz"):
            s = _to_spikes(s)
        paths.append(save_configurations(out / name, s))
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help="output folder (sample_data/)")
    args = ap.parse_args(argv)
    for p in make(args.out):
        sys.stdout.write(f"{p}  {p.stat().st_size / 1024:.0f} KiB\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
