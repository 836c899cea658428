"""Do two embeddings end in the same structure? Networks against particles, seed by seed.

Chapter 5 starts a particle system from a network's own initial embeddings and asks
whether both end in the same structure: the same class (:func:`modadd.analysis.structure.classify`),
for two circles the same order ``k`` (:func:`modadd.analysis.structure.circle_order`), for two
grids the same rule ``(p, q)`` (:func:`modadd.analysis.structure.lattice_rule`, up to the lattice's
symmetries). :func:`compare` makes one row per pair of embeddings, :func:`agreement`
counts the shares with 95% Wilson intervals (:func:`modadd.analysis.stats.wilson_interval`).

The order and the rule are compared only where *both* ends are of that class: the share
of same ``k`` is "of the seeds where both end as circles". numpy and pandas only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis import structure
from ..analysis.stats import share


# Argument checks of this module's entry points. They live here, not in validate.py,
# because validate.py is part of the sweep cache's code hash (the trainer imports it): a
# check added there would make every cached training run stale.

def check_embedding_batch(name: str, E) -> np.ndarray:
    """R >= 1 embeddings of shape (R, n, 2), as a float64 numpy array (each one is checked
    further where it is scored)."""
    if isinstance(E, (str, bytes)) or E is None:
        raise ValueError(f"{name} must be an (R, n, 2) array of embeddings, got {type(E).__name__}")
    try:
        arr = np.asarray(E, dtype=float)
    except Exception as exc:
        raise ValueError(f"{name} must be an (R, n, 2) array of numbers: {exc}") from None
    if arr.ndim != 3 or arr.shape[2] != 2 or len(arr) == 0:
        raise ValueError(f"{name} must have shape (R, n, 2) with R >= 1, got shape {arr.shape}")
    return arr


def check_two_names(name: str, names) -> tuple[str, str]:
    """Two different strings."""
    if (not isinstance(names, (tuple, list)) or len(names) != 2 or not all(isinstance(x, str) for x in names)
            or names[0] == names[1]):
        raise ValueError(f"{name} must be two different strings, got {names!r}")
    return tuple(names)


#: What :func:`agreement` counts, in its row order.
MEASURES = ("class", "circle order", "lattice rule")


def describe(E) -> dict:
    """Class, circle order and lattice rule of one embedding ``E`` (n, 2).

    Keys: ``class``; ``k`` (the circle order, or None unless a circle); ``rule`` (the
    lattice rule ``(p, q)``, or None unless a grid).
    """
    return _described_row(structure.scores_many(structure.check_embedding(E)[None], details=True)[0])


def _described_row(row: dict) -> dict:
    cls = row["class"]
    return {"class": cls, "k": row["circle_k"] if cls == "circle" else None,
            "rule": row["grid_rule"] if cls == "grid" else None}


def describe_many(E_batch):
    """:func:`describe` of each of R embeddings (R, n, 2): a pandas table with columns
    ``class``, ``k``, ``rule``, one row per embedding (what :func:`compare` takes)."""
    arr = check_embedding_batch("E_batch", E_batch)
    return pd.DataFrame([_described_row(r) for r in structure.scores_many(arr, details=True)],
                        columns=["class", "k", "rule"])


def best_fits(E_batch):
    """The order and the lattice rule that fit each of R embeddings (R, n, 2) best, whatever
    its class: a pandas table with columns ``class``, ``k`` (``circle_score``'s order) and
    ``rule`` (the grid fit's :func:`modadd.analysis.structure.reduced_rule`), one row per embedding.

    For a cloud that is not (yet) a circle or a grid, these are the order and the rule
    it already leans to: chapter 5's baseline for what a start, or a network part-way
    through training, already holds.
    """
    arr = check_embedding_batch("E_batch", E_batch)
    return pd.DataFrame([{"class": r["class"], "k": r["circle_k"], "rule": r["grid_rule"]}
                         for r in structure.scores_many(arr, details=True)], columns=["class", "k", "rule"])


def _described(name: str, x):
    if hasattr(x, "columns"):
        if not {"class", "k", "rule"} <= set(x.columns) or len(x) == 0:
            raise ValueError(f"{name} must be (R, n, 2) embeddings or a describe_many() table, "
                             f"got a table with columns {list(x.columns)} and {len(x)} rows")
        return x.reset_index(drop=True)
    return check_embedding_batch(name, x)


def compare(first, second, names: tuple[str, str] = ("network", "particles")):
    """One row per pair: the structure of ``first[i]`` against that of ``second[i]``.

    Args:
        first, second: (R, n, 2) embeddings, or their :func:`describe_many` tables (to
            pair the same embeddings in several ways without scoring them again), paired
            by index (e.g. a network's final embeddings and those of the particles started
            from its initial ones).
        names: the two sides' names, used as column prefixes.

    Returns:
        A pandas table with, for each side ``s``, columns ``s_class``, ``s_k``, ``s_rule``
        (see :func:`describe`), and ``same_class``, ``same_k``, ``same_rule``: bool where
        the comparison applies (``same_k`` where both are circles, ``same_rule`` where both
        are grids), else None.

    Raises:
        ValueError: arrays or tables of the wrong shape, of different lengths, or bad names.
    """
    names = check_two_names("names", names)
    A, B = _described("first", first), _described("second", second)
    if len(A) != len(B):
        raise ValueError(f"first and second must hold the same number of embeddings, got {len(A)} and {len(B)}")
    A, B = (x if hasattr(x, "columns") else describe_many(x) for x in (A, B))
    rows = []
    for da, db in zip(A.to_dict("records"), B.to_dict("records")):
        row = {f"{names[0]}_{k}": v for k, v in da.items()}
        row.update({f"{names[1]}_{k}": v for k, v in db.items()})
        row["same_class"] = da["class"] == db["class"]
        both_c = da["class"] == db["class"] == "circle"
        both_g = da["class"] == db["class"] == "grid"
        row["same_k"] = bool(da["k"] == db["k"]) if both_c else None
        row["same_rule"] = (tuple(da["rule"]) == tuple(db["rule"])) if both_g else None
        rows.append(row)
    return pd.DataFrame(rows)


def agreement(table):
    """Shares of agreement in a :func:`compare` table, with 95% Wilson intervals.

    Returns a table indexed by :data:`MEASURES`, columns ``agree`` (count), ``of`` (the
    pairs where the comparison applies: all for the class, both circles for the order,
    both grids for the rule), ``share`` (NaN where ``of`` is 0), ``lo``, ``hi``.
    """
    missing = {"same_class", "same_k", "same_rule"} - set(getattr(table, "columns", []))
    if missing:
        raise ValueError(f"table must be a compare() table; it lacks the columns {sorted(missing)}")
    rows = []
    for measure, col in zip(MEASURES, ("same_class", "same_k", "same_rule")):
        v = table[col].dropna().astype(bool)
        k, m = int(v.sum()), len(v)
        s, lo, hi = share(k, m)
        rows.append(dict(measure=measure, agree=k, of=m, share=s, lo=lo, hi=hi))
    return pd.DataFrame(rows).set_index("measure")
