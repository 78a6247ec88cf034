"""One rule per concept: the counts -> binary rule, the encoding detection, the held-out split
and every setting's default are defined once, under core/ (a grep over the sources)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from napari_vaemf.core.capacity import CapacitySettings
from napari_vaemf.core.data import InputOptions
from napari_vaemf.core.extraction import ExtractionSettings, ValidationSettings
from napari_vaemf.core.settings import cli_fields, flag_of
from napari_vaemf.core.vae import VAEConfig

SRC = Path(__file__).resolve().parents[1] / "src" / "napari_vaemf"
FILES = {p.relative_to(SRC).as_posix(): p.read_text() for p in SRC.rglob("*.py")}


def _where(pattern: str) -> set[str]:
    rx = re.compile(pattern)
    return {name for name, text in FILES.items() if rx.search(text)}


@pytest.mark.parametrize("pattern, home", [
    (r"\"binary\" if [\w.]+ == \"counts\"", {"core/encoding.py"}),  # counts -> binary
    (r"def detect_encoding\b|def _encoding_of\b", {"core/encoding.py"}),  # encoding detection
    # the held-out split (the InfoNCE critic's own split of its training pairs is not one of data)
    (r"(holdout|test_fraction|fraction)\s*\*|permutation\([^)]*\)\[\s*:\s*n_test",
     {"core/data.py", "core/capacity/_infonce.py"}),
    (r"N_TIME_BLOCKS\s*=", {"core/data.py"}),
])
def test_defined_once_under_core(pattern, home):
    assert _where(pattern) == home


@pytest.mark.parametrize("cls, commands", [
    (VAEConfig, ["_fit"]), (CapacitySettings, ["_capacity"]), (ExtractionSettings, ["_extract"]),
    (ValidationSettings, ["_validate"]),
    (InputOptions, ["_info", "_fit", "_capacity", "_extract", "_validate"])])
def test_no_command_or_widget_redefines_a_setting(cls, commands):
    for f in cli_fields(cls):
        rx = re.compile(rf"add_argument\(\s*\"{re.escape(flag_of(f))}\"")
        for command in commands:
            assert not rx.search(FILES[f"cli/{command}.py"]), (cls.__name__, f.name, command)
    for name in ("_widgets/_fit.py", "_widgets/_capacity.py"):
        assert "@dataclass" not in FILES[name]
