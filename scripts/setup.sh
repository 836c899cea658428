#!/usr/bin/env bash
# Create .venv at the repository root (if missing) and install the pinned requirements
# (only when requirements.txt or pyproject.toml changed since the last install).
# Sourced by book.sh and test.sh; safe to run again and again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.modadd-requirements.sha256
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing requirements into .venv (first time: about a minute)"
  # pip warns about each empty local index it looks in; keep real errors only.
  .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" || true
  .venv/bin/python -c "import modadd, torch, jupyter_book; assert torch.__version__.startswith('2.13.0'), torch.__version__"
  echo "$want" > "$stamp"
else
  echo "[setup] .venv is up to date"
fi
