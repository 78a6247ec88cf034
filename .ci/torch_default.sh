#!/usr/bin/env bash
# CI, second environment: the default Linux torch wheel (CUDA build; depends on triton) as a
# user gets it from `pip install -e ".[all]"`, in .venv-torch beside the CPU-torch .venv, and
# the widget tests that start fits under Xvfb. With that wheel, starting a fit in napari
# segfaulted (triton's LLVM against Mesa's; see src/napari_vaemf/_widgets/_triton_guard.py),
# which the CPU wheel (no triton) never shows.
# Run from the repository root after .ci/run has installed the Debian Xvfb/GL packages.
set -euo pipefail
start=$SECONDS

python3 -m venv .venv-torch
py=.venv-torch/bin/python
"$py" -m pip install -q torch  # unpinned: the build users get (pip's constraints may cap it)
"$py" -m pip install -q -e ".[test]"
"$py" - <<'PY'
import importlib.metadata as md
import importlib.util
import torch
triton = md.version("triton") if importlib.util.find_spec("triton") else "absent"
print(f"torch {torch.__version__} (CUDA build {torch.version.cuda}), triton {triton}")
if triton == "absent":
    print("warning: this torch did not bring triton; the tests below still run, "
          "but the crash they guard against cannot happen here")
PY
echo "torch_default: environment ready after $((SECONDS - start)) s"

unset QT_QPA_PLATFORM
xvfb-run -a "$py" -m pytest -q -p no:cacheprovider \
  tests/widgets/test_fit_default_torch.py \
  tests/widgets/test_fit.py \
  tests/widgets/test_capacity.py
echo "torch_default: done in $((SECONDS - start)) s"
