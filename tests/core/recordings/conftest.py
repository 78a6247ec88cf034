"""Fixtures for the recordings tests: small synthetic NWB files (the real data: tests/conftest.py)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_nwb(path: Path, trains, *, where: str = "units", columns=None, obs_intervals=None, ids=None):
    """An NWB 2 file whose Units table (at /units or in processing/<where>) holds ``trains``."""
    from pynwb import NWBHDF5IO
    from pynwb.misc import Units
    from pynwb.testing.mock.file import mock_NWBFile

    nwbfile = mock_NWBFile()
    units = Units(name="units" if where == "units" else "sorted_units", description="test units")
    for name in columns or {}:
        units.add_column(name=name, description=f"{name} column")
    for i, t in enumerate(trains):
        extra = {k: v[i] for k, v in (columns or {}).items()}
        if obs_intervals is not None:
            extra["obs_intervals"] = obs_intervals[i]
        if ids is not None:
            extra["id"] = int(ids[i])
        units.add_unit(spike_times=np.asarray(t, dtype=float), **extra)
    if where == "units":
        nwbfile.units = units
    else:
        nwbfile.create_processing_module(where, "spike sorting output").add(units)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path


@pytest.fixture(name="write_nwb")
def write_nwb_fixture():
    return write_nwb


@pytest.fixture(name="sha256")
def sha256_fixture():
    return sha256


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def poisson_trains(rng):
    """12 units of sorted Poisson spike times over about 30 s."""
    return [np.sort(rng.uniform(0.0, 30.0, size=rng.integers(5, 300))) for _ in range(12)]
