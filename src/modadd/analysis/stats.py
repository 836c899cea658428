"""Counting structures: how often each class forms, with honest intervals.

A table here is any pandas table with a ``"class"`` column, one row per run or system:
:func:`modadd.runs.sweep.results_table` for trained networks, :meth:`modadd.particles.Simulation.table`
for particle systems. Both are counted the same way, with the classes of
:data:`modadd.analysis.structure.CLASSES` (in that order) as columns.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .structure import CLASSES


def wilson_interval(k, n, z: float = 1.96):
    """95% Wilson score interval for a proportion k/n (arrays allowed); (lo, hi).

    Unlike the normal approximation it stays inside [0, 1] and is not empty at k = 0 or
    k = n: 16 of 16 gives about (0.81, 1), not a proof of 100%.
    """
    k, n = np.asarray(k, float), np.asarray(n, float)
    p = np.where(n > 0, k / np.maximum(n, 1), np.nan)
    den = 1 + z ** 2 / n
    centre = (p + z ** 2 / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z ** 2 / (4 * n ** 2)) / den
    return centre - half, centre + half


def share(k: int, n: int) -> tuple[float, float, float]:
    """``k`` of ``n`` as ``(share, lo, hi)``: the share and its 95% Wilson interval
    (:func:`wilson_interval`); all NaN when ``n`` is 0 (nothing to count)."""
    if not n:
        return np.nan, np.nan, np.nan
    lo, hi = wilson_interval(k, n)
    return k / n, float(lo), float(hi)


def percentile_interval(samples, axis: int = 0):
    """The 95% percentile interval ``(lo, hi)`` of bootstrap ``samples`` along ``axis``."""
    lo, hi = np.percentile(samples, [2.5, 97.5], axis=axis)
    return lo, hi


def bootstrap_mean(x, rng, bootstrap: int) -> tuple[float, float, float]:
    """Mean of ``x`` and its 95% percentile-bootstrap interval, ``bootstrap`` resamples of
    the entries drawn from ``rng`` (a numpy Generator): ``(mean, lo, hi)``."""
    x = np.asarray(x, dtype=float)
    means = x[rng.integers(0, len(x), size=(bootstrap, len(x)))].mean(1)
    lo, hi = percentile_interval(means)
    return float(x.mean()), float(lo), float(hi)


def auc(score, outcome, bootstrap: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """How well ``score`` ranks the runs with ``outcome`` above the others: the area under
    the ROC curve (the chance that a random run with the outcome scores higher than a random
    run without it, ties counting half; 0.5 is no better than chance), with its 95%
    percentile-bootstrap interval (``bootstrap`` resamples of the runs with the outcome and,
    separately, of those without it, so each resample keeps both): ``(auc, lo, hi)``."""
    x = np.asarray(score, dtype=float)
    y = np.asarray(outcome)
    if x.ndim != 1 or x.shape != y.shape or not np.isfinite(x).all() or y.dtype != bool:
        raise ValueError(f"score must be a 1-D array of finite numbers and outcome a boolean array of the same "
                         f"shape, got shapes {x.shape} and {y.shape} (outcome dtype {y.dtype})")
    if y.all() or not y.any():
        raise ValueError(f"outcome must hold runs of both kinds, got {int(y.sum())} of {len(y)} with it")

    def area(xp, xn):
        return float((xp[:, None] > xn[None, :]).mean() + 0.5 * (xp[:, None] == xn[None, :]).mean())

    pos, neg = x[y], x[~y]
    rng = np.random.default_rng(seed)
    boots = [area(pos[rng.integers(0, len(pos), len(pos))], neg[rng.integers(0, len(neg), len(neg))])
             for _ in range(bootstrap)]
    lo, hi = percentile_interval(np.asarray(boots))
    return area(pos, neg), float(lo), float(hi)


def class_shares(table, by: str, classes=CLASSES):
    """One row per setting of column ``by`` (in the order they first appear): ``runs``, and
    for each class its ``count``, ``share`` and 95% Wilson ``lo`` and ``hi`` (columns
    ``circle``, ``circle share``, ``circle lo``, ``circle hi``, ...). Runs of no class
    (diverged) count in ``runs`` only."""
    rows = {}
    for key, g in table.groupby(by, sort=False):
        n = len(g)
        row = {"runs": n}
        for cls in classes:
            k = int((g["class"] == cls).sum())
            s, lo, hi = share(k, n)
            row.update({cls: k, f"{cls} share": s, f"{cls} lo": lo, f"{cls} hi": hi})
        rows[key] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = by
    return out


def class_counts(table, by, normalize: bool = False):
    """How many runs of each setting ended in each class: one row per setting, one column
    per class of :data:`~modadd.analysis.structure.CLASSES` (0 where a class never formed).

    ``by``: a column name or a list of them; settings keep the order in which they first
    appear in ``table``. ``normalize=True`` gives shares instead of counts.
    """
    counts = table.groupby(by, sort=False)["class"].value_counts(normalize=normalize)
    return counts.unstack(fill_value=0).reindex(columns=list(CLASSES), fill_value=0)


def class_fractions(table, by: list[str], classes=CLASSES):
    """Share of each structure class per setting, with 95% Wilson intervals.

    Returns a long table: the ``by`` columns, ``class``, ``count``, ``runs``, ``fraction``,
    ``lo``, ``hi`` (what :func:`modadd.plots.class_fraction_figure` draws).
    """
    rows = []
    for key, g in table.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        for c in classes:
            k, n = int((g["class"] == c).sum()), len(g)
            s, lo, hi = share(k, n)
            rows.append(dict(zip(by, key), **{"class": c, "count": k, "runs": n, "fraction": s, "lo": lo, "hi": hi}))
    return pd.DataFrame(rows)
