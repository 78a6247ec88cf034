"""Fixtures for the recordings tests: the shared real data and small synthetic NWB files."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
MTL = DATA / "nwb-human-mtl-zheng2022-sub4" / "sub-4_ses-4_ecephys+image.nwb"
PHY = DATA / "nwb-pynapple-A8604-phy" / "A8604-211122.nwb"
NWB1 = DATA / "nwb1-legacy-allen-stub" / "496908818s.nwb"
SALAMANDER = DATA / "marre2014-salamander-retina-50" / "original_data_num_neurons_50_1.mat"
APLYSIA = DATA / "aplysia-pedal-ganglion-humphries-testdata" / "Feb1312da06spks.mat"


def need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"shared data file {path} is absent (see /work/shared/data/README.md)")
    return path


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


class Shared:
    """The real files of /work/shared/data; ``need(path)`` skips when one is absent."""

    MTL, PHY, NWB1, SALAMANDER, APLYSIA = MTL, PHY, NWB1, SALAMANDER, APLYSIA
    need = staticmethod(need)


@pytest.fixture
def shared():
    return Shared


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
