#!/usr/bin/env bash
# Create .venv at the repository root (if missing) and install the pinned requirements
# (only when a requirements file or pyproject.toml changed since the last install).
# Run by book.sh (and so by test.sh); safe to run again and again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.modadd-requirements.sha256
want=$(cat requirements.txt requirements-test.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing requirements into .venv (first time: about a minute)"
  log=$(mktemp)
  # --no-compile, then compileall on every core: pip compiles on one
  if ! .venv/bin/python -m pip install --disable-pip-version-check -q --no-compile \
        -r requirements.txt -r requirements-test.txt >"$log" 2>&1; then
    # pip warns about each empty local index it looks in; show the rest
    grep -v "is ignored: it is neither a file nor a directory" "$log" >&2; rm -f "$log"
    echo "[setup] pip install failed" >&2; exit 1
  fi
  grep -v "is ignored: it is neither a file nor a directory" "$log" || true; rm -f "$log"
  .venv/bin/python -m compileall -q -j 0 "$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null 2>&1 || true
  .venv/bin/python -c "import modadd, torch, jupyter_book; assert torch.__version__.startswith('2.13.0'), torch.__version__"
  echo "$want" > "$stamp"
else
  echo "[setup] .venv is up to date"
fi
