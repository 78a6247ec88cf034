#!/usr/bin/env bash
# CI: the package as users install it. Builds the sdist and the wheel (`python -m build` builds
# the wheel from the sdist, so both are exercised), checks the wheel carries the napari manifest,
# installs the WHEEL (not the checkout) into a clean virtual environment and, from a folder
# outside the source tree, checks `import napari_vaemf` comes from that environment, validates
# the manifest (`npe2 validate napari-vaemf --imports`), runs `vaemf demo --quick` and the
# napari smoke test (tests/test_installed.py: napari opens the plugin's sample and a widget).
# Run from the repository root after the Debian packages of .ci/run (Xvfb, GL) are installed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
start=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/vaemf-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
step() { echo "package: $1 ($((SECONDS - start)) s)"; }

# 1. sdist and wheel, in an environment of their own
python3 -m venv "$work/build-env"
"$work/build-env/bin/python" -m pip install -q build
if ! "$work/build-env/bin/python" -m build --outdir "$work/dist" . >"$work/build.log" 2>&1; then
  cat "$work/build.log"
  exit 1
fi
sdist=$(ls "$work"/dist/*.tar.gz)
wheel=$(ls "$work"/dist/*.whl)
"$work/build-env/bin/python" - "$wheel" "$sdist" <<'PY'
import sys, tarfile, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
assert "napari_vaemf/napari.yaml" in names, "napari.yaml is missing from the wheel"
assert any(n.endswith("entry_points.txt") for n in names), "no entry points (vaemf, napari.manifest)"
assert not [n for n in names if n.startswith(("tests/", "docs/"))], "tests or docs inside the wheel"
with tarfile.open(sys.argv[2]) as tar:
    assert any(n.endswith("src/napari_vaemf/napari.yaml") for n in tar.getnames()), "napari.yaml not in the sdist"
print(f"package: wheel holds {len(names)} files")
PY
step "built $(basename "$sdist") and $(basename "$wheel")"

# 2. a clean environment: the wheel with its desktop extra, and what the smoke test needs
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install -q --upgrade pip
# the CPU torch build first (as .ci/run), so the wheel's torch requirement does not fetch CUDA
"$py" -m pip install -q "torch==2.13.0" || "$py" -m pip install -q torch
"$py" -m pip install -q "${wheel}[all]" pytest pytest-qt
step "installed the wheel into a clean environment"

# 3. from outside the source tree
mkdir -p "$work/run"
cd "$work/run"
where=$("$py" -c "import napari_vaemf; print(napari_vaemf.__file__)")
echo "package: napari_vaemf imported from $where"
case "$where" in
  "$work/venv/"*) ;;
  *) echo "package: napari_vaemf does not come from the installed wheel" >&2; exit 1 ;;
esac
"$work/venv/bin/npe2" validate napari-vaemf --imports
# one torch thread: on a shared or loaded runner more threads only contend (10 s free, minutes contended)
OMP_NUM_THREADS=1 "$work/venv/bin/vaemf" demo --quick -o "$work/run/demo" 2>"$work/demo.log" || { cat "$work/demo.log"; exit 1; }
step "vaemf demo --quick"
cp "$repo/tests/test_installed.py" .
unset QT_QPA_PLATFORM
VAEMF_SMOKE_INSTALLED=1 xvfb-run -a "$py" -m pytest -q -p no:cacheprovider --disable-warnings test_installed.py
step "done"
