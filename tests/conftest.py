"""Fixtures shared by test folders that are not packages."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture
def one_torch_thread():
    """Run the test with one torch thread (the test machines share two cores), then restore."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
