"""Execute the book's chapters before Sphinx starts, into the build's cache.

Every chapter whose code has no record in ``_build/.jupyter_cache`` is executed first, as
myst-nb would execute it (the same notebook, read by myst-nb's own reader, in ``book/``), and
its outputs are stored in that cache; jupyter-book then finds them and executes nothing more
but the report pages (teacher guide and appendix, which read the chapters' times:
``book/_ext/build_times.py``). Each line printed says a chapter's time and the sweep runs it
trained (:func:`modadd.sweep.run_sweep` counts them through ``MODADD_RUN_LOG``); the cache
record keeps both, ``chapters_at_once``, and ``u_seconds``: the time unit u
(:func:`modadd.reference.plain_loop`, 10,000 steps), measured once, alone, just before the
chapters start, so that the report pages divide each chapter's time by the u of the same run
(and do not measure it again each time they execute).

``--jobs 2`` (the book's build, book.sh) executes two chapters at once, one torch thread
each, longest first (by the last build's times); ``--jobs 1`` one at a time with the default
threads. Both give the same outputs: subnormal floats are flushed on every thread
(:mod:`modadd.numerics`), so a run's bits do not depend on the thread count.

Usage (book.sh runs it): python scripts/execute_chapters.py [--jobs N] [--root DIR] [--no-u]
Exit status 1, with the traceback, if a chapter raised.
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=1,
                    help="chapters executed at once (default 1; more: one torch thread each)")
    ap.add_argument("--root", type=Path, default=REPO, help="the book's folder (default: this repository)")
    ap.add_argument("--no-u", action="store_true",
                    help="do not measure u first (the records then carry no u, and the report pages show none)")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1, got {args.jobs}")
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    root = args.root.resolve()
    config = yaml.safe_load((root / "_config.yml").read_text())
    timeout = int(config.get("execute", {}).get("timeout", 1800))
    cache = get_cache(root / "_build" / ".jupyter_cache")
    todo = []
    for path in sorted((root / "book").glob("0*.md")):
        try:
            cache.match_cache_notebook(read(path))
        except KeyError:
            todo.append(path)
    if not todo:
        return 0
    # the longest first, by the last build benchmark's times (else in the book's order), so the
    # two cores finish together
    try:
        last = json.loads((root / "benchmarks" / "results" / "build.json").read_text())["chapter_seconds"]
    except (OSError, ValueError, KeyError):
        last = {}
    todo.sort(key=lambda p: -float(last.get(p.stem, 0)))
    jobs = min(args.jobs, len(todo))
    threads = 1 if jobs > 1 else None
    u = None
    if not args.no_u:
        from modadd.reference import plain_loop

        u = plain_loop(10_000)               # alone, before the chapters start, default threads
        print(f"[book] u (the plain loop, 10,000 steps) = {u:.2f} s", flush=True)
    print(f"[book] executing {len(todo)} chapter(s), {jobs} at a time"
          f"{' (one torch thread each)' if threads else ''}: {', '.join(p.stem for p in todo)}", flush=True)
    failed, start = [], time.perf_counter()
    with multiprocessing.get_context("fork").Pool(jobs, maxtasksperchild=1) as pool:
        for k, (path, nb, seconds, trained, error) in enumerate(
                pool.imap_unordered(execute, [(p, timeout, threads) for p in todo]), 1):
            elapsed = time.perf_counter() - start
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
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
