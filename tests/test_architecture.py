"""The layering of DEVELOPERS.md, checked: core is pure computation, napari glue has no Qt."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "napari_vaemf"
QT = {"qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "superqt"}
FORBIDDEN = {
    "core": QT | {"napari", "magicgui", "vispy", "napari_vaemf._napari", "napari_vaemf._widgets"},
    "_napari": QT | {"napari_vaemf._widgets"},
    "cli": QT | {"napari_vaemf._widgets"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_imports(package):
    bad = []
    for path in sorted((PKG / package).rglob("*.py")):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[package]):
                bad.append(f"{path.relative_to(PKG)} imports {name}")
    assert not bad, "\n".join(bad)


def test_core_imports_without_napari_or_qt():
    """Importing every core module in a fresh interpreter loads neither napari nor Qt."""
    mods = sorted(
        "napari_vaemf." + ".".join(p.relative_to(PKG).with_suffix("").parts)
        for p in (PKG / "core").rglob("*.py")
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m.removesuffix('.__init__'))\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "{'napari', 'qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'magicgui', 'vispy'}]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_linter_contracts():
    lint = pytest.importorskip("importlinter")
    del lint
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(PKG.parents[1] / "pyproject.toml")) == 0


def test_modules_stay_small():
    long = [
        f"{p.relative_to(PKG)}: {n} lines"
        for p in PKG.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 600
    ]
    assert not long, long
