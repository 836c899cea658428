"""How much of the true gradient the force models explain: affine part, fits, along a run."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..model import Params, loss_and_grads, sum_vectors
from ..train import History, pair_weights
from ..validate import check_bool, check_field, check_non_negative_int, check_tensor, is_int
from .fields import (FORCE_NAMES, FORCES, check_force_names, embedding_forces, pair_gradients, resolve_sigma,
                     shuffled_labels, to_embeddings)
from .kernels import spread_to_embeddings


def _affine_design(E) -> torch.Tensor:
    """(M, 2n, 6): columns span the fields F_a = A E_a + t, flattened as (a, coordinate)."""
    M, n, _ = E.shape
    X = torch.zeros(M, n, 2, 6, dtype=E.dtype)
    X[:, :, 0, 0], X[:, :, 0, 1] = E[..., 0], E[..., 1]
    X[:, :, 1, 2], X[:, :, 1, 3] = E[..., 0], E[..., 1]
    X[:, :, 0, 4] = 1.0
    X[:, :, 1, 5] = 1.0
    return X.reshape(M, 2 * n, 6)


def affine_part(F, E) -> torch.Tensor:
    """The least-squares affine part ``A E_a + t`` of a field F on the embeddings, per model.

    F (n, 2) or (M, n, 2), E (n, 2) or (M, n, 2) -> (M, n, 2), float64. ``A`` (2x2) and
    ``t`` (2,) minimise ``sum_a |F_a - A E_a - t|^2``; the 6 fields span everything a
    first layer can absorb (a global linear map plus a shift of all embeddings).
    """
    E = check_tensor("E", E, (2, 3)).double()
    E = E.unsqueeze(0) if E.ndim == 2 else E
    F = check_tensor("F", F, (2, 3))
    M, n = max(E.shape[0], F.shape[0] if F.ndim == 3 else 1), E.shape[1]
    E = check_field("E", E, M, n)
    F = check_field("F", F, M, n)
    return _affine_part(F, E)


def _affine_part(F, E) -> torch.Tensor:
    """:func:`affine_part` of F (M, n, 2) on E (M, n, 2), both float64, unchecked."""
    X = _affine_design(E)
    coef = torch.linalg.pinv(X) @ F.reshape(*X.shape[:2], 1)
    return (X @ coef).reshape(F.shape)


@dataclass(frozen=True)
class ForceFit:
    """Least-squares fit of a target field (usually ``-dL/dE``) by named force fields.

    Attributes:
        names: the force names, in fit order.
        coefficients: {name: (M,)} fitted strength of each force.
        r2: (M,) uncentred ``1 - |target - fit|^2 / |target|^2`` (after affine removal when
            asked); 0 where the target is zero.
        cosine: (M,) cosine between target and fit over all embeddings. For a least-squares
            fit with no intercept this is ``sqrt(r2)``; kept for fits made elsewhere.
        cosine_per_embedding: (M, n) cosine between ``target_a`` and ``fit_a`` (0 where
            either is zero): which embeddings the forces get right.
        target, fit: (M, n, 2) the (affine-free, if asked) target and its fitted field.
        affine_removed: whether the affine parts were projected out first.
    """

    names: tuple[str, ...]
    coefficients: dict
    r2: np.ndarray
    cosine: np.ndarray
    cosine_per_embedding: np.ndarray
    target: np.ndarray
    fit: np.ndarray
    affine_removed: bool


def _cos(a, b, dim):
    na, nb = a.norm(dim=dim), b.norm(dim=dim)
    ok = (na > 0) & (nb > 0)
    return torch.where(ok, (a * b).sum(dim) / torch.where(ok, na * nb, 1.0), 0.0)


def fit_forces(target, basis: dict, E, remove_affine: bool = True) -> ForceFit:
    """Fit ``target ~ sum_k c_k basis[k]`` by least squares, per model, with no intercept.

    Args:
        target: (n, 2) or (M, n, 2), e.g. the negative gradient ``-dL/dE``.
        basis: {name: (n, 2) or (M, n, 2)} force fields on the embeddings
            (:func:`embedding_forces`).
        E: (n, 2) or (M, n, 2) the embeddings (defines the affine fields).
        remove_affine: first project the target and every basis field onto the orthogonal
            complement of the affine fields ``A E_a + t`` (per model), so that only the
            change of *shape* is compared.

    Returns:
        :class:`ForceFit`. With ``X`` the stacked (projected) basis and ``y`` the
        (projected) target, ``c = pinv(X) y``, ``r2 = 1 - |y - X c|^2 / |y|^2``.
        A basis field that vanishes (e.g. an affine one after removal) gets coefficient 0.
    """
    if not isinstance(basis, dict) or not basis:
        raise ValueError(f"basis must be a non-empty dict name -> (M, n, 2) field, got {type(basis).__name__}")
    check_bool("remove_affine", remove_affine)
    E = check_tensor("E", E, (2, 3)).double()
    target = check_tensor("target", target, (2, 3)).double()
    shapes = [E, target] + [check_tensor(f"basis[{k!r}]", v, (2, 3)) for k, v in basis.items()]
    M = max(x.shape[0] if x.ndim == 3 else 1 for x in shapes)
    n = E.shape[-2]
    E = check_field("E", E, M, n)
    y = check_field("target", target, M, n)
    Xs = [check_field(f"basis[{k!r}]", v, M, n) for k, v in basis.items()]
    y_norm_raw = y.reshape(M, -1).norm(dim=-1)
    col_raw = torch.stack([x.reshape(M, -1).norm(dim=-1) for x in Xs], -1)   # (M, K)
    if remove_affine:
        y = y - _affine_part(y, E)
        Xs = [x - _affine_part(x, E) for x in Xs]
    yf = y.reshape(M, -1, 1)
    X = torch.stack([x.reshape(M, -1) for x in Xs], -1)               # (M, 2n, K)
    # Unit columns, so that forces of very different sizes are treated alike; columns that
    # are zero up to rounding (e.g. an affine field after removal) carry nothing.
    col = X.norm(dim=1)                                                # (M, K)
    live = col > 1e-10 * col_raw
    unit = torch.where(live, col, 1.0)
    X = torch.where(live[:, None, :], X / unit[:, None, :], 0.0)
    c = torch.linalg.pinv(X, rtol=1e-10) @ yf                         # (M, K, 1)
    fit = (X @ c).reshape(M, n, 2)
    c = torch.where(live[..., None], c / unit[..., None], 0.0)
    yy = yf.squeeze(-1).square().sum(-1)
    nothing = yy <= (1e-10 * y_norm_raw) ** 2                           # zero target: nothing to explain
    res = (y - fit).reshape(M, -1).square().sum(-1)
    r2 = torch.where(nothing, 0.0, 1 - res / torch.where(nothing, 1.0, yy))
    cosine = torch.where(nothing, 0.0, _cos(y.reshape(M, -1), fit.reshape(M, -1), -1))
    per = _cos(y, fit, -1)
    per = torch.where(nothing[:, None], 0.0, per)
    coefs = {k: c[:, i, 0].numpy() for i, k in enumerate(basis)}
    return ForceFit(names=tuple(basis), coefficients=coefs, r2=r2.numpy(), cosine=cosine.numpy(),
                    cosine_per_embedding=per.numpy(), target=y.numpy(), fit=fit.numpy(),
                    affine_removed=remove_affine)


def explained_over_history(history, run: int, forces=FORCE_NAMES, remove_affine: bool = True,
                           shuffle_seed: int = 0, sigma="auto"):
    """How much of the true embedding gradient the force models explain, at every recorded step.

    At each recorded step t of run ``run``: the target is ``-dL/dE`` (the training loss of
    that run, :func:`pair_gradients`), the basis is :func:`embedding_forces` with the
    run's training weights, fitted by :func:`fit_forces`. The baseline repeats the fit
    with the same positions, weights and window but labels from
    :func:`shuffled_labels` (``shuffle_seed``). All steps are one batched computation.

    Args:
        history: a :class:`modadd.train.History` recorded with ``record_params=True``.
        run: index of the run in the history.
        forces: names from ``FORCE_NAMES``.
        remove_affine: compare shapes only (see :func:`fit_forces`).
        shuffle_seed: seed of the label permutation for the baseline.
        sigma: width of the clustering and repulsion windows: "auto" (:func:`auto_sigma` with the
            true labels, per step), None, or a number > 0.

    Returns:
        pandas DataFrame, one row per recorded step: ``step, sigma, r2, cosine,
        r2_shuffled, cosine_shuffled`` and ``coef_<name>``, ``coef_<name>_shuffled`` per force.
    """
    import pandas as pd
    if not isinstance(history, History):
        raise ValueError(f"history must be a modadd.train.History, got {type(history).__name__}")
    M = len(history.configs)
    if not is_int(run) or not 0 <= run < M:
        raise ValueError(f"run must be an integer in [0, {M}), got run={run!r}")
    forces = check_force_names(forces)
    check_non_negative_int("shuffle_seed", shuffle_seed)
    history.params_at(run, 0)          # raises if the history kept only the embeddings
    cfg = history.configs[run]
    p = Params(*(x[run].double() for x in history.params.tensors()))   # T recorded steps as T models
    T = p.E.shape[0]
    split = pair_weights(cfg)
    pairs, labels, w_train = split.pairs, split.labels, split.train_weights
    w = w_train.double().expand(T, -1)
    target = -loss_and_grads(p, pairs, labels, w).grads.E
    S = sum_vectors(p.E, pairs)
    sig = resolve_sigma(sigma, S, labels, w)
    rows = {"step": history.steps.astype(int),
            "sigma": np.full(T, np.nan) if sig is None else sig.numpy()}
    for suffix, lab in (("", labels), ("_shuffled", shuffled_labels(labels, shuffle_seed))):
        basis = {name: spread_to_embeddings(FORCES[name](S, lab, sig, w), pairs, p.E.shape[1], w) for name in forces}
        fit = fit_forces(target, basis, p.E, remove_affine=remove_affine)
        rows[f"r2{suffix}"] = fit.r2
        rows[f"cosine{suffix}"] = fit.cosine
        for name in forces:
            rows[f"coef_{name}{suffix}"] = fit.coefficients[name]
    order = ["step", "sigma", "r2", "cosine", "r2_shuffled", "cosine_shuffled"]
    order += [k for k in rows if k.startswith("coef_")]
    return pd.DataFrame({k: rows[k] for k in order})


def _check_history(history, run=None):
    if not isinstance(history, History):
        raise ValueError(f"history must be a modadd.train.History, got {type(history).__name__}")
    if run is not None:
        M = len(history.configs)
        if not is_int(run) or not 0 <= run < M:
            raise ValueError(f"run must be an integer in [0, {M}), got run={run!r}")
    history.params_at(0, 0)            # raises if the history kept only the embeddings


def family(config) -> str:
    """``"biases"`` or ``"no biases"``: the architecture family of a run configuration."""
    return "biases" if config.model.bias else "no biases"


def fit_at(history, run: int, step: int, forces=FORCE_NAMES, remove_affine: bool = True,
           sigma="auto") -> tuple[int, ForceFit]:
    """The force fit of one run at the recorded step nearest at or after ``step``.

    The target is ``-dL/dE`` of that run's training loss, the basis
    :func:`embedding_forces` with its training weights (exactly as one row of
    :func:`explained_over_history`). Returns ``(recorded step, ForceFit)`` (a batch of one);
    ``fit.target[0]`` and ``fit.fit[0]`` are what :func:`modadd.plots.force_arrows` draws.
    """
    _check_history(history, run)
    check_non_negative_int("step", step)
    t = min(int(np.searchsorted(history.steps, step)), len(history.steps) - 1)
    p = history.params_at(run, t)
    cfg = history.configs[run]
    pairs, labels, g = pair_gradients(p, cfg)
    w = pair_weights(cfg).train_weights
    basis = embedding_forces(p.E, pairs, labels, check_force_names(forces), sigma=sigma, weights=w)
    target = -to_embeddings(g, pairs, cfg.model.n)
    return int(history.steps[t]), fit_forces(target, basis, p.E, remove_affine=remove_affine)


def explained_by_force_set(history, force_sets: dict, remove_affine: bool = True):
    """Mean explained fraction of every run for several sets of forces.

    For each run of the history and each ``label -> forces`` of ``force_sets``: the mean
    ``r2`` and ``r2_shuffled`` of :func:`explained_over_history` over the recorded steps
    after 0. Returns a DataFrame with columns ``run, family, forces, r2, shuffled``.
    """
    import pandas as pd
    _check_history(history)
    if not isinstance(force_sets, dict) or not force_sets:
        raise ValueError(f"force_sets must be a non-empty dict label -> force names, got {force_sets!r}")
    rows = []
    for i, cfg in enumerate(history.configs):
        for label, fs in force_sets.items():
            c = explained_over_history(history, i, forces=fs, remove_affine=remove_affine)
            c = c[c.step > 0]
            rows.append(dict(run=i, family=family(cfg), forces=label, r2=c.r2.mean(),
                             shuffled=c.r2_shuffled.mean()))
    return pd.DataFrame(rows)


def explained_by_phase(history, forces=FORCE_NAMES, phases=("early", "middle", "late"),
                       remove_affine: bool = True):
    """Mean explained fraction of every run over consecutive parts of its training.

    The recorded steps after 0 are split into ``len(phases)`` consecutive parts of (nearly)
    equal length (``numpy.array_split``). Each run also gets the structure class of its
    final embeddings (:func:`modadd.structure.classify`). Returns a DataFrame with columns
    ``run, family, final, phase, r2, shuffled``.
    """
    import pandas as pd
    from ..structure import classify
    _check_history(history)
    phases = tuple(phases)
    T = int((history.steps > 0).sum())
    if not phases or len(set(phases)) != len(phases) or len(phases) > T:
        raise ValueError(f"phases must be 1..{T} distinct names, got {phases!r}")
    rows = []
    for i, cfg in enumerate(history.configs):
        c = explained_over_history(history, i, forces=forces, remove_affine=remove_affine)
        c = c[c.step > 0].reset_index(drop=True)
        final = classify(history.final.E[i].numpy())
        for name, idx in zip(phases, np.array_split(np.arange(len(c)), len(phases))):
            part = c.iloc[idx]
            rows.append(dict(run=i, family=family(cfg), final=final, phase=name,
                             r2=part.r2.mean(), shuffled=part.r2_shuffled.mean()))
    return pd.DataFrame(rows)
