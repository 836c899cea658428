"""Chapters executed cold on this code and on an earlier commit, in one run. Run alone:
.venv/bin/python benchmarks/bench_against.py [--rev REV] [--pairs K] [CHAPTER ...]

What a budget stated in u against an earlier measurement needs: u moves 15-30% within an
hour here, and the earlier figure may come from another machine (issue 36's 48.9 u for
chapters 4-6 came from an AMD EPYC; this one may be an Intel Xeon), so the two codes are
timed here, side by side. Each code is a ``git worktree`` of its commit (this code: HEAD,
so commit first), put first on the kernel's PYTHONPATH; each chapter runs cold (an empty
``MODADD_CACHE``) in a new kernel, as :mod:`bench_chapters` runs it, the two codes one
after the other (a pair), the order swapped from pair to pair; u (the plain nn.Module loop,
10,000 steps) is measured before the first and after every chapter. A pair's growth in u
divides its difference in seconds by the mean u from before its first run to after its
second. With ``--pairs K`` each chapter is timed in K pairs, and its growth is the mean of
theirs: one pair alone can mislead by many u here (``against.json`` keeps every pair, and
the appendix shows their spread). The earlier code's chapters may stop at an assertion on this machine
(their numbers were asserted on another); such cells are let through and listed, so its
time is the rest of the chapter's.

Default: the commit issue 36 was filed on (8c3e41c) and chapters 4-6 (the issue's budget:
15 u). Writes benchmarks/results/against.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))   # the repository: its tools/

from modadd.core.reference import plain_loop  # noqa: E402
from tools.provenance import machine, stamp  # noqa: E402

BASELINE = "8c3e41c"            # issue 36 was filed on this code
CHAPTERS = ["04_clustering_and_alignment", "05_particles", "06_weight_decay"]


def cold(root: Path, chapter: str) -> tuple[float, list[str]]:
    """Seconds to execute ``book/<chapter>.md`` of the tree ``root`` in a new kernel with an
    empty run cache and that tree's package, and the first line of each cell that raised."""
    from jupytext import read
    from jupyter_cache.executors.utils import single_nb_execution
    path = root / "book" / f"{chapter}.md"
    with tempfile.TemporaryDirectory() as cache, \
            mock.patch.dict(os.environ, {"MODADD_CACHE": cache, "PYTHONPATH": str(root / "src")}):
        nb = read(path)
        result = single_nb_execution(nb, cwd=str(path.parent), allow_errors=True, timeout=3000, meta_override=True)
    raised = [c.source.splitlines()[0][:80] for c in nb.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    return result.time, raised


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rev", default=BASELINE, help=f"the earlier commit (default {BASELINE}: issue 36's)")
    ap.add_argument("--pairs", type=int, default=1, help="times each chapter runs in each code (default 1)")
    ap.add_argument("chapters", nargs="*", default=CHAPTERS, help="chapter names (default: 4-6)")
    args = ap.parse_args(argv)
    if args.pairs < 1:
        ap.error(f"--pairs must be at least 1, got {args.pairs}")
    unknown = [c for c in args.chapters if not (REPO / "book" / f"{c}.md").exists()]
    if unknown:
        ap.error(f"unknown chapter(s) {', '.join(unknown)}; chapters are book/NN_name.md without .md")
    git = lambda *a: subprocess.run(["git", *a], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()
    revs = {"earlier": git("rev-parse", args.rev), "this": git("rev-parse", "HEAD")}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {k: Path(tmp) / k for k in revs}
        for k, rev in revs.items():
            git("worktree", "add", "--detach", str(trees[k]), rev)
        try:
            u = [plain_loop(10_000)]
            rows, i = {}, 0
            for chapter in args.chapters:
                pairs = []
                for _ in range(args.pairs):
                    order = ("earlier", "this") if i % 2 == 0 else ("this", "earlier")
                    i += 1
                    row = {"order": list(order), "u_before": round(u[-1], 2)}
                    for k in order:
                        seconds, raised = cold(trees[k], chapter)
                        u.append(plain_loop(10_000))
                        row[k] = {"seconds": round(seconds, 1), "raised": raised}
                        print(f"{chapter} {k}: {seconds:.1f} s, {len(raised)} cell(s) raised; u {u[-1]:.2f} s",
                              flush=True)
                    mean_u = sum(u[-3:]) / 3
                    row.update(u_after=round(u[-1], 2), mean_u=round(mean_u, 2),
                               growth_s=round(row["this"]["seconds"] - row["earlier"]["seconds"], 1),
                               growth_u=round((row["this"]["seconds"] - row["earlier"]["seconds"]) / mean_u, 1))
                    pairs.append(row)
                rows[chapter] = {"pairs": pairs,
                                 "growth_s": round(sum(p["growth_s"] for p in pairs) / len(pairs), 1),
                                 "growth_u": round(sum(p["growth_u"] for p in pairs) / len(pairs), 1)}
        finally:
            for k in trees:
                git("worktree", "remove", "--force", str(trees[k]))
    total_s = sum(r["growth_s"] for r in rows.values())
    res = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
           "earlier": revs["earlier"], "this": revs["this"], "pairs": args.pairs, "chapters": rows,
           "growth_s": round(total_s, 1), "growth_u": round(sum(r["growth_u"] for r in rows.values()), 1),
           "u_seconds": [round(x, 2) for x in u]}
    print(f"growth: {res['growth_s']} s = {res['growth_u']} u", flush=True)
    out = REPO / "benchmarks" / "results" / "against.json"
    out.write_text(json.dumps(stamp("against.json", res), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
