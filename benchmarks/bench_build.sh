#!/usr/bin/env bash
# Build and test timings. Run alone: bash benchmarks/bench_build.sh
# Writes benchmarks/results/build.json: u (the plain nn.Module loop, N = 17, 10,000 steps)
# measured first, then the cold book build (empty _build/: every chapter executed, every
# run trained; each chapter's time as the build recorded it, two chapters executing at once), the unchanged rebuild, and the whole test command after that, in seconds
# and in u. Each step's output goes to _bench_logs/ (printed when a step fails).
# Takes about as long as a fresh clone's CI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
logs=_bench_logs; rm -rf "$logs"; mkdir -p "$logs"
t() {  # seconds a command takes; a failing command fails the benchmark and shows its log
  local name=$1; shift
  local s; s=$(date +%s.%N)
  "$@" >"$logs/$name.log" 2>&1 || { echo "[bench_build] failed: $* (log: $logs/$name.log)" >&2; tail -60 "$logs/$name.log" >&2; return 1; }
  python3 -c "print(round($(date +%s.%N) - $s, 1))"
}
u=$(PYTHONPATH=src .venv/bin/python -c "from modadd.reference import plain_loop; print(round(plain_loop(10_000), 2))")
rm -rf _build
cold=$(t cold bash scripts/book.sh) || exit 1
# each chapter's cold execution, as the build recorded it
chapters=$(PYTHONPATH=src .venv/bin/python -c "
import json
from modadd import REPO_ROOT, classroom
recs = {p.stem: classroom.chapter_record(p, REPO_ROOT) for p in classroom.assignments(REPO_ROOT)}
print(json.dumps({'seconds': {k: round(r.seconds, 1) for k, r in recs.items()},
                  'at_once': max(r.chapters_at_once for r in recs.values())}))")
warm=$(t warm bash scripts/book.sh) || exit 1
tests=$(t tests bash scripts/test.sh) || exit 1
size=$(du -sk _build/html | cut -f1)
largest=$(find _build/html -name '*.html' -printf '%s %P\n' | sort -n | tail -1)
mkdir -p benchmarks/results
PYTHONPATH=src .venv/bin/python - "$u" "$cold" "$warm" "$tests" "$size" "$largest" "$chapters" <<'PY'
import json, sys, datetime, os
u, cold, warm, tests, size, largest, chapters = sys.argv[1:]
u, cold, warm, tests = map(float, (u, cold, warm, tests))
b, name = largest.split(" ", 1)
from modadd.provenance import machine
res = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cores": os.cpu_count(),
       "machine": machine(), "u_seconds": u,
       "cold_build_s": cold, "cold_build_u": round(cold / u, 1), "unchanged_rebuild_s": warm,
       "chapter_seconds": json.loads(chapters)["seconds"],
       "chapter_u": {k: round(v / u, 1) for k, v in json.loads(chapters)["seconds"].items()},
       "chapters_at_once": json.loads(chapters)["at_once"],
       "test_command_s": tests, "test_command_u": round(tests / u, 1),
       "site_size_mb": round(int(size) / 1024, 1), "largest_page": name, "largest_page_mb": round(int(b) / 2**20, 2)}
json.dump(res, open("benchmarks/results/build.json", "w"), indent=2)
print(json.dumps(res, indent=2))
PY
