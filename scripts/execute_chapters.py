"""Execute the book's chapters before Sphinx starts, into the build's cache.

Every chapter whose code has no record in ``_build/.jupyter_cache`` is executed first, as
myst-nb would execute it (the same notebook, read by myst-nb's own reader, in ``book/``), and
its outputs are stored in that cache; jupyter-book then finds them and executes nothing more
but the report pages (teacher guide and appendix, which read the chapters' times:
``book/_ext/build_times.py``). Each line printed says a chapter's time and the sweep runs it
trained (:func:`modadd.runs.sweep.run_sweep` counts them through ``MODADD_RUN_LOG``); the cache
record keeps both, ``chapters_at_once``, and ``u_seconds``: the time unit u
(:func:`modadd.core.reference.plain_loop`, 10,000 steps), measured once, alone, just before the
chapters start, so that the report pages divide each chapter's time by the u of the same run
(and do not measure it again each time they execute).

``--jobs 2`` (the book's build, book.sh) executes two chapters at once, one torch thread
each, longest first (by the last build's times); ``--jobs 1`` one at a time with the default
threads. Both give the same outputs: subnormal floats are flushed on every thread
(:mod:`modadd.core.numerics`), so a run's bits do not depend on the thread count.

While chapters run, a line every ``--progress-every`` seconds (:data:`PROGRESS_EVERY_S`) says which are running,
how many are done and, once u is measured, about how long is left: the last build
benchmark's time of each chapter in u (``benchmarks/results/build.json``, ``chapter_u``)
times this machine's u, scheduled as this run schedules them (:func:`time_left`).

Each chapter's last time also goes to ``_build/run_times.json`` (what an assignment's header
states, :func:`modadd.teaching.classroom.chapter_run_time`).

Usage (book.sh runs it): python scripts/execute_chapters.py [--jobs N] [--root DIR] [--no-u]
[--progress-every SECONDS]. Exit status 1, with the traceback, if a chapter raised.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))              # the repository's tools/
from tools.chapter_times import write_run_times  # noqa: E402
#: Seconds between two lines saying what is running (``--progress-every``'s default).
PROGRESS_EVERY_S = 30


def read(path: Path):
    """The chapter as myst-nb reads it (so the cache's hash of its code matches)."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    return read_myst_markdown_notebook(path.read_text(), config=MdParserConfig(),
                                       add_source_map=True, path=str(path))


def execute(job):
    """Run one chapter in ``book/``; returns (path, notebook, seconds, runs trained, error)."""
    path, timeout, threads = job
    if threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(threads)
    from jupyter_cache.executors.utils import single_nb_execution

    with tempfile.NamedTemporaryFile("r", suffix=".log") as log:
        os.environ["MODADD_RUN_LOG"] = log.name
        nb = read(path)
        result = single_nb_execution(nb, cwd=str(path.parent), allow_errors=False,
                                     timeout=timeout, meta_override=True)
        trained = sum(int(line) for line in log.read().split())
    return path, nb, result.time, trained, result.exc_string if result.err else None


def time_left(order, expected, jobs, started, finished, now):
    """Seconds until the last chapter of ``order`` is done, if each takes its ``expected``
    seconds: each running chapter (``started``: name -> its start, not in ``finished``) for
    what is left of its time (at least 0), then each waiting one, in ``order``, on the first
    of the ``jobs`` lanes to free. None if a chapter not done has no expected time."""
    if any(c not in expected for c in order if c not in finished):
        return None
    lanes = [max(0.0, started[c] + expected[c] - now) for c in started if c not in finished]
    lanes += [0.0] * (jobs - len(lanes))
    for c in order:
        if c not in started and c not in finished:
            lanes.sort()
            lanes[0] += expected[c]
    return max(lanes)


def minutes(seconds: float) -> int:
    """Whole minutes, at least 1, for a time said as "about N min"."""
    return max(1, round(seconds / 60))


def progress_line(now, order, started, finished, left) -> str:
    """``[book] 90 s: 05_particles and 03_grids_and_circles running, 1 of 6 done, about 3 min left``."""
    running = [c for c in order if c in started and c not in finished]
    line = f"[book] {now:.0f} s: {' and '.join(running) or 'nothing'} running, {len(finished)} of {len(order)} done"
    if left is not None and left >= 90:
        line += f", about {minutes(left)} min left"
    elif left is not None and left >= 10:
        line += f", about {round(left, -1):.0f} s left"
    elif left is not None:
        line += ", past the last build's times"
    return line


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=1,
                    help="chapters executed at once (default 1; more: one torch thread each)")
    ap.add_argument("--root", type=Path, default=REPO, help="the book's folder (default: this repository)")
    ap.add_argument("--no-u", action="store_true",
                    help="do not measure u first (the records then carry no u, and the report pages show none)")
    ap.add_argument("--progress-every", type=float, default=PROGRESS_EVERY_S, metavar="SECONDS",
                    help=f"say what is running this often while chapters run (default {PROGRESS_EVERY_S})")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1, got {args.jobs}")
    if not args.progress_every > 0:
        ap.error(f"--progress-every must be a number of seconds > 0, got {args.progress_every}")
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    root = args.root.resolve()
    config = yaml.safe_load((root / "_config.yml").read_text())
    timeout = int(config.get("execute", {}).get("timeout", 1800))
    cache = get_cache(root / "_build" / ".jupyter_cache")
    todo, every = [], sorted((root / "book").glob("0*.md"))
    for path in every:
        try:
            cache.match_cache_notebook(read(path))
        except KeyError:
            todo.append(path)
    if not todo:
        write_run_times(root, every)
        return 0
    # the longest first, by the last build benchmark's times (else in the book's order), so the
    # two cores finish together
    try:
        build = json.loads((root / "benchmarks" / "results" / "build.json").read_text())
        last, last_u = build["chapter_seconds"], build.get("chapter_u", {})
    except (OSError, ValueError, KeyError, TypeError):
        last, last_u = {}, {}
    todo.sort(key=lambda p: -float(last.get(p.stem, 0)))
    jobs = min(args.jobs, len(todo))
    threads = 1 if jobs > 1 else None
    u = None
    if not args.no_u:
        from modadd.core.reference import plain_loop

        u = plain_loop(10_000)               # alone, before the chapters start, default threads
        print(f"[book] u (the plain loop, 10,000 steps) = {u:.2f} s", flush=True)
    order = [p.stem for p in todo]
    # this machine's expected seconds: the last build's times in u, times this run's u
    expected = {c: float(last_u[c]) * u for c in order if c in last_u} if u else {}
    left = time_left(order, expected, jobs, {}, set(), 0.0)
    print(f"[book] executing {len(todo)} chapter(s), {jobs} at a time"
          f"{' (one torch thread each)' if threads else ''}: {', '.join(order)}"
          + (f"; about {minutes(left)} min by the last build's times" if left else ""), flush=True)
    failed, start = [], time.perf_counter()
    started = {c: 0.0 for c in order[:jobs]}      # a pool of `jobs` takes the chapters in order
    finished: set[str] = set()
    with multiprocessing.get_context("fork").Pool(jobs, maxtasksperchild=1) as pool:
        results = pool.imap_unordered(execute, [(p, timeout, threads) for p in todo])
        for k in range(1, len(todo) + 1):
            while True:
                try:
                    path, nb, seconds, trained, error = results.next(timeout=args.progress_every)
                    break
                except multiprocessing.TimeoutError:
                    now = time.perf_counter() - start
                    print(progress_line(now, order, started, finished,
                                        time_left(order, expected, jobs, started, finished, now)), flush=True)
            elapsed = time.perf_counter() - start
            finished.add(path.stem)
            if len(started) < len(order):
                started[order[len(started)]] = elapsed
            if error:
                failed.append(path)
                print(f"[book] {path.name} FAILED after {seconds:.0f} s:\n{error[-6000:]}", file=sys.stderr, flush=True)
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(nb, str(path), data={"execution_seconds": seconds, "runs_trained": trained,
                                                   "chapters_at_once": jobs, "u_seconds": u}),
                check_validity=False, overwrite=True)
            print(f"[book] {k}/{len(todo)} {path.stem}: {seconds:.0f} s, {trained} sweep runs trained"
                  f" ({elapsed:.0f} s since the first started)", flush=True)
    write_run_times(root, every)        # each chapter's time, for the assignments' headers
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
