#!/usr/bin/env bash
# Build and test timings. Run alone: bash benchmarks/bench_build.sh
# Writes benchmarks/results/build.json: cold book build (empty _build/ and empty sweep
# cache: every chapter executed, every sweep trained), unchanged rebuild, and the whole
# test command after that. Takes several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
t() {  # seconds a command takes; a failing command fails the benchmark
  local s; s=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || { echo "[bench_build] failed: $*" >&2; return 1; }
  python3 -c "print(round($(date +%s.%N) - $s, 1))"
}
rm -rf _build
cold=$(t bash scripts/book.sh) || exit 1
warm=$(t bash scripts/book.sh) || exit 1
tests=$(t bash scripts/test.sh) || exit 1
size=$(du -sk _build/html | cut -f1)
largest=$(find _build/html -name '*.html' -printf '%s %P\n' | sort -n | tail -1)
mkdir -p benchmarks/results
PYTHONPATH=src .venv/bin/python - "$cold" "$warm" "$tests" "$size" "$largest" <<'PY'
import json, sys, datetime, os
cold, warm, tests, size, largest = sys.argv[1:]
b, name = largest.split(" ", 1)
from modadd.provenance import machine
res = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cores": os.cpu_count(), "machine": machine(),
       "cold_build_s": float(cold), "unchanged_rebuild_s": float(warm), "test_command_s": float(tests),
       "site_size_mb": round(int(size) / 1024, 1), "largest_page": name, "largest_page_mb": round(int(b) / 2**20, 2)}
json.dump(res, open("benchmarks/results/build.json", "w"), indent=2)
print(json.dumps(res, indent=2))
PY
