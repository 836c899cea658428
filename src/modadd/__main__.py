"""Command line: sweeps too large for a notebook, and the classroom tools.

    python -m modadd sweep ...       train (or load) a grid of runs, write a table
    python -m modadd student --out DIR [--solutions]   student notebooks (nbgrader markup)
    python -m modadd grade FILE.ipynb ...             execute and score submitted notebooks

Example (16 seeds × 4 weight decays × 2 init scales, 10,000 steps each)::

    python -m modadd sweep --recipe grid --seeds 16 \\
        --vary weight_decay=0,0.3,1,3 --vary embed_scale=0.05,0.2 --out sweep.csv

Finished runs are cached on disk (see modadd.sweep); running the same command again
trains only what is missing, so an interrupted sweep can simply be restarted.
"""
from __future__ import annotations

import argparse
import sys

from .train import CIRCLE_RECIPE, GRID_RECIPE, sweep_configs

RECIPES = {"circle": CIRCLE_RECIPE, "grid": GRID_RECIPE}


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
    return key.strip(), [_value(v) for v in values.split(",") if v.strip()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m modadd", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    sw = sub.add_parser("sweep", help="train (or load from the cache) a grid of runs; write a table")
    sw.add_argument("--recipe", choices=sorted(RECIPES), default="grid", help="base configuration")
    sw.add_argument("--seeds", type=int, default=16, help="seeds 0..SEEDS-1 for every setting")
    sw.add_argument("--vary", type=_vary, action="append", default=[],
                    help="KEY=V1,V2,... over a RunConfig or ModelConfig field (repeatable)")
    sw.add_argument("--steps", type=int, default=10_000)
    sw.add_argument("--batch-size", type=int, default=64)
    sw.add_argument("--cache", default=None, help="cache folder (default: _build/sweep_cache)")
    sw.add_argument("--out", default="sweep.csv", help="CSV table, one row per run")
    st = sub.add_parser("student", help="write each chapter as a student notebook (nbgrader markup)")
    st.add_argument("--out", default="student", help="folder for the .ipynb files")
    st.add_argument("--solutions", action="store_true", help="keep the answers (the teacher's version)")
    gr = sub.add_parser("grade", help="execute submitted notebooks and score their checks")
    gr.add_argument("notebooks", nargs="+")
    args = ap.parse_args(argv)

    if args.command == "student":
        from .classroom import write_student_notebooks
        for path in write_student_notebooks(args.out, solutions=args.solutions):
            print(path)
        return 0
    if args.command == "grade":
        from .classroom import grade
        try:
            for nb in args.notebooks:
                print(grade(nb))
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return 0

    from .sweep import results_table, run_sweep
    try:
        configs = sweep_configs(RECIPES[args.recipe], seeds=range(args.seeds), **dict(args.vary))
        results = run_sweep(configs, args.steps, cache_dir=args.cache, batch_size=args.batch_size,
                            progress=True)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    table = results_table(results)
    table.to_csv(args.out, index=False)
    summary = table.groupby("class").size().to_dict()
    print(f"{len(table)} runs -> {args.out}; classes: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
