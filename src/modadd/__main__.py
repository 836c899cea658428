"""Command line: sweeps too large for a notebook, and the classroom tools.

    python -m modadd sweep ...       train (or load) a grid of runs, write a table
    python -m modadd student --out DIR [--solutions]   assignment notebooks for nbgrader
    python -m modadd course DIR      an nbgrader course folder: its config and the source notebooks
    python -m modadd grade FILE.ipynb|FOLDER ... [--timeout S] [--course DIR]  score submissions with nbgrader

Example (16 seeds × 4 weight decays × 2 init scales, 10,000 steps each)::

    python -m modadd sweep --recipe grid --seeds 16 \\
        --vary weight_decay=0,0.3,1,3 --vary embed_scale=0.05,0.2 --out sweep.csv

Finished runs are cached on disk (see modadd.runs.sweep); running the same command again
trains only what is missing, so an interrupted sweep can simply be restarted. Add
``--workers K`` to train on K local worker processes, or ``--scheduler tcp://HOST:PORT``
to send the batches to a running Dask cluster (see modadd.runs.cluster; ``--connect-timeout S``
waits S seconds for it instead of 10).
"""
from __future__ import annotations

import argparse
import math
import re
import sys
from contextlib import nullcontext
from pathlib import Path

from .core import train
from .runs.cluster import ClusterError, DaskExecutor
from .runs.sweep import results_table, run_sweep

#: The recipes ``--recipe`` names (modadd.core.train's CIRCLE_RECIPE and GRID_RECIPE). The trainer,
#: and with it torch, is imported only by a command that trains: an error in the arguments, or
#: the classroom commands, answer without the 1.5 s torch import.
RECIPES = {"circle": "CIRCLE_RECIPE", "grid": "GRID_RECIPE"}
#: ``grade --timeout``'s default, modadd.teaching.classroom.NBGRADER_TIMEOUT (stated here without importing it)
GRADE_TIMEOUT = 60


def _value(text: str):
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text.strip()


def _vary(spec: str):
    if "=" not in spec:
        raise argparse.ArgumentTypeError(f"--vary takes KEY=V1,V2,..., got {spec!r}")
    key, values = spec.split("=", 1)
    key, vals = key.strip(), [_value(v) for v in values.split(",") if v.strip()]
    if not key:
        raise argparse.ArgumentTypeError(f"--vary takes KEY=V1,V2,... with a key, got {spec!r}")
    if not vals:
        raise argparse.ArgumentTypeError(f"--vary {key}= needs at least one value, got {spec!r}")
    dupes = sorted({repr(v) for i, v in enumerate(vals) if v in vals[:i]})
    if dupes:
        raise argparse.ArgumentTypeError(f"--vary {key} lists a value twice ({', '.join(dupes)}), got {spec!r}")
    return key, vals


def _count(name: str, least: int = 1):
    """An argparse type: an integer >= ``least``, named in the error."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} takes an integer >= {least}, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{name} takes an integer >= {least}, got {value}")
        return value
    return parse


def _seconds(text: str) -> float:
    """An argparse type: a number of seconds > 0 (--connect-timeout)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"--connect-timeout takes a number of seconds > 0, got {text!r}")
    return value


def _address(text: str) -> str:
    """A scheduler address: PROTOCOL://HOST:PORT (or HOST:PORT, meaning tcp)."""
    t = text.strip()
    m = re.fullmatch(r"(?:([a-z]+)://)?(\[[0-9a-fA-F:]+\]|[^\s:/\[\]]+):(\d+)", t)
    if not m or not 0 < int(m.group(3)) < 65536:
        raise argparse.ArgumentTypeError(
            f"--scheduler takes a Dask scheduler address like tcp://HOST:PORT, got {text!r}")
    return t if m.group(1) else f"tcp://{t}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m modadd", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    sw = sub.add_parser("sweep", help="train (or load from the cache) a grid of runs; write a table")
    sw.add_argument("--recipe", choices=sorted(RECIPES), default="grid", help="base configuration")
    sw.add_argument("--seeds", type=_count("--seeds"), default=16, help="seeds 0..SEEDS-1 for every setting")
    sw.add_argument("--vary", type=_vary, action="append", default=[],
                    help="KEY=V1,V2,... over a RunConfig or ModelConfig field (repeatable)")
    sw.add_argument("--steps", type=_count("--steps"), default=10_000, help="training steps of every run")
    sw.add_argument("--batch-size", type=_count("--batch-size"), default=64,
                    help="runs trained together (the unit of work on a cluster)")
    sw.add_argument("--cache", default=None, help="cache folder (default: _build/sweep_cache)")
    sw.add_argument("--out", default="sweep.csv", help="CSV table, one row per run")
    where = sw.add_mutually_exclusive_group()
    where.add_argument("--scheduler", type=_address, default=None, metavar="tcp://HOST:PORT",
                       help="send the batches to this running Dask scheduler")
    where.add_argument("--workers", type=_count("--workers"), default=None, metavar="K",
                       help="start a local Dask cluster of K worker processes (cores shared among them)")
    sw.add_argument("--connect-timeout", type=_seconds, default=None, metavar="S",
                    help="seconds to wait for the --scheduler (default 10)")
    st = sub.add_parser("student", help="write each chapter's exercises as an nbgrader notebook")
    st.add_argument("--out", default="student", help="folder for the .ipynb files")
    st.add_argument("--solutions", action="store_true",
                    help="the teacher's version (nbgrader's source: answers and hidden tests)")
    st.add_argument("--hidden-seed", type=int, default=None,
                    help="seed of the hidden cases (default: the book's; choose your own)")
    st.add_argument("--no-timing", action="store_true",
                    help="do not run each notebook once to state its run time in its header")
    co = sub.add_parser("course", help="an nbgrader course folder: nbgrader_config.py and source/<chapter>/")
    co.add_argument("course", metavar="DIR", help="the course folder (made if missing)")
    co.add_argument("--hidden-seed", type=int, default=None,
                    help="seed of the hidden cases (default: the book's; choose your own)")
    co.add_argument("--timeout", type=_count("--timeout"), default=None, metavar="S",
                    help=f"seconds each cell may run when nbgrader autogrades (default {GRADE_TIMEOUT})")
    gr = sub.add_parser("grade", help="score submitted notebooks with nbgrader (generate_assignment, autograde)")
    gr.add_argument("notebooks", nargs="+", metavar="NOTEBOOK_OR_FOLDER",
                    help="files named after their chapter, e.g. 01_modular_addition.ipynb, or folders "
                         "holding them (e.g. submissions/, with submissions/alice/01_modular_addition.ipynb)")
    gr.add_argument("--timeout", type=_count("--timeout"), default=None, metavar="S",
                    help="seconds each cell may run before it is stopped and scored 0 (default "
                         f"{GRADE_TIMEOUT})")
    gr.add_argument("--hidden-seed", type=int, default=None, help="the seed the notebooks were written with")
    gr.add_argument("--course", default=None, metavar="DIR",
                    help="keep nbgrader's course folder here (gradebook.db: grade the written answers "
                         "in nbgrader's formgrader) instead of a temporary one")
    args = ap.parse_args(argv)

    if args.command in ("student", "course", "grade"):
        from .teaching import classroom
        seed = classroom.HIDDEN_SEED if args.hidden_seed is None else args.hidden_seed
        try:
            timeout = GRADE_TIMEOUT if getattr(args, "timeout", None) is None else args.timeout
            if args.command == "student":
                for path in classroom.write_student_notebooks(args.out, solutions=args.solutions,
                                                              hidden_seed=seed, measure=not args.no_timing):
                    print(path)
            elif args.command == "course":
                for path in classroom.make_course(args.course, hidden_seed=seed, timeout=timeout):
                    print(path)
            else:
                grades = classroom.grade(args.notebooks, hidden_seed=seed, course=args.course, timeout=timeout)
                for g in grades:
                    print(g)
                bad = sum(g.points is None for g in grades)
                if bad:
                    print(f"{bad} of {len(grades)} submissions not graded (the reasons are above)", file=sys.stderr)
                    return 1
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return 0

    return _sweep(args)


def _sweep(args) -> int:
    def fail(message: str, code: int = 2) -> int:
        print(f"error: {message}", file=sys.stderr)
        return code

    keys = [k for k, _ in args.vary]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        return fail(f"--vary gives {', '.join(twice)} more than once; list all values in one --vary KEY=V1,V2,...")
    if "seed" in keys:
        return fail("--vary cannot set seed: every setting runs seeds 0..SEEDS-1 of --seeds SEEDS")
    out = Path(args.out)
    if out.is_dir() or not out.parent.is_dir():
        return fail(f"--out must be a file in an existing folder, got {args.out!r}")
    if args.cache is not None and Path(args.cache).exists() and not Path(args.cache).is_dir():
        return fail(f"--cache must be a folder, got {args.cache!r} (a file)")

    try:
        configs = train.sweep_configs(getattr(train, RECIPES[args.recipe]), seeds=range(args.seeds),
                                      **dict(args.vary))
    except (ValueError, TypeError) as e:
        return fail(f"--vary: {e}")
    try:
        cluster = args.scheduler or args.workers
        with DaskExecutor(cluster, connect_timeout=args.connect_timeout) if cluster else nullcontext() as executor:
            results = run_sweep(configs, args.steps, cache_dir=args.cache, batch_size=args.batch_size,
                                progress=True, executor=executor)
    except ValueError as e:
        return fail(str(e))
    except ClusterError as e:
        return fail(f"{e}\nthe runs received before this are cached; the same command sends only the rest", 1)
    except KeyboardInterrupt:
        print("interrupted: the runs finished so far are cached; the same command trains only the rest",
              file=sys.stderr)
        return 130
    for r in results:
        if r.error is not None:
            print(f"diverged (its row records it): n={r.config.model.n}, {r.error}", file=sys.stderr)
    trained = sum(not r.cached for r in results)
    print(f"trained {trained} runs, loaded {len(results) - trained} from cache")
    table = results_table(results)
    table.to_csv(out, index=False)
    summary = table.groupby("class").size().to_dict()
    print(f"{len(table)} runs -> {args.out}; classes: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
