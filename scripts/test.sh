#!/usr/bin/env bash
# Run every check: set up .venv if needed, build the book with warnings as errors, then
# the live widget's JavaScript under Node (checked against the Python package), then
# pytest: unit tests, every chapter executed under nbval, and the built site in Chromium
# (screenshots of every page land in screenshots/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/book.sh -W -n --keep-going
bash scripts/ensure_chromium.sh
MODADD_PYTHON=.venv/bin/python node --test tests/js/
.venv/bin/python -m pytest tests "$@"
