"""Chapter 6's interventions on weight decay and the biases, in tidy tables.

Each intervention is a *setting*: a named group of runs, one row per run in a
:func:`modadd.runs.sweep.results_table` with the name in a ``"setting"`` column. These
functions summarise such tables: the share of each structure per setting with 95% Wilson
intervals (:func:`setting_summary`), and whether the structure a run has at one step is
the one it ends with (:func:`survival`), which turns "the circles survive" into a number.

What decay does *inside* a run (:func:`training_measures`): the weights' sizes, how
confident the softmax is on the training pairs, and how concentrated the gradient on the
sum vectors is (chapter 4's share of the squared pair gradient carried by the tenth of
pairs with the shortest sums), at every recorded step of a :class:`modadd.core.train.History`.
They test a candidate mechanism ("decay keeps the network unconfident, so the gradient
keeps acting on all pairs") instead of assuming it.

AdamW's decay is decoupled: each step multiplies a parameter by ``1 - lr * wd`` before
Adam's update (:func:`decay_factor`). At ``lr * wd = 1`` that factor is 0, so the
parameter keeps nothing of its past but the last update.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..analysis.stats import class_shares, share
from ..analysis.structure import CLASSES
from ..core.model import Params, forward
from ..core.train import History, RunConfig, pair_weights, sweep_configs
from ..core.validate import check_number
from ..forces import pair_gradients
from ..forces.fields import configs_for
from ..runs.sweep import results_table, run_sweep

__all__ = ["decay_factor", "settings_table", "setting_summary", "survival", "softmax_confidence",
           "short_sum_share", "gradient_spread", "training_measures"]


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
        settings: setting name -> :class:`modadd.core.train.RunConfig` (its seed is replaced).
        steps: training steps of every run.
        seeds: the seeds of every setting.
        sweep_kwargs: passed to :func:`modadd.runs.sweep.run_sweep` (e.g. ``cache_dir``).

    Returns:
        :func:`modadd.runs.sweep.results_table` of the runs, setting by setting and seed by seed,
        with a ``"setting"`` column.
    """
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
        :data:`~modadd.analysis.structure.CLASSES` its ``count``, ``share`` and 95% Wilson ``lo`` and
        ``hi`` (columns ``circle``, ``circle share``, ``circle lo``, ``circle hi``, ...);
        and ``median val acc``. Diverged runs count in ``runs`` but in no class.
    """
    _check_table("table", table, by, ("class", "val_acc"))
    out = class_shares(table, by)
    out["median val acc"] = [float(g["val_acc"].median()) for _, g in table.groupby(by, sort=False)]
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
        s, lo, hi = share(kept, k_early)
        rows[key] = {"runs": len(idx), f"{cls} early": k_early, f"{cls} late": int((cl == cls).sum()),
                     "kept": kept, "kept share": s, "kept lo": lo, "kept hi": hi,
                     "same class": float((ce == cl).mean()),
                     "circle score early": float(e.loc[idx, "circle_score"].median()),
                     "circle score late": float(l_.loc[idx, "circle_score"].median())}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = by
    return out


def softmax_confidence(params, config) -> np.ndarray:
    """Mean over training pairs of the largest softmax probability, one value per model.

    Args:
        params: :class:`modadd.core.model.Params` of M models (leading axis M).
        config: one :class:`modadd.core.train.RunConfig` for all M (e.g. M recorded steps of one
            run) or one per model; it fixes the training pairs and their weights exactly as
            the trainer does (an unordered pair ``a != b`` counts twice).

    Returns:
        (M,) numbers in [1/n, 1]: 1/n for a network that is unsure of every pair, near 1
        for one that answers each with certainty (right or wrong).
    """
    if not isinstance(params, Params):
        raise ValueError(f"params must be a modadd.core.model.Params, got {type(params).__name__}")
    split = pair_weights(configs_for(config, params.E.shape[0]))
    with torch.no_grad():
        top = torch.softmax(forward(params, split.pairs), -1).amax(-1)       # (M, U)
        w = split.train_weights.to(top.dtype)
    return ((w * top).sum(1) / w.sum(1)).numpy()


def short_sum_share(params, config, fraction: float = 0.1) -> np.ndarray:
    """Chapter 4's concentration of the pair gradient, one value per model.

    The share of the squared gradient on the sum vectors, ``sum |g_p|^2``
    (:func:`modadd.forces.pair_gradients`, training loss), carried by the pairs whose sum
    vectors ``|E_a + E_b|`` are among the shortest ``fraction`` of all unordered pairs
    (chapter 4 uses 0.1). A gradient spread evenly over pairs gives about ``fraction``;
    near 1 means a few short sums get almost all of it.

    Args:
        params: :class:`modadd.core.model.Params` of M models.
        config: one :class:`modadd.core.train.RunConfig` or one per model (see
            :func:`softmax_confidence`).
        fraction: the share of pairs counted as short, in (0, 1].

    Returns:
        (M,) shares in [0, 1] (NaN for a model whose gradient is exactly zero).
    """
    fraction = check_number("fraction", fraction, strict=True)
    if fraction > 1:
        raise ValueError(f"fraction must be in (0, 1], got fraction={fraction!r}")
    pairs, _, g = pair_gradients(params, config)
    with torch.no_grad():
        S = (params.E[:, pairs[:, 0]] + params.E[:, pairs[:, 1]]).norm(dim=-1)          # (M, U)
        short = S <= torch.quantile(S, fraction, dim=1, keepdim=True)
        g2 = g.pow(2).sum(-1)
        total = g2.sum(1)
        share = (g2 * short).sum(1) / total
    return torch.where(total > 0, share, torch.nan).numpy()


def gradient_spread(params, config) -> np.ndarray:
    """On how many training pairs the gradient acts, as a share of them, one value per model.

    With ``q_p = |g_p|^2`` the squared gradient on pair p's sum vector
    (:func:`modadd.forces.pair_gradients`), the participation ratio
    ``(sum_p q_p)^2 / (P sum_p q_p^2)`` over the P training pairs: 1 when every pair gets
    the same share, ``k / P`` when k pairs share it evenly and the rest get none.

    Args: as :func:`softmax_confidence`.

    Returns:
        (M,) shares in (0, 1] (NaN for a model whose gradient is exactly zero).
    """
    _, _, g = pair_gradients(params, config)
    train_pairs = (pair_weights(configs_for(config, params.E.shape[0])).train_weights > 0)    # (M, U)
    with torch.no_grad():
        q = g.pow(2).sum(-1)
        total = q.sum(1)
        spread = total.pow(2) / (train_pairs.sum(1) * q.pow(2).sum(1))
    return torch.where(total > 0, spread, torch.nan).numpy()


def training_measures(history, fraction: float = 0.1):
    """What decay does inside each run, at every recorded step: one row per (run, step).

    Args:
        history: a :class:`modadd.core.train.History` recorded with ``record_params=True``.
        fraction: passed to :func:`short_sum_share`.

    Returns:
        A pandas table with columns ``run`` (index into ``history.configs``), ``seed``,
        ``step``, ``E norm``, ``W1 norm``, ``W2 norm``, ``b1 norm`` (Frobenius norms),
        ``confidence`` (:func:`softmax_confidence`), ``short share``
        (:func:`short_sum_share`), ``spread`` (:func:`gradient_spread`) and ``train loss``.
    """
    if not isinstance(history, History):
        raise ValueError(f"history must be a modadd.core.train.History, got {type(history).__name__}")
    if history.params.W1 is None:
        raise ValueError("history was recorded with record_params=False; training_measures needs "
                         "every parameter: train with record_params=True")
    M, T = history.params.E.shape[:2]
    flat = Params(*(t.reshape(M * T, *t.shape[2:]) for t in history.params.tensors()))
    configs = [c for c in history.configs for _ in range(T)]
    norms = {f"{k} norm": getattr(flat, k).flatten(1).norm(dim=1).numpy() for k in ("E", "W1", "W2", "b1")}
    return pd.DataFrame({"run": np.repeat(np.arange(M), T), "seed": [c.seed for c in configs],
                         "step": np.tile(history.steps, M), **norms,
                         "confidence": softmax_confidence(flat, configs),
                         "short share": short_sum_share(flat, configs, fraction),
                         "spread": gradient_spread(flat, configs),
                         "train loss": history.train_loss.reshape(-1)})
