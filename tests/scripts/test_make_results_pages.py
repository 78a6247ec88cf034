"""The generated documentation pages never drift from what generates them.

scripts/make_results_pages.py writes docs/results/*.md from results/*.json, and
scripts/make_cli_reference.py writes docs/cli.md from the `vaemf` parser. Both are run into
a temporary folder here and must equal the committed pages; if a test fails, rerun the
script named in its message and commit the page with the change that moved it.
"""
from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from napari_vaemf.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def results_pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    assert _script("make_results_pages").main(["--out", str(out)]) == 0
    return out


def test_results_pages_are_produced_and_committed(results_pages):
    made = {p.name for p in results_pages.glob("*.md")}
    assert {"index.md", "capacity.md", "read-off.md", "salamander.md"} <= made
    assert made == {p.name for p in (DOCS / "results").glob("*.md")}


def test_results_pages_equal_the_committed_ones(results_pages):
    for page in sorted(results_pages.glob("*.md")):
        committed = (DOCS / "results" / page.name).read_text(encoding="utf-8")
        assert page.read_text(encoding="utf-8") == committed, (
            f"docs/results/{page.name} is out of date: run python scripts/make_results_pages.py")


def test_every_results_json_is_on_a_page():
    mod = _script("make_results_pages")
    shown = set(mod.COMMANDS) | set(mod.OLDER) | {name for _, _, name in mod.UNRECORDED}
    assert {p.name for p in (ROOT / "results").glob("*.json")} <= shown


def test_check_flags_a_stale_page(results_pages, tmp_path, capsys):
    mod = _script("make_results_pages")
    for page in results_pages.glob("*.md"):
        (tmp_path / page.name).write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
    assert mod.main(["--check", "--out", str(tmp_path)]) == 0
    stale = tmp_path / "capacity.md"
    stale.write_text(stale.read_text(encoding="utf-8").replace("| 1 |", "| 7 |", 1),
                     encoding="utf-8")
    assert mod.main(["--check", "--out", str(tmp_path)]) == 1
    assert "make_results_pages.py" in capsys.readouterr().out


def test_cli_reference_equals_the_committed_one(tmp_path):
    out = tmp_path / "cli.md"
    assert _script("make_cli_reference").main(["--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == (DOCS / "cli.md").read_text(encoding="utf-8"), (
        "docs/cli.md is out of date: run python scripts/make_cli_reference.py")


def _vaemf_lines():
    fence = re.compile(r"^```.*?$(.*?)^```", re.S | re.M)
    pages = [p for p in sorted(DOCS.glob("*.md")) if p.name != "cli.md"]  # cli.md: synopses
    for path in [ROOT / "README.md", *pages]:
        for block in fence.findall(path.read_text(encoding="utf-8")):
            for line in block.splitlines():
                if line.strip().startswith("vaemf "):
                    yield pytest.param(line.strip(), id=f"{path.name}: {line.strip()[:50]}")


@pytest.mark.parametrize("line", list(_vaemf_lines()))
def test_commands_in_the_docs_parse(line):
    build_parser().parse_args(shlex.split(line, comments=True)[1:])
