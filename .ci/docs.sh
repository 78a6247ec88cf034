#!/usr/bin/env bash
# CI: the documentation site. Run from the repository root with the project's virtual
# environment active (.ci/run sets both up). Fails when a generated page (the CLI reference,
# the results pages) is out of date with the code or results/*.json, or when mkdocs finds a
# broken link or anchor.
set -euo pipefail

python -m pip install -q -e ".[docs]"
python scripts/make_cli_reference.py --check
python scripts/make_results_pages.py --check
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --site-dir site
