"""How much of the true gradient the force models explain: affine part, fits, along a run."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from ..analysis.stats import bootstrap_mean
from ..analysis.structure import classify
from ..core.data import answers, unordered_pairs
from ..core.model import Params, loss_and_grads, sum_vectors
from ..core.train import History, pair_weights
from ..core.validate import (check_bool, check_choice, check_field, check_finite, check_int, check_non_negative_int, check_number,
                        check_positive_int, check_range, check_tensor, is_int)
from .fields import (FORCE_NAMES, FORCES, auto_sigma, check_force_names, embedding_forces, pair_gradients,
                     resolve_sigma, shuffled_labels, to_embeddings)
from .kernels import alignment, clustering, repulsion, spread_to_embeddings


def _affine_design(E, shift: bool = True) -> torch.Tensor:
    """(M, 2n, 6 or 4): columns span the fields F_a = A E_a + t (without ``t`` when not
    ``shift``), flattened as (a, coordinate)."""
    M, n, _ = E.shape
    X = torch.zeros(M, n, 2, 6 if shift else 4, dtype=E.dtype)
    X[:, :, 0, 0], X[:, :, 0, 1] = E[..., 0], E[..., 1]
    X[:, :, 1, 2], X[:, :, 1, 3] = E[..., 0], E[..., 1]
    if shift:
        X[:, :, 0, 4] = 1.0
        X[:, :, 1, 5] = 1.0
    return X.reshape(M, 2 * n, -1)


def affine_part(F, E, shift: bool = True) -> torch.Tensor:
    """The least-squares affine part ``A E_a + t`` of a field F on the embeddings, per model.

    F (n, 2) or (M, n, 2), E (n, 2) or (M, n, 2) -> (M, n, 2), float64. ``A`` (2x2) and
    ``t`` (2,) minimise ``sum_a |F_a - A E_a - t|^2``; the 6 fields span everything a
    first layer *with biases* can absorb (a global linear map plus a shift of all
    embeddings). ``shift=False`` leaves ``t = 0``: the 4 linear fields, all that a first
    layer without biases can absorb (it cannot undo a shift).
    """
    E = check_tensor("E", E, (2, 3)).double()
    E = E.unsqueeze(0) if E.ndim == 2 else E
    F = check_tensor("F", F, (2, 3))
    check_bool("shift", shift)
    M, n = max(E.shape[0], F.shape[0] if F.ndim == 3 else 1), E.shape[1]
    E = check_field("E", E, M, n)
    F = check_field("F", F, M, n)
    return _affine_part(F, E, shift)


def _affine_part(F, E, shift: bool = True) -> torch.Tensor:
    """:func:`affine_part` of F (M, n, 2) on E (M, n, 2), both float64, unchecked."""
    X = _affine_design(E, shift)
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


def fit_forces(target, basis: dict, E, remove_affine: bool = True, shift: bool = True) -> ForceFit:
    """Fit ``target ~ sum_k c_k basis[k]`` by least squares, per model, with no intercept.

    Args:
        target: (n, 2) or (M, n, 2), e.g. the negative gradient ``-dL/dE``.
        basis: {name: (n, 2) or (M, n, 2)} force fields on the embeddings
            (:func:`embedding_forces`).
        E: (n, 2) or (M, n, 2) the embeddings (defines the affine fields).
        remove_affine: first project the target and every basis field onto the orthogonal
            complement of the affine fields ``A E_a + t`` (per model), so that only the
            change of *shape* is compared.
        shift: with ``remove_affine``, whether the shifts ``t`` are removed too (True: a
            network with biases absorbs them; False: only the linear fields ``A E_a``, all a
            network without biases absorbs).

    Returns:
        :class:`ForceFit`. With ``X`` the stacked (projected) basis and ``y`` the
        (projected) target, ``c = pinv(X) y``, ``r2 = 1 - |y - X c|^2 / |y|^2``.
        A basis field that vanishes (e.g. an affine one after removal) gets coefficient 0.
    """
    if not isinstance(basis, dict) or not basis:
        raise ValueError(f"basis must be a non-empty dict name -> (M, n, 2) field, got {type(basis).__name__}")
    check_bool("remove_affine", remove_affine)
    check_bool("shift", shift)
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
        y = y - _affine_part(y, E, shift)
        Xs = [x - _affine_part(x, E, shift) for x in Xs]
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
        history: a :class:`modadd.core.train.History` recorded with ``record_params=True``.
        run: index of the run in the history.
        forces: names from ``FORCE_NAMES``.
        remove_affine: compare shapes only: remove what the run's first layer absorbs, a
            global linear map of the embeddings, and a global shift only if the run has
            biases (:func:`fit_forces` with ``shift=config.model.bias``).
        shuffle_seed: seed of the label permutation for the baseline.
        sigma: width of the clustering and repulsion windows: "auto" (:func:`auto_sigma` with the
            true labels, per step), None, or a number > 0.

    Returns:
        pandas DataFrame, one row per recorded step: ``step, sigma, r2, cosine,
        r2_shuffled, cosine_shuffled`` and ``coef_<name>``, ``coef_<name>_shuffled`` per force.
    """
    if not isinstance(history, History):
        raise ValueError(f"history must be a modadd.core.train.History, got {type(history).__name__}")
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
        fit = fit_forces(target, basis, p.E, remove_affine=remove_affine, shift=cfg.model.bias)
        rows[f"r2{suffix}"] = fit.r2
        rows[f"cosine{suffix}"] = fit.cosine
        for name in forces:
            rows[f"coef_{name}{suffix}"] = fit.coefficients[name]
    order = ["step", "sigma", "r2", "cosine", "r2_shuffled", "cosine_shuffled"]
    order += [k for k in rows if k.startswith("coef_")]
    return pd.DataFrame({k: rows[k] for k in order})


def _check_history(history, run=None):
    if not isinstance(history, History):
        raise ValueError(f"history must be a modadd.core.train.History, got {type(history).__name__}")
    if run is not None:
        M = len(history.configs)
        if not is_int(run) or not 0 <= run < M:
            raise ValueError(f"run must be an integer in [0, {M}), got run={run!r}")
    history.params_at(0, 0)            # raises if the history kept only the embeddings


#: The two architecture families, by name: whether their networks have biases (and so a
#: first layer that can absorb a shift of all embeddings).
FAMILY_HAS_BIASES = {"no biases": False, "biases": True}


def _step_index(history, step: int) -> int:
    """The index of the recorded step nearest at or after ``step`` (the last one past the end)."""
    return min(int(np.searchsorted(history.steps, step)), len(history.steps) - 1)


def family(config) -> str:
    """``"biases"`` or ``"no biases"``: the architecture family of a run configuration
    (the key of :data:`FAMILY_HAS_BIASES` whose value is ``config.model.bias``)."""
    return "biases" if config.model.bias else "no biases"


def fit_at(history, run: int, step: int, forces=FORCE_NAMES, remove_affine: bool = True,
           sigma="auto") -> tuple[int, ForceFit]:
    """The force fit of one run at the recorded step nearest at or after ``step``.

    The target is ``-dL/dE`` of that run's training loss, the basis
    :func:`embedding_forces` with its training weights (exactly as one row of
    :func:`explained_over_history`, the shift removed only with biases). Returns ``(recorded step, ForceFit)`` (a batch of one);
    ``fit.target[0]`` and ``fit.fit[0]`` are what :func:`modadd.plots.force_arrows` draws.
    """
    _check_history(history, run)
    check_non_negative_int("step", step)
    t = _step_index(history, step)
    p = history.params_at(run, t)
    cfg = history.configs[run]
    pairs, labels, g = pair_gradients(p, cfg)
    w = pair_weights(cfg).train_weights
    basis = embedding_forces(p.E, pairs, labels, check_force_names(forces), sigma=sigma, weights=w)
    target = -to_embeddings(g, pairs, cfg.model.n)
    return int(history.steps[t]), fit_forces(target, basis, p.E, remove_affine=remove_affine, shift=cfg.model.bias)


def force_balance(history, step: int) -> np.ndarray:
    """Each run's force balance at the recorded step nearest at or after ``step``: how much
    of its symmetry-free ``-dL/dE`` alignment alone explains, minus how much clustering alone
    does (the :func:`fit_forces` R^2 of each, the shift removed only with biases): (runs,).
    Positive: the run's gradient leans to alignment, the force of circles (chapter 4)."""
    _check_history(history)
    check_non_negative_int("step", step)
    t = _step_index(history, step)
    p = Params(*(x[:, t].contiguous().double() for x in history.params.tensors()))
    cfgs = history.configs
    split = pair_weights(cfgs)
    w = split.train_weights.double()
    target = -loss_and_grads(p, split.pairs, split.labels, w).grads.E
    shift = np.array([c.model.bias for c in cfgs])
    r2 = {}
    for name in ("clustering", "alignment"):
        basis = embedding_forces(p.E, split.pairs, split.labels, (name,), weights=w)
        r2[name] = np.zeros(len(cfgs))
        for bias in (False, True):              # one fit per family: the shift only with biases
            m = shift == bias
            if m.any():
                idx = torch.as_tensor(np.nonzero(m)[0])
                r2[name][m] = fit_forces(target[idx], {name: basis[name][idx]}, p.E[idx], shift=bias).r2
    return r2["alignment"] - r2["clustering"]


def explained_by_force_set(history, force_sets: dict, remove_affine: bool = True):
    """Mean explained fraction of every run for several sets of forces.

    For each run of the history and each ``label -> forces`` of ``force_sets``: the mean
    ``r2`` and ``r2_shuffled`` of :func:`explained_over_history` over the recorded steps
    after 0. Returns a DataFrame with columns ``run, family, forces, r2, shuffled``.
    """
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
    final embeddings (:func:`modadd.analysis.structure.classify`). Returns a DataFrame with columns
    ``run, family, final, phase, r2, shuffled``.
    """
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


# ---------------------------------------------------------------- an honest fit
#: The window-width rules a :class:`Variant` can name: ``"auto"``, the median distance from a
#: sum to its nearest sum with a *different* answer (:func:`auto_sigma` with labels), and
#: ``"nearest"``, to its nearest distinct sum whatever its answer (:func:`auto_sigma` without).
SIGMA_RULES = ("auto", "nearest")


@dataclass(frozen=True)
class Variant:
    """One force-law variant: which forces, and the free choices in their assumed forms.

    Attributes:
        forces: names from :data:`FORCE_NAMES`.
        sigma_rule: how the window width of clustering and repulsion is set, one of
            :data:`SIGMA_RULES`.
        sigma_scale: the window is ``sigma_scale`` times the width the rule gives (> 0).
        self_power, other_power: alignment's weights ``r_p^self_power`` and
            ``r_q^other_power`` (:func:`modadd.forces.alignment_force`).
    The defaults are the forms the rest of chapter 4 uses.
    """

    forces: tuple = ("clustering", "alignment")
    sigma_rule: str = "auto"
    sigma_scale: float = 1.0
    self_power: float = 0.0
    other_power: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "forces", check_force_names(self.forces))
        check_choice("sigma_rule", self.sigma_rule, SIGMA_RULES)
        object.__setattr__(self, "sigma_scale", check_number("sigma_scale", self.sigma_scale, 0.0, strict=True))
        object.__setattr__(self, "self_power", check_finite("self_power", self.self_power))
        object.__setattr__(self, "other_power", check_finite("other_power", self.other_power))

    @property
    def label(self) -> str:
        """A short name, e.g. ``C+A, σ auto×1, r^0 r'^1`` (only the choices its forces use)."""
        parts = ["+".join(f[0].upper() for f in self.forces)]
        if {"clustering", "repulsion"} & set(self.forces):
            parts.append(f"σ {self.sigma_rule}×{self.sigma_scale:g}")
        if "alignment" in self.forces:
            parts.append(f"r^{self.self_power:g} r'^{self.other_power:g}")
        return ", ".join(parts)

    def components(self) -> list[tuple]:
        """One key per force field it needs: ``(force, sigma_rule, sigma_scale)`` for the
        windowed forces, ``(force, self_power, other_power)`` for alignment."""
        return [(f, self.self_power, self.other_power) if f == "alignment" else (f, self.sigma_rule, self.sigma_scale)
                for f in self.forces]


def variant_grid(force_sets, sigma_rules=("auto",), sigma_scales=(1.0,), self_powers=(0.0,),
                 other_powers=(1.0,)) -> list[Variant]:
    """Every combination of the given choices as distinct :class:`Variant` s, in order.

    A choice that none of a variant's forces uses is left at its default, so no variant is
    listed twice (e.g. clustering alone is not repeated for every alignment power)."""
    out = []
    for fs in force_sets:
        fs = check_force_names(fs)
        windowed, aligned = bool({"clustering", "repulsion"} & set(fs)), "alignment" in fs
        for rule in (sigma_rules if windowed else ("auto",)):
            for scale in (sigma_scales if windowed else (1.0,)):
                for sp in (self_powers if aligned else (0.0,)):
                    for op in (other_powers if aligned else (1.0,)):
                        v = Variant(fs, rule, scale, sp, op)
                        if v not in out:
                            out.append(v)
    if not out:
        raise ValueError("variant_grid needs at least one force set")
    return out


@dataclass(frozen=True)
class RunFields:
    """One run's targets and candidate force fields at every recorded step after 0.

    Every array is (T, 2n): T recorded steps, the n embeddings' two coordinates flattened.
    Each step of the target and of every field is scaled to unit root mean square, so every
    step weighs the same and a fitted coefficient is dimensionless: the part of the (unit)
    gradient carried by the (unit) force.

    Attributes:
        run, seed, family: which run (index in its history), its seed, its family.
        target: {"raw": -dL/dE, "free": the same with what the first layer absorbs removed
            (a linear map; and a shift only with biases)}.
        fields: {(labels, symmetries, component): field}, labels "true" or "shuffled",
            symmetries "raw" or "free", component as :meth:`Variant.components`.
    """

    run: int
    seed: int
    family: str
    target: dict
    fields: dict


def _unit_steps(x: torch.Tensor) -> np.ndarray:
    """(T, n, 2) -> (T, 2n), each step scaled to unit root mean square (a zero step stays 0)."""
    x = x.reshape(x.shape[0], -1)
    rms = x.square().mean(-1, keepdim=True).sqrt()
    return torch.where(rms > 0, x / torch.where(rms > 0, rms, 1.0), 0.0).numpy()


def candidate_fields(history, variants, runs=None, shuffle_seed: int = 0) -> list[RunFields]:
    """Targets and every force field the ``variants`` need, for each run (:class:`RunFields`).

    As :func:`explained_over_history`: target ``-dL/dE`` of the run's training loss, forces
    with its training weights, the window width from the true answers, the baseline with
    :func:`shuffled_labels` (``shuffle_seed``); at every recorded step after 0.
    """
    _check_history(history)
    variants = list(variants)
    if not variants or not all(isinstance(v, Variant) for v in variants):
        raise ValueError(f"variants must be a non-empty list of forces.Variant, got {variants!r}")
    M = len(history.configs)
    runs = list(range(M)) if runs is None else list(runs)
    if not runs or not all(is_int(r) and 0 <= r < M for r in runs):
        raise ValueError(f"runs must be indices in [0, {M}), got {runs!r}")
    check_non_negative_int("shuffle_seed", shuffle_seed)
    comps = list(dict.fromkeys(c for v in variants for c in v.components()))
    t_keep = np.nonzero(history.steps > 0)[0]
    out = []
    for r in runs:
        cfg = history.configs[r]
        p = Params(*(x[r, t_keep].double() for x in history.params.tensors()))
        T, n = p.E.shape[:2]
        split = pair_weights(cfg)
        pairs, labels = split.pairs, split.labels
        w = split.train_weights.double().expand(T, -1)
        target = -loss_and_grads(p, pairs, labels, w).grads.E
        S = sum_vectors(p.E, pairs)
        widths = _window_widths(S, labels, w)

        def free(F):
            return F - _affine_part(F, p.E, cfg.model.bias)

        targets = {"raw": _unit_steps(target), "free": _unit_steps(free(target))}
        fields = {}
        for name, lab in (("true", labels), ("shuffled", shuffled_labels(labels, shuffle_seed))):
            for c, F in _component_fields(S, pairs, lab, w, comps, widths, n).items():
                fields[(name, "raw", c)] = _unit_steps(F)
                fields[(name, "free", c)] = _unit_steps(free(F))
        out.append(RunFields(run=r, seed=cfg.seed, family=family(cfg), target=targets, fields=fields))
    return out


def _window_widths(S, labels, w) -> dict:
    """The window width of each rule on sums S with answers ``labels`` and weights w:
    {"auto": from the answers, "nearest": from every sum} (:func:`auto_sigma`)."""
    return {"auto": auto_sigma(S, labels, weights=w), "nearest": auto_sigma(S, None, weights=w)}


def _component_fields(S, pairs, labels, w, comps, widths, n) -> dict:
    """Each component of :meth:`Variant.components` on the sums S, moved onto the n
    embeddings: {component: (T, n, 2)}; ``widths`` maps a window rule to its width."""
    out = {}
    for c in comps:
        if c[0] == "alignment":
            f = alignment(S, labels, w, c[1], c[2])
        else:
            f = (clustering if c[0] == "clustering" else repulsion)(S, labels, w, c[2] * widths[c[1]])
        out[c] = spread_to_embeddings(f, pairs, n, w)
    return out


def fit_along(E, variant: Variant, shift: bool, every: int = 5) -> np.ndarray:
    """Chapter 4's fit applied to trajectories of positions instead of a network's gradient.

    ``E`` (M, T, n, 2) holds each system's positions at T consecutive steps (e.g. a
    particle simulation recorded every step). The target is each step's displacement
    ``E[t + 1] - E[t]`` at t = 1, 1 + every, ... (step 0, the start, is left out as the
    network fit leaves out step 0); the fields are ``variant``'s on ``E[t]`` with every
    unordered pair weighted by its multiplicity (no pair held out); both are made
    symmetry-free (the linear part removed, and the shift with ``shift``) and scaled to
    unit size per step, as :func:`candidate_fields` does for a network. Returns (M, K): one
    coefficient per force of ``variant.forces`` per system, pooled over its steps, as the
    honest fit pools a run's.
    """
    if not isinstance(variant, Variant):
        raise ValueError(f"variant must be a forces.Variant, got {type(variant).__name__}")
    check_bool("shift", shift)
    every = check_int("every", every, 1)
    E = torch.as_tensor(np.asarray(E), dtype=torch.float64)
    if E.ndim != 4 or E.shape[-1] != 2 or E.shape[2] < 3 or E.shape[1] < 3 or not torch.isfinite(E).all():
        raise ValueError(f"E must be an (M, T, n, 2) array of finite positions with T >= 3 steps and n >= 3, "
                         f"got shape {tuple(E.shape)}")
    n = E.shape[2]
    pairs, mult = unordered_pairs(n)
    labels = answers(pairs, n)
    t = torch.arange(1, E.shape[1] - 1, every)
    comps = variant.components()
    w = (mult / n).to(torch.float64).expand(len(t), -1)
    out = np.zeros((E.shape[0], len(variant.forces)))
    for m in range(E.shape[0]):
        P, D = E[m, t], E[m, t + 1] - E[m, t]
        S = sum_vectors(P, pairs)
        widths = _window_widths(S, labels, w)
        y = _unit_steps(D - _affine_part(D, P, shift)).reshape(-1)
        fields = _component_fields(S, pairs, labels, w, comps, widths, n)
        X = np.stack([_unit_steps(F - _affine_part(F, P, shift)).reshape(-1) for F in fields.values()], -1)
        out[m] = np.linalg.lstsq(X, y, rcond=1e-12)[0]
    return out


def _pooled_fit(rf: RunFields, variant: Variant, labels: str, symmetries: str, coef=None):
    """One coefficient per force for the whole run: ``(coefficients (K,), r2)``; with
    ``coef`` given, only the r2 of those coefficients (no fit)."""
    y = rf.target[symmetries].reshape(-1)
    X = np.stack([rf.fields[(labels, symmetries, c)].reshape(-1) for c in variant.components()], -1)
    if coef is None:
        coef = np.linalg.lstsq(X, y, rcond=1e-12)[0]
    yy = float(y @ y)
    r2 = 1.0 - float(np.square(y - X @ coef).sum()) / yy if yy > 0 else 0.0
    return np.asarray(coef, dtype=float), r2


@dataclass(frozen=True)
class HonestFit:
    """Force-law variants chosen on some runs, reported on others (:func:`honest_fit`).

    Attributes:
        selection: one row per family and variant: ``family, variant`` (its label),
            ``chosen`` (bool), and on the choosing runs ``r2``, ``shuffled`` (mean R² of the
            symmetry-free fit, one coefficient per force per run, true and shuffled answers)
            and ``lead`` (their difference, what is maximised).
        chosen: {family: the chosen :class:`Variant`}.
        report: one row per reported run and variant in ``chosen`` or ``compare``:
            ``run, seed, family, variant, is_chosen, symmetries`` ("raw" or "free"),
            ``r2`` and ``shuffled`` (refitted on that run), ``r2_fixed`` (the coefficients
            of the choosing runs, mean over them, applied unchanged).
        coefficients: one row per reported run, chosen variant, force and symmetries:
            ``run, seed, family, force, symmetries, labels, coef``.
        summary: per family, force, symmetries and labels: ``mean, lo, hi`` (95% bootstrap
            interval over runs), ``runs``, ``negative`` (runs whose coefficient is < 0:
            the wrong sign for every one of our forces, each written so that a positive
            strength pulls, turns toward or pushes as intended).
        strengths: {family: {force: its coefficient in the chosen variant, mean over the
            choosing runs}}, symmetry-free, true answers: one set of strengths per family,
            fitted without the reported runs (what :func:`modadd.particles.calibrate` reads).
        choose_seeds, report_seeds: the seeds of the runs of each part.
    """

    selection: object
    chosen: dict
    report: object
    coefficients: object
    summary: object
    strengths: dict
    choose_seeds: tuple
    report_seeds: tuple


#: A law with more forces is chosen only if it leads the best law with fewer forces by more than
#: this (mean R² over the shuffled baseline, choosing runs): a smaller gain is within the noise.
PARSIMONY_MARGIN = 0.01


def honest_fit(choose, report, variants, compare=(), bootstrap: int = 1000, seed: int = 0,
               margin: float = PARSIMONY_MARGIN) -> HonestFit:
    """Choose a force-law variant per family on some runs and report it on others.

    Args:
        choose, report: lists of :class:`RunFields` (:func:`candidate_fields`, computed
            for every variant) with disjoint seeds; each family of ``report`` must be in
            ``choose``.
        variants: the candidate :class:`Variant` s. Per family, the variant with the
            largest mean *lead* over the shuffled baseline on the ``choose`` runs is chosen
            (R² alone would reward what does not depend on the answers: a repulsion that
            only spreads sums apart explains shuffled answers as well), except that a
            variant with fewer forces wins when its lead is within ``margin`` of the best:
            among the variants that close, those with the fewest forces, and of them the
            one with the largest lead.
        compare: further variants (e.g. the forms used elsewhere) to report beside it.
        bootstrap, seed: resamples and seed of the intervals over runs.
        margin: see ``variants`` (default :data:`PARSIMONY_MARGIN`).

    Every fit is symmetry-free unless a row says "raw", one coefficient per force per run
    (pooled over the run's recorded steps), no sign constraint: signs are reported.
    """
    choose, report, variants, compare, margin = _checked_honest(choose, report, variants, compare, bootstrap,
                                                                seed, margin)
    rng = np.random.default_rng(seed)
    selection, chosen = _choose_variants(choose, variants, margin)
    report_table, coefficients = _report_variants(choose, report, chosen, compare)
    summ = []
    for key, g in coefficients.groupby(["family", "force", "symmetries", "labels"], sort=False):
        m, lo, hi = bootstrap_mean(g.coef.values, rng, bootstrap)
        summ.append(dict(zip(["family", "force", "symmetries", "labels"], key), mean=m, lo=lo, hi=hi,
                         runs=len(g), negative=int((g.coef < 0).sum())))
    strengths = {fam: dict(zip(v.forces, np.mean([_pooled_fit(c, v, "true", "free")[0] for c in choose
                                                  if c.family == fam], 0).tolist()))
                 for fam, v in chosen.items()}
    return HonestFit(selection=selection, chosen=chosen, report=report_table,
                     coefficients=coefficients, summary=pd.DataFrame(summ), strengths=strengths,
                     choose_seeds=tuple(sorted({x.seed for x in choose})),
                     report_seeds=tuple(sorted({x.seed for x in report})))


def _checked_honest(choose, report, variants, compare, bootstrap, seed, margin):
    """:func:`honest_fit`'s arguments, checked: lists, and the margin as a number."""
    choose, report = list(choose), list(report)
    for name, part in (("choose", choose), ("report", report)):
        if not part or not all(isinstance(x, RunFields) for x in part):
            raise ValueError(f"{name} must be a non-empty list of forces.RunFields")
    both = {x.seed for x in choose} & {x.seed for x in report}
    if both:
        raise ValueError(f"choose and report must not share seeds, both have {sorted(both)}")
    variants = list(variants)
    compare = list(compare)
    if not all(isinstance(v, Variant) for v in compare):
        raise ValueError(f"compare must hold forces.Variant, got {compare!r}")
    if not variants or not all(isinstance(v, Variant) for v in variants):
        raise ValueError(f"variants must be a non-empty list of forces.Variant, got {variants!r}")
    missing = {x.family for x in report} - {x.family for x in choose}
    if missing:
        raise ValueError(f"no choosing runs for the family {sorted(missing)}")
    check_positive_int("bootstrap", bootstrap)
    check_non_negative_int("seed", seed)
    return choose, report, variants, compare, check_range("margin", margin, 0, 1, open_hi=True)


def _choose_variants(choose, variants, margin):
    """The selection table (every variant's lead over the shuffled baseline, per family, on
    the ``choose`` runs) and the variant chosen per family (see :func:`honest_fit`)."""
    sel_rows, chosen = [], {}
    for fam in dict.fromkeys(x.family for x in choose):
        runs = [x for x in choose if x.family == fam]
        leads = []
        for v in variants:
            r2 = float(np.mean([_pooled_fit(x, v, "true", "free")[1] for x in runs]))
            sh = float(np.mean([_pooled_fit(x, v, "shuffled", "free")[1] for x in runs]))
            sel_rows.append(dict(family=fam, variant=v.label, r2=r2, shuffled=sh, lead=r2 - sh))
            leads.append((r2 - sh, v))
        top = max(lead for lead, _ in leads)
        close = [(len(v.forces), -lead, i) for i, (lead, v) in enumerate(leads) if lead >= top - margin]
        chosen[fam] = leads[min(close)[2]][1]
    selection = pd.DataFrame(sel_rows)
    selection["chosen"] = [chosen[f].label == v for f, v in zip(selection.family, selection.variant)]
    return selection, chosen


def _report_variants(choose, report, chosen, compare):
    """The report table (each ``report`` run's fit of its family's chosen variant and of
    ``compare``, raw and symmetry-free, with the choosing runs' mean coefficients too) and
    the chosen variants' coefficients per run."""
    rep_rows, coef_rows, fixed = [], [], {}
    for x in report:
        for v in dict.fromkeys([chosen[x.family]] + list(compare)):
            for sym in ("raw", "free"):
                c_true, r2 = _pooled_fit(x, v, "true", sym)
                c_sh, sh = _pooled_fit(x, v, "shuffled", sym)
                key = (x.family, v, sym)
                if key not in fixed:                     # mean coefficients of the choosing runs
                    fixed[key] = np.mean([_pooled_fit(c, v, "true", sym)[0] for c in choose
                                          if c.family == x.family], 0)
                _, r2_fixed = _pooled_fit(x, v, "true", sym, coef=fixed[key])
                rep_rows.append(dict(run=x.run, seed=x.seed, family=x.family, variant=v.label,
                                     is_chosen=v == chosen[x.family], symmetries=sym, r2=r2, shuffled=sh,
                                     r2_fixed=r2_fixed))
                if v == chosen[x.family]:
                    for lab, cc in (("true", c_true), ("shuffled", c_sh)):
                        for f, c in zip(v.forces, cc):
                            coef_rows.append(dict(run=x.run, seed=x.seed, family=x.family, force=f,
                                                  symmetries=sym, labels=lab, coef=float(c)))
    return pd.DataFrame(rep_rows), pd.DataFrame(coef_rows)
