"""Chapter 6's interventions on weight decay and the biases, in tidy tables.

Each intervention is a *setting*: a named group of runs, one row per run in a
:func:`modadd.sweep.results_table` with the name in a ``"setting"`` column. These
functions summarise such tables: the share of each structure per setting with 95% Wilson
intervals (:func:`setting_summary`), and whether the structure a run has at one step is
the one it ends with (:func:`survival`), which turns "the circles survive" into a number.

AdamW's decay is decoupled: each step multiplies a parameter by ``1 - lr * wd`` before
Adam's update (:func:`decay_factor`). At ``lr * wd = 1`` that factor is 0, so the
parameter keeps nothing of its past but the last update.
"""
from __future__ import annotations

import numpy as np

from .stats import wilson_interval
from .structure import CLASSES
from .validate import check_number

__all__ = ["decay_factor", "settings_table", "setting_summary", "survival"]


def decay_factor(lr, wd) -> float:
    """``1 - lr * wd``: what one step of AdamW's decoupled decay multiplies a parameter by.

    0 means the decay alone wipes the parameter out each step; a negative value (``lr * wd
    > 1``) flips its sign, which no setting in this book uses.
    """
    lr = check_number("lr", lr, strict=True)
    wd = check_number("wd", wd)
    return 1.0 - lr * wd


def settings_table(settings: dict, steps: int, seeds=range(32), **sweep_kwargs):
    """Train (or load from the cache) every named setting over ``seeds``: one results table.

    Args:
        settings: setting name -> :class:`modadd.train.RunConfig` (its seed is replaced).
        steps: training steps of every run.
        seeds: the seeds of every setting.
        sweep_kwargs: passed to :func:`modadd.sweep.run_sweep` (e.g. ``cache_dir``).

    Returns:
        :func:`modadd.sweep.results_table` of the runs, setting by setting and seed by seed,
        with a ``"setting"`` column.
    """
    from .sweep import results_table, run_sweep
    from .train import RunConfig, sweep_configs

    if not isinstance(settings, dict) or not settings or \
            not all(isinstance(c, RunConfig) for c in settings.values()):
        raise ValueError(f"settings must be a non-empty dict name -> RunConfig, got {settings!r}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    configs = [c for cfg in settings.values() for c in sweep_configs(cfg, seeds=seeds)]
    table = results_table(run_sweep(configs, steps=steps, **sweep_kwargs))
    table["setting"] = np.repeat(list(settings), len(seeds))
    return table


def _check_table(name: str, table, by: str, columns=("class",)):
    missing = [c for c in (by, *columns) if c not in getattr(table, "columns", ())]
    if missing:
        raise ValueError(f"{name} must be a pandas table with columns {[by, *columns]}; "
                         f"missing {missing}")
    if len(table) == 0:
        raise ValueError(f"{name} has no rows")


def setting_summary(table, by: str = "setting"):
    """One row per setting (in the order they first appear): how its runs ended.

    Args:
        table: one row per run, with columns ``by``, ``class`` and ``val_acc``.
        by: the column that names the setting.

    Returns:
        A pandas table indexed by setting with ``runs``; for each class of
        :data:`~modadd.structure.CLASSES` its ``count``, ``share`` and 95% Wilson ``lo`` and
        ``hi`` (columns ``circle``, ``circle share``, ``circle lo``, ``circle hi``, ...);
        and ``median val acc``. Diverged runs count in ``runs`` but in no class.
    """
    import pandas as pd

    _check_table("table", table, by, ("class", "val_acc"))
    rows = {}
    for key, g in table.groupby(by, sort=False):
        n = len(g)
        row = {"runs": n}
        for cls in CLASSES:
            k = int((g["class"] == cls).sum())
            lo, hi = wilson_interval(k, n)
            row.update({cls: k, f"{cls} share": k / n, f"{cls} lo": float(lo), f"{cls} hi": float(hi)})
        row["median val acc"] = float(g["val_acc"].median())
        rows[key] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = by
    return out


def survival(early, late, by: str = "setting", cls: str = "circle"):
    """Does the structure a run has at an early step last until a late one?

    Args:
        early, late: results tables of the *same* runs in the same order (e.g. the runs of a
            sweep stopped at the step the biases are released, and the same runs at the end),
            each with columns ``by``, ``seed``, ``class`` and ``circle_score``.
        by: the column that names the setting.
        cls: the class followed.

    Returns:
        A pandas table indexed by setting: ``runs``; ``{cls} early`` and ``{cls} late``
        (runs of that class at each step); ``kept`` (runs of that class at both);
        ``kept share`` (kept / early; NaN when none were early) with its 95% Wilson ``kept
        lo`` and ``kept hi``; ``same class`` (the share of runs whose class did not change);
        and the median ``circle score early`` and ``circle score late``.
    """
    import pandas as pd

    if cls not in CLASSES:
        raise ValueError(f"cls must be one of {CLASSES}, got cls={cls!r}")
    cols = ("seed", "class", "circle_score")
    _check_table("early", early, by, cols)
    _check_table("late", late, by, cols)
    if len(early) != len(late) or not (np.array_equal(early[by].to_numpy(), late[by].to_numpy())
                                       and np.array_equal(early["seed"].to_numpy(), late["seed"].to_numpy())):
        raise ValueError("early and late must list the same runs (same settings and seeds) in the same order, "
                         f"got {len(early)} and {len(late)} rows that differ")
    e = early.reset_index(drop=True)
    l_ = late.reset_index(drop=True)
    rows = {}
    for key, idx in e.groupby(by, sort=False).groups.items():
        ce, cl = e.loc[idx, "class"].to_numpy(), l_.loc[idx, "class"].to_numpy()
        k_early, kept = int((ce == cls).sum()), int(((ce == cls) & (cl == cls)).sum())
        lo, hi = wilson_interval(kept, k_early) if k_early else (np.nan, np.nan)
        rows[key] = {"runs": len(idx), f"{cls} early": k_early, f"{cls} late": int((cl == cls).sum()),
                     "kept": kept, "kept share": kept / k_early if k_early else np.nan,
                     "kept lo": float(lo), "kept hi": float(hi),
                     "same class": float((ce == cl).mean()),
                     "circle score early": float(e.loc[idx, "circle_score"].median()),
                     "circle score late": float(l_.loc[idx, "circle_score"].median())}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = by
    return out
