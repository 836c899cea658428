#!/usr/bin/env bash
# Build the book: set up .venv if needed, execute every chapter (cached: only changed
# chapters run again), write the site to _build/html. Extra arguments go to jupyter-book
# (the test command adds -W -n --keep-going: warnings are errors).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/pin_isa.sh          # the same bits on every x86 machine
bash scripts/setup.sh
export MODADD_BOOK_BUILD=1          # plotly figures use the site's one local plotly.js
# The chapters' kernels: an IPython startup file makes plotly use the book's renderer
# (modadd.plots.use_book_renderer: the site's one local plotly.js, no CDN).
export IPYTHONDIR="$PWD/_build/ipython"
mkdir -p "$IPYTHONDIR/profile_default/startup"
cp scripts/book_kernel_startup.py "$IPYTHONDIR/profile_default/startup/00-modadd-book.py"
export PYDEVD_DISABLE_FILE_VALIDATION=1
start=$(date +%s)
# The execution cache keys on a chapter's own code only. A change to the package (its Python or
# the live widget's JavaScript, which pages embed), to the
# pinned requirements or to the kernels' startup file can change any output: empty the cache.
src_hash=$(find src -name '*.py' -o -name '*.json' -o -name '*.js' | sort | xargs cat requirements.txt scripts/book_kernel_startup.py | sha256sum | cut -d' ' -f1)
if [ "$(cat _build/.modadd-src.sha256 2>/dev/null)" != "$src_hash" ]; then
  [ -d _build/.jupyter_cache ] && echo "[book] src/ or requirements changed: re-executing every chapter"
  rm -rf _build/.jupyter_cache _build/.doctrees
  mkdir -p _build && echo "$src_hash" > _build/.modadd-src.sha256
fi
# The benchmark results are read by the appendix alone: a new result re-executes that page only
# (its cache record goes, and a newer file time makes Sphinx read it again).
bench_hash=$(find benchmarks/results -name '*.json' | sort | xargs cat | sha256sum | cut -d' ' -f1)
if [ "$(cat _build/.modadd-bench.sha256 2>/dev/null)" != "$bench_hash" ]; then
  if [ -d _build/.jupyter_cache ]; then
    echo "[book] benchmark results changed: re-executing the appendix"
    .venv/bin/python - <<'PY'
from jupyter_cache import get_cache
cache = get_cache("_build/.jupyter_cache")
for rec in cache.list_cache_records():
    if rec.uri.endswith("appendix_benchmarks.md"):
        cache.remove_cache(rec.pk)
PY
    touch book/appendix_benchmarks.md
  fi
  mkdir -p _build && echo "$bench_hash" > _build/.modadd-bench.sha256
fi
# Sphinx does not notice a change to the book's own extension: re-read and re-write all
# pages (without re-executing chapters) when it, the configuration or a BOOK_* variable
# (launch buttons, book/_ext/launch_buttons.py) changed.
conf_hash=$( (cat _config.yml _toc.yml book/_ext/*.py; env | grep '^BOOK_' | sort || true) | sha256sum | cut -d' ' -f1)
if [ "$(cat _build/.modadd-conf.sha256 2>/dev/null)" != "$conf_hash" ]; then
  rm -rf _build/.doctrees _build/html
  mkdir -p _build && echo "$conf_hash" > _build/.modadd-conf.sha256
fi
# Chapters whose code has no cached outputs run first, into the cache that jupyter-book reads
# (it then executes only the pages that report their times), two at once, one torch thread
# each: a run's bits do not depend on the thread count (modadd.core.numerics).
.venv/bin/python scripts/execute_chapters.py --jobs 2
.venv/bin/jupyter-book build . --builder html "$@"
echo "[book] built in $(( $(date +%s) - start )) s. Open: $(pwd)/_build/html/index.html"
