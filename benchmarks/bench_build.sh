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
u=$(PYTHONPATH=src .venv/bin/python -c "from modadd.core.reference import plain_loop; print(round(plain_loop(10_000), 2))")
rm -rf _build
cold=$(t cold bash scripts/book.sh) || exit 1
# each chapter's cold execution, as the build recorded it
chapters=$(PYTHONPATH=src:. .venv/bin/python -c "
import json
from modadd import REPO_ROOT
from modadd.teaching import classroom
from tools.chapter_times import chapter_record
recs = {p.stem: chapter_record(p, REPO_ROOT) for p in classroom.assignments(REPO_ROOT)}
print(json.dumps({'seconds': {k: round(r.seconds, 1) for k, r in recs.items()},
                  'at_once': max(r.chapters_at_once for r in recs.values())}))")
warm=$(t warm bash scripts/book.sh) || exit 1
tests=$(t tests bash scripts/test.sh --junitxml="$PWD/$logs/tests.xml") || exit 1
size=$(du -sk _build/html | cut -f1)
largest=$(find _build/html -name '*.html' -printf '%s %P\n' | sort -n | tail -1)
mkdir -p benchmarks/results
PYTHONPATH=src:. .venv/bin/python - "$u" "$cold" "$warm" "$tests" "$size" "$largest" "$chapters" "$logs/tests.xml" <<'PY'
import json, sys, datetime, os, re
import xml.etree.ElementTree as ET
from collections import Counter
u, cold, warm, tests, size, largest, chapters, junit = sys.argv[1:]
# where the test command's pytest time goes: each test file's tests (setup, call and teardown),
# summed; two workers run them, so these are worker-seconds, and pytest's wall time is beside them
suite = ET.parse(junit).getroot()
suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
files = Counter()
for case in suite.iter("testcase"):
    parts = case.get("classname").split(".")          # tests.unit.test_x (.TestClass)
    path = next("/".join(parts[:k]) + ".py" for k in range(len(parts), 0, -1) if os.path.exists("/".join(parts[:k]) + ".py"))
    files[path] += float(case.get("time"))
u, cold, warm, tests = map(float, (u, cold, warm, tests))
b, name = largest.split(" ", 1)
from tools.provenance import machine, stamp
res = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cores": os.cpu_count(),
       "machine": machine(), "u_seconds": u,
       "cold_build_s": cold, "cold_build_u": round(cold / u, 1), "unchanged_rebuild_s": warm,
       "chapter_seconds": json.loads(chapters)["seconds"],
       "chapter_u": {k: round(v / u, 1) for k, v in json.loads(chapters)["seconds"].items()},
       "chapters_at_once": json.loads(chapters)["at_once"],
       "test_command_s": tests, "test_command_u": round(tests / u, 1),
       "pytest_s": round(float(suite.get("time")), 1), "pytest_tests": int(suite.get("tests")),
       "pytest_workers": int(re.search(r"pytest tests -n (\d+)", open("scripts/test.sh").read()).group(1)),
       "pytest_file_worker_s": {k: round(v, 1) for k, v in files.most_common()},
       "site_size_mb": round(int(size) / 1024, 1), "largest_page": name, "largest_page_mb": round(int(b) / 2**20, 2)}
res = stamp("build.json", res)
json.dump(res, open("benchmarks/results/build.json", "w"), indent=2)
print(json.dumps(res, indent=2))
PY
