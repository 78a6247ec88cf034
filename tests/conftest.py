"""Fixtures shared by test folders that are not packages."""
from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"  # /work/shared/data


class Shared:
    """The real files of /work/shared/data (never copied into the repo); ``need(path)``
    returns ``path`` or skips the test when the file is absent."""

    DATA = DATA
    MTL = DATA / "nwb-human-mtl-zheng2022-sub4" / "sub-4_ses-4_ecephys+image.nwb"
    PHY = DATA / "nwb-pynapple-A8604-phy" / "A8604-211122.nwb"
    NWB1 = DATA / "nwb1-legacy-allen-stub" / "496908818s.nwb"
    SALAMANDER = DATA / "marre2014-salamander-retina-50" / "original_data_num_neurons_50_1.mat"
    APLYSIA = DATA / "aplysia-pedal-ganglion-humphries-testdata" / "Feb1312da06spks.mat"
    APLYSIA_JAN = DATA / "aplysia-pedal-ganglion-humphries-testdata" / "Jan1912da02spks.mat"

    @staticmethod
    def need(path: Path) -> Path:
        if not path.is_file():
            pytest.skip(f"shared data file {path} is absent (see /work/shared/data/README.md)")
        return path


@pytest.fixture
def shared():
    """:class:`Shared`: paths of the real data files and ``need`` to skip when one is absent."""
    return Shared


@pytest.fixture
def one_torch_thread():
    """Run the test with one torch thread (the test machines share two cores), then restore."""
    import torch  # here, not at module level: most test folders never need torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
