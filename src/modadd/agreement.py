"""Do two embeddings end in the same structure? Networks against particles, seed by seed.

Chapter 5 starts a particle system from a network's own initial embeddings and asks
whether both end in the same structure: the same class (:func:`modadd.structure.classify`),
for two circles the same order ``k`` (:func:`modadd.structure.circle_order`), for two
grids the same rule ``(p, q)`` (:func:`modadd.structure.lattice_rule`, up to the lattice's
symmetries). :func:`compare` makes one row per pair of embeddings, :func:`agreement`
counts the shares with 95% Wilson intervals (:func:`modadd.stats.wilson_interval`).

The order and the rule are compared only where *both* ends are of that class: the share
of same ``k`` is "of the seeds where both end as circles". numpy and pandas only.
"""
from __future__ import annotations

import numpy as np

from . import structure
from .stats import wilson_interval
from .validate import check_embedding_batch, check_two_names

#: What :func:`agreement` counts, in its row order.
MEASURES = ("class", "circle order", "lattice rule")


def describe(E) -> dict:
    """Class, circle order and lattice rule of one embedding ``E`` (n, 2).

    Keys: ``class``; ``k`` (the circle order, or None unless a circle); ``rule`` (the
    lattice rule ``(p, q)``, or None unless a grid).
    """
    row = structure.scores(E)
    cls = row["class"]
    return {"class": cls, "k": int(row["circle_k"]) if cls == "circle" else None,
            "rule": structure.lattice_rule(E) if cls == "grid" else None}


def compare(first, second, names: tuple[str, str] = ("network", "particles")):
    """One row per pair: the structure of ``first[i]`` against that of ``second[i]``.

    Args:
        first, second: (R, n, 2) embeddings, paired by index (e.g. a network's final
            embeddings and those of the particles started from its initial ones).
        names: the two sides' names, used as column prefixes.

    Returns:
        A pandas table with, for each side ``s``, columns ``s_class``, ``s_k``, ``s_rule``
        (see :func:`describe`), and ``same_class``, ``same_k``, ``same_rule``: bool where
        the comparison applies (``same_k`` where both are circles, ``same_rule`` where both
        are grids), else None.

    Raises:
        ValueError: arrays of the wrong shape, of different shapes, or bad names.
    """
    import pandas as pd

    A, B = check_embedding_batch("first", first), check_embedding_batch("second", second)
    if A.shape != B.shape:
        raise ValueError(f"first and second must have the same shape, got {A.shape} and {B.shape}")
    names = check_two_names("names", names)
    rows = []
    for a, b in zip(A, B):
        da, db = describe(a), describe(b)
        row = {f"{names[0]}_{k}": v for k, v in da.items()}
        row.update({f"{names[1]}_{k}": v for k, v in db.items()})
        row["same_class"] = da["class"] == db["class"]
        both_c = da["class"] == db["class"] == "circle"
        both_g = da["class"] == db["class"] == "grid"
        row["same_k"] = (da["k"] == db["k"]) if both_c else None
        row["same_rule"] = (da["rule"] == db["rule"]) if both_g else None
        rows.append(row)
    return pd.DataFrame(rows)


def agreement(table):
    """Shares of agreement in a :func:`compare` table, with 95% Wilson intervals.

    Returns a table indexed by :data:`MEASURES`, columns ``agree`` (count), ``of`` (the
    pairs where the comparison applies: all for the class, both circles for the order,
    both grids for the rule), ``share`` (NaN where ``of`` is 0), ``lo``, ``hi``.
    """
    import pandas as pd

    missing = {"same_class", "same_k", "same_rule"} - set(getattr(table, "columns", []))
    if missing:
        raise ValueError(f"table must be a compare() table; it lacks the columns {sorted(missing)}")
    rows = []
    for measure, col in zip(MEASURES, ("same_class", "same_k", "same_rule")):
        v = table[col].dropna().astype(bool)
        k, m = int(v.sum()), len(v)
        lo, hi = wilson_interval(k, m) if m else (np.nan, np.nan)
        rows.append(dict(measure=measure, agree=k, of=m, share=k / m if m else np.nan,
                         lo=float(lo), hi=float(hi)))
    return pd.DataFrame(rows).set_index("measure")
