"""Each chapter executed alone, cold and warm. Run alone:
.venv/bin/python benchmarks/bench_chapters.py [CHAPTER ...]   (default: every chapter)

For each chapter: u (the plain nn.Module loop, :func:`modadd.core.reference.plain_loop`, 10,000
steps), then the chapter executed top to bottom in a new kernel, in ``book/``, with the
default torch threads, twice: **cold**, with an empty run cache (``MODADD_CACHE`` a new
temporary folder: every run trained, every simulation and fit computed), what a reader
with the course kit or a fresh clone meets; then **warm**, in another new kernel with the
cache the first left, what a Binder session meets (the image's build executed every
chapter once: ``binder/postBuild``) and anyone's second run. Then u again. A chapter's
times in u divide by the mean of the two u around them. The book's build executes chapters
two at once, one thread each (``benchmarks/results/build.json`` has those times); this is
the time of one chapter on a machine of its own.

Writes benchmarks/results/chapters.json; the appendix shows it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from execute_chapters import execute  # noqa: E402  (the chapter as the build executes it)

from modadd.teaching import classroom  # noqa: E402
from modadd.core.reference import plain_loop  # noqa: E402
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # the repository: its tools/
from tools.provenance import machine, stamp  # noqa: E402


def run_cold_and_warm(path: Path, timeout: int = 1800) -> tuple[float, float]:
    """Seconds to execute the chapter at ``path`` in a new kernel with an empty run cache,
    then in another new kernel with the cache the first filled; each executed as the build
    executes it (:func:`execute_chapters.execute`), default threads."""
    times = []
    with tempfile.TemporaryDirectory() as cache, mock.patch.dict(os.environ, {"MODADD_CACHE": cache}):
        for _ in ("cold", "warm"):
            _, _, seconds, _, error = execute((path, timeout, None))
            if error:
                raise RuntimeError(f"{path.name} raised:\n{error}")
            times.append(seconds)
    return times[0], times[1]


def main(argv=None) -> int:
    chapters = {p.stem: p for p in classroom.assignments(REPO)}
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("chapters", nargs="*", help=f"chapter names (default all: {', '.join(chapters)})")
    args = ap.parse_args(argv)
    unknown = [c for c in args.chapters if c not in chapters]
    if unknown:
        ap.error(f"unknown chapter(s) {', '.join(unknown)}; known: {', '.join(chapters)}")
    out = REPO / "benchmarks" / "results" / "chapters.json"
    res = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
           "chapters": {}}
    u_before = plain_loop(10_000)
    for name in args.chapters or list(chapters):
        seconds, warm = run_cold_and_warm(chapters[name])
        u_after = plain_loop(10_000)
        u = (u_before + u_after) / 2
        res["chapters"][name] = {"seconds": round(seconds, 1), "u_before": round(u_before, 2),
                                 "u_after": round(u_after, 2), "u": round(seconds / u, 1),
                                 "warm_seconds": round(warm, 1), "warm_u": round(warm / u, 1)}
        print(f"{name}: cold {seconds:.1f} s = {seconds / u:.1f} u, warm {warm:.1f} s = {warm / u:.1f} u "
              f"(u {u_before:.2f} s before, {u_after:.2f} s after)", flush=True)
        u_before = u_after
    out.write_text(json.dumps(stamp("chapters.json", res), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
