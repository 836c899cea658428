"""What the architecture implies for the pair gradient, and the force law measured in training.

The network sees a sum ``s`` only through its logits ``l(s) = relu(s W1 + b1) W2 + b2``.
Between the ReLU's hinges (the lines ``s . W1[:, j] + b1_j = 0``) it is affine, with the
Jacobian :func:`sum_jacobian` ``J(s) = W1 diag(1[z > 0]) W2`` (2, n). Chapter 4 derives:

* **without biases** the hinges pass through the origin, so ``J(s)`` depends on the
  direction of ``s`` only, ``l(s) = s J(s)`` (Euler: ``l`` is positively homogeneous of
  degree 1) and the weight kernel :func:`weight_kernel` between two sums is
  ``r_p r_q`` times a function of their two directions;
* **with biases** the hinges are affine lines; two sums share the same linear map only as
  far as no hinge lies between them (:func:`switched_units`), so what one sum learns
  carries to another only locally.

:func:`force_law` measures the interaction between same-answer sums in recorded training,
binned by distance and by angle, without assuming a form (:class:`ForceLaw`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..analysis.stats import percentile_interval
from ..core.model import Params, loss_and_grads, sum_vectors
from ..core.train import History, pair_weights
from ..core.validate import (check_bool, check_labels, check_non_negative_int, check_pair_weights, check_positive_int,
                             check_tensor, is_int)
from .fields import shuffled_labels, auto_sigma
from .kernels import angle_differences, bin_index, binned_law, law_tables


def _check_params(params):
    if not isinstance(params, Params):
        raise ValueError(f"params must be a modadd.core.model.Params, got {type(params).__name__}")
    return params


def _check_sums(name, S, params):
    S = check_tensor(name, S, (3,))
    if S.shape[0] != params.W1.shape[0]:
        raise ValueError(f"{name} must have one row of sums per model ({params.W1.shape[0]}), got shape {tuple(S.shape)}")
    return S.to(params.W1.dtype)


def active_units(params: Params, S) -> torch.Tensor:
    """Which hidden units are on at each sum: S (M, P, 2) -> (M, P, H) bool, ``s W1 + b1 > 0``."""
    params = _check_params(params)
    S = _check_sums("S", S, params)
    return torch.baddbmm(params.b1.unsqueeze(1), S, params.W1) > 0


def sum_jacobian(params: Params, S) -> torch.Tensor:
    """``J(s) = dl/ds = W1 diag(1[s W1 + b1 > 0]) W2`` at every sum: S (M, P, 2) -> (M, P, 2, n).

    Constant inside each region between the ReLU's hinges. Without biases ``J(lambda s) =
    J(s)`` for every ``lambda > 0`` and ``l(s) = s J(s)``."""
    m = active_units(params, S).to(params.W1.dtype)
    return torch.einsum("mij,mpj,mjk->mpik", params.W1, m, params.W2)


def polar_parts(S, g) -> tuple[torch.Tensor, torch.Tensor]:
    """Radial and tangential components of vectors g at points S: (M, P, 2) each -> two (M, P).

    ``radial = g . u``, ``tangential = g . t`` with ``u = s / |s|`` and ``t = (-u_y, u_x)``
    (counter-clockwise); 0 where ``s = 0``."""
    S = check_tensor("S", S, (3,))
    g = check_tensor("g", g, (3,))
    if g.shape != S.shape:
        raise ValueError(f"g must have the shape of S {tuple(S.shape)}, got {tuple(g.shape)}")
    r = S.norm(dim=-1, keepdim=True)
    u = torch.where(r > 0, S / torch.where(r > 0, r, 1.0), 0.0)
    t = torch.stack([-u[..., 1], u[..., 0]], -1)
    return (g * u).sum(-1), (g * t).sum(-1)


def weight_kernel(params: Params, S_p, S_q) -> torch.Tensor:
    """The tangent kernel of the logits over the weights between two sets of sums.

    ``Theta(s_p, s_q) = sum_theta dl(s_p)/dtheta dl(s_q)/dtheta^T`` over ``W1, W2`` (and
    ``b1, b2`` when the model has biases, i.e. when ``b1`` or ``b2`` is nonzero):
    ``(h_p . h_q + beta) I + (s_p . s_q + beta) W2^T diag(m_p m_q) W2``, with ``h`` the
    hidden activations, ``m`` the active units and ``beta`` 1 with biases, 0 without.
    One gradient step on the weights driven by pair q moves the logits of sum p by
    ``-lr * Theta(s_p, s_q) dL/dl(s_q)``: this is how the sums interact through the weights.

    Args: params of M models; S_p (M, P, 2), S_q (M, Q, 2). Returns (M, P, Q, n, n).
    """
    params = _check_params(params)
    S_p, S_q = _check_sums("S_p", S_p, params), _check_sums("S_q", S_q, params)
    beta = float(bool(params.b1.abs().sum() > 0 or params.b2.abs().sum() > 0))
    z_p = torch.baddbmm(params.b1.unsqueeze(1), S_p, params.W1)
    z_q = torch.baddbmm(params.b1.unsqueeze(1), S_q, params.W1)
    h_p, h_q = z_p.clamp_min(0), z_q.clamp_min(0)
    m_p, m_q = (z_p > 0).to(S_p.dtype), (z_q > 0).to(S_q.dtype)
    n = params.W2.shape[-1]
    hh = h_p @ h_q.transpose(1, 2) + beta                            # (M, P, Q)
    ss = S_p @ S_q.transpose(1, 2) + beta
    both = torch.einsum("mpj,mqj,mjk,mjl->mpqkl", m_p, m_q, params.W2, params.W2)
    return hh[..., None, None] * torch.eye(n, dtype=S_p.dtype) + ss[..., None, None] * both


def switched_units(params: Params, S) -> torch.Tensor:
    """Share of hidden units that are on at one sum of a pair and off at the other.

    S (M, P, 2) -> (M, P, P). Exactly these units make ``J(s_p)`` and ``J(s_q)`` differ:
    0 means that the two sums lie in one region, where the network is one affine map."""
    m = active_units(params, S).to(torch.float64)
    H = m.shape[-1]
    return (m @ (1 - m).transpose(1, 2) + (1 - m) @ m.transpose(1, 2)) / H


def directed_angle(S) -> torch.Tensor:
    """``theta_q - theta_p`` in [-pi, pi) (directions, not lines): S (M, P, 2) -> (M, P, P)."""
    return angle_differences(S, full_angle=True)


def axial_angle(S) -> torch.Tensor:
    """``theta_q - theta_p`` folded to [-pi/2, pi/2) (lines, not directions): S (M, P, 2) -> (M, P, P)."""
    return angle_differences(S, full_angle=False)


# ---------------------------------------------------------------- the measured force law
DISTANCE_BINS = tuple(np.round(np.linspace(0.0, 4.0, 13), 6))     # in units of sigma
ANGLE_BINS = tuple(np.linspace(0.0, math.pi / 2, 10))               # |axial angle|, radians
FULL_ANGLE_BINS = tuple(np.linspace(0.0, math.pi, 13))              # |directed angle|, radians


@dataclass(frozen=True)
class ForceLaw:
    """The interaction between sums, measured in training without a form (:func:`force_law`).

    Attributes:
        table: DataFrame, one row per bin: ``kind`` ("distance" or "angle"), ``pair``
            ("same answer" or "different answer"), ``labels`` ("true" or "shuffled"),
            ``lo``, ``hi``, ``centre`` (distance in units of the window scale sigma;
            |axial angle| in radians), ``value`` (the fitted strength in that bin: > 0 a
            pull toward the partner, or a turn toward its line), ``ci_lo``, ``ci_hi`` (95%
            bootstrap interval over runs), ``count`` (interactions that fell in the bin).
            With ``full_angle`` the angle is the directed one, |theta_q - theta_p| in [0, pi],
            and a turn > 0 is toward the partner's *direction*.
        assumed: {labels: {"clustering": c, "repulsion": rho, "alignment": a}}: the same
            data fitted by the assumed forms: a pull ``c K(d)`` between same answers, a
            push ``rho K(d)`` between different answers (``K(d) = exp(-d^2/2)``, d in
            units of sigma), and a turn ``a sin(2 dtheta) / 2`` between same answers.
        r2: {labels: {"binned": ..., "assumed": ...}}: fraction of the symmetry-free pair
            gradients that each law explains, pooled over every run and step.
        runs, steps: how many runs and recorded steps (after 0) were pooled.
    """

    table: object
    assumed: dict
    r2: dict
    runs: int
    steps: int
    full_angle: bool = False

    def kernel(self, kind: str, pair: str = "same answer", labels: str = "true"):
        """The rows of ``table`` for one kind, pair relation and labelling."""
        t = self.table
        return t[(t.kind == kind) & (t.pair == pair) & (t.labels == labels)].reset_index(drop=True)

    def assumed_curve(self, kind: str, x, pair: str = "same answer", labels: str = "true") -> np.ndarray:
        """The fitted assumed form at x (distance / sigma, or |axial angle|), as a strength
        on the same scale as ``table.value`` (the push of different answers is a negative pull)."""
        x = np.asarray(x, dtype=float)
        a = self.assumed[labels]
        if kind == "distance":
            c = a["clustering"] if pair == "same answer" else -a["repulsion"]
            return c * np.exp(-x ** 2 / 2)
        if kind == "angle":
            return (a["alignment"] if pair == "same answer" else 0.0) * np.sin(2 * x) / 2
        raise ValueError(f"kind must be 'distance' or 'angle', got kind={kind!r}")

    def field(self, S, labels, weights, labels_kind: str = "true") -> torch.Tensor:
        """The force on every sum that the binned law gives: S (M, P, 2) -> (M, P, 2).

        Exactly the model the law was fitted with (:func:`force_law`), now used forwards:
        on sum p, over every other sum q, a pull ``k(d_pq / sigma) w_q (s_q - s_p) / sigma``
        (none beyond the last distance bin) and a turn ``a(|dtheta|) w_q (r_q / mean r)
        sign(dtheta) t_p``, with ``k`` and ``a`` the table's values for the pair's relation
        (same or different answer, ``labels``), ``w_q`` the weights scaled to mean 1 and
        sigma :func:`auto_sigma` from the true answers. ``labels_kind``: "true" or
        "shuffled", which of the two fitted laws. The overall size is the fit's (each
        step's gradient at unit mean square), so only relative sizes mean anything.
        Computed in the dtype of S. Our use of the measurement, not the paper's."""
        S = check_tensor("S", S, (3,))
        tables = self.tables(labels_kind, S.dtype)
        M, P, _ = S.shape
        labels = check_labels(labels, P)
        w = check_pair_weights(weights, M, P, S.dtype)
        sigma = auto_sigma(S, labels, weights=w)
        return binned_law(S, labels, w, sigma, tables)

    def tables(self, labels_kind: str = "true", dtype=torch.float64):
        """The law as :func:`modadd.forces.kernels.binned_law` looks it up, in ``dtype``
        (:func:`modadd.forces.kernels.law_tables`). ``labels_kind``: "true" or "shuffled"."""
        if labels_kind not in ("true", "shuffled"):
            raise ValueError(f"labels_kind must be 'true' or 'shuffled', got labels_kind={labels_kind!r}")
        out = []
        for kind in ("distance", "angle"):
            rows = [self.kernel(kind, pair, labels_kind) for pair in PAIRS]
            out += [np.append(rows[0].lo.to_numpy(), rows[0].hi.iloc[-1]), np.stack([r.value.to_numpy() for r in rows])]
        return law_tables(*out, self.full_angle, dtype)


PAIRS = ("same answer", "different answer")


def _symmetry_fields(S, bias: bool) -> torch.Tensor:
    """(T, 2P, 4 or 6): fields ``A s_p`` (and ``+ t`` with biases) that the first layer absorbs."""
    T, P, _ = S.shape
    X = torch.zeros(T, P, 2, 6 if bias else 4, dtype=S.dtype)
    X[:, :, 0, 0], X[:, :, 0, 1] = S[..., 0], S[..., 1]
    X[:, :, 1, 2], X[:, :, 1, 3] = S[..., 0], S[..., 1]
    if bias:
        X[:, :, 0, 4] = 1.0
        X[:, :, 1, 5] = 1.0
    return X.reshape(T, 2 * P, -1)


def _binned(values, keep, index, B):
    """Sum ``values`` (T, P, Q, 2) over q into B bins given by ``index`` (T, P, Q): (T, P, B, 2)."""
    T, P, Q, _ = values.shape
    idx = torch.where(keep, index, B).clamp(0, B)                       # B: dropped
    out = torch.zeros(T, P, B + 1, 2, dtype=values.dtype)
    out.scatter_add_(2, idx.unsqueeze(-1).expand(T, P, Q, 2), torch.where(keep.unsqueeze(-1), values, 0.0))
    return out[:, :, :B]


def _run_design(p: Params, cfg, labels_used, d_edges, a_edges, full_angle: bool = False):
    """Normal equations of one run, all its recorded steps (the models of ``p``) at once."""
    split = pair_weights(cfg)
    pairs, labels, w = split.pairs, split.labels, split.train_weights[0].double()
    T = p.E.shape[0]
    keep = w > 0
    S_all = sum_vectors(p.E, pairs)
    g = loss_and_grads(p, pairs, labels, w.expand(T, -1)).sum_grad
    sigma = auto_sigma(S_all, labels, weights=w.expand(T, -1))         # (T,), true answers
    y = -(g[:, keep] / w[keep, None])                                    # per-pair -dc_p/ds_p
    return _design(S_all[:, keep], y, labels_used[keep], w[keep] / w[keep].mean(), sigma,
                   cfg.model.bias, d_edges, a_edges, full_angle)


def _design(S, y, lab, wq, sigma, bias: bool, d_edges, a_edges, full_angle: bool = False):
    """Normal equations ``(X^T X, X^T y, y^T y, counts)`` for sums S (T, P, 2), targets y
    (T, P, 2), answers lab (P,), partner weights wq (P,) and window scales sigma (T,).

    Design columns: distance bins (same answer, then different answer), angle bins (same,
    different), then the assumed clustering, repulsion and alignment forms."""
    T, P, _ = S.shape
    D = S[:, None, :, :] - S[:, :, None, :]                              # D[t, p, q] = s_q - s_p
    dist = D.norm(dim=-1) / sigma[:, None, None]
    off = ~torch.eye(P, dtype=torch.bool)
    same_answer = lab[:, None] == lab[None, :]
    pull = D / sigma[:, None, None, None] * wq[None, None, :, None]
    r = S.norm(dim=-1)
    rq = (r / r.mean(-1, keepdim=True))[:, None, :].expand(T, P, P)
    dth = directed_angle(S) if full_angle else axial_angle(S)
    u = S / r.clamp_min(1e-300).unsqueeze(-1)
    tp = torch.stack([-u[..., 1], u[..., 0]], -1)[:, :, None, :].expand(T, P, P, 2)
    turn = (wq[None, None, :] * rq * torch.sign(dth)).unsqueeze(-1) * tp
    d_idx = bin_index(dist, torch.tensor(d_edges, dtype=dist.dtype)).long()         # -1 below, B at or past the edges
    a_idx = bin_index(dth.abs(), torch.tensor(a_edges, dtype=dist.dtype)).long()
    Bd, Ba = len(d_edges) - 1, len(a_edges) - 1
    a_idx = torch.where(dth.abs() == a_edges[-1], Ba - 1, a_idx)       # the last edge belongs to the last bin
    cols, counts = [], []
    for x, idx, B in ((pull, d_idx, Bd), (turn, a_idx, Ba)):
        for rel in (same_answer, ~same_answer):
            keep = (rel & off).expand(T, P, P) & (idx >= 0) & (idx < B)
            cols.append(_binned(x, keep, idx, B))
            counts.append(np.bincount(idx[keep].numpy(), minlength=B))
    K = torch.exp(-dist ** 2 / 2).unsqueeze(-1)
    same = (same_answer & off).unsqueeze(-1)
    diff = (~same_answer).unsqueeze(-1)
    cols.append(torch.where(same, pull * K, 0.0).sum(2, keepdim=True))          # clustering
    cols.append(-torch.where(diff, pull * K, 0.0).sum(2, keepdim=True))         # repulsion
    cols.append(torch.where(same, (wq[None, None, :] * rq * torch.sin(2 * dth) / 2).unsqueeze(-1) * tp, 0.0)
                .sum(2, keepdim=True))                                          # alignment
    X = torch.cat(cols, 2)                                               # (T, P, K, 2)
    X = X.permute(0, 1, 3, 2).reshape(T, 2 * P, -1)
    yf = y.reshape(T, 2 * P, 1)
    Z = _symmetry_fields(S, bias)
    proj = Z @ torch.linalg.pinv(Z)                                      # (T, 2P, 2P)
    X, yf = X - proj @ X, yf - proj @ yf
    yf = yf / yf.square().mean((1, 2), keepdim=True).sqrt().clamp_min(1e-300)   # every step weighs the same
    XtX = torch.einsum("tik,til->kl", X, X)
    Xty = torch.einsum("tik,ti->k", X, yf.squeeze(-1))
    return XtX.numpy(), Xty.numpy(), float(yf.square().sum()), np.concatenate(counts)


def _solve(XtX, Xty, cols):
    A = XtX[np.ix_(cols, cols)]
    return np.linalg.lstsq(A, Xty[cols], rcond=1e-12)[0]


def _r2(XtX, Xty, yty, cols, c):
    res = yty - 2 * c @ Xty[cols] + c @ XtX[np.ix_(cols, cols)] @ c
    return float(1 - res / yty)


def _law_args(history, runs, distance_bins, angle_bins, shuffle_seed, bootstrap, seed, full_angle):
    """:func:`force_law`'s arguments, checked: (runs, distance edges, angle edges)."""
    if not isinstance(history, History):
        raise ValueError(f"history must be a modadd.core.train.History, got {type(history).__name__}")
    history.params_at(0, 0)
    M = len(history.configs)
    runs = list(range(M)) if runs is None else list(runs)
    if not runs or not all(is_int(r) and 0 <= r < M for r in runs):
        raise ValueError(f"runs must be indices in [0, {M}), got {runs!r}")
    if len({history.configs[r].model.bias for r in runs}) != 1:
        raise ValueError("runs must all have biases or all have none (one family at a time)")
    check_bool("full_angle", full_angle)
    if angle_bins is None:
        angle_bins = FULL_ANGLE_BINS if full_angle else ANGLE_BINS
    d_edges = np.asarray(distance_bins, dtype=float)
    a_edges = np.asarray(angle_bins, dtype=float)
    a_top = (math.pi if full_angle else math.pi / 2) + 1e-9
    for name, e, top in (("distance_bins", d_edges, np.inf), ("angle_bins", a_edges, a_top)):
        if e.ndim != 1 or len(e) < 2 or not np.all(np.diff(e) > 0) or e[0] < 0 or e[-1] > top:
            raise ValueError(f"{name} must be >= 2 increasing edges in [0, {top:g}], got {e.tolist()}")
    check_non_negative_int("shuffle_seed", shuffle_seed)
    check_positive_int("bootstrap", bootstrap)
    check_non_negative_int("seed", seed)
    return runs, d_edges, a_edges


def force_law(history, runs=None, distance_bins=DISTANCE_BINS, angle_bins=None,
              shuffle_seed: int = 0, bootstrap: int = 200, seed: int = 0, full_angle: bool = False) -> ForceLaw:
    """Measure how sums act on each other in recorded training, without assuming a form.

    For every recorded step after 0 of the given runs, the target is each training pair's
    own negative gradient ``-dc_p/ds_p = -g_p / w_p`` (:func:`modadd.forces.pair_gradients`).
    It is modelled as a sum over the *other* training sums q of

    * a pull toward q, ``k(d_pq) w_q (s_q - s_p) / sigma``, with ``k`` constant in each
      bin of ``d_pq / sigma`` (``distance_bins``; sigma is :func:`auto_sigma` at that step);
    * a turn of ``s_p`` toward the line of q, ``a(|dtheta|) w_q (r_q / mean r) sign(dtheta) t_p``,
      ``a`` constant in each bin of the axial angle difference (``angle_bins``, in [0, pi/2]);

    with separate ``k`` and ``a`` for partners with the same answer and with a different
    one (the difference is what depends on the task), and ``w_q`` the training weights
    scaled to mean 1. One least-squares fit of all the bins together (so each bin is
    measured net of the others), pooled over steps and runs, after projecting out of target
    and columns what the first layer absorbs: a global linear map of the sums, and a global
    translation only for runs with biases. Each step's target is scaled to unit mean
    square, so every step weighs the same. The same fit with the answers shuffled
    (:func:`shuffled_labels`) is the baseline; the assumed forms (Gaussian window, ``sin(2
    dtheta) / 2``) are fitted to the same data for comparison. Intervals: 95% percentile
    bootstrap over runs (``bootstrap`` resamples, ``seed``).

    Args:
        history: a :class:`modadd.core.train.History` with parameters recorded.
        runs: indices of the runs to pool (default all); all must share ``bias``.
        distance_bins, angle_bins: increasing bin edges (>= 0; angles <= pi/2, or <= pi with
            ``full_angle``; default :data:`ANGLE_BINS`, or :data:`FULL_ANGLE_BINS`).
        full_angle: bin the turn by the *directed* angle difference in [0, pi] instead of
            the axial one in [0, pi/2], so that the law is measured without assuming that
            it acts on lines: a doubled-angle (axial) law turns a partner near pi away
            (toward its line's other end), a directional one turns it closer.
    Returns: :class:`ForceLaw`.
    """
    runs, d_edges, a_edges = _law_args(history, runs, distance_bins, angle_bins, shuffle_seed, bootstrap, seed,
                                       full_angle)
    Bd, Ba = len(d_edges) - 1, len(a_edges) - 1
    nb = 2 * (Bd + Ba)
    binned, assumed = list(range(nb)), [nb, nb + 1, nb + 2]
    spec = ([("distance", pair, d_edges, j) for pair in PAIRS for j in range(Bd)]
            + [("angle", pair, a_edges, j) for pair in PAIRS for j in range(Ba)])
    t_keep = np.nonzero(history.steps > 0)[0]
    boot = np.random.default_rng(seed).integers(0, len(runs), size=(bootstrap, len(runs)))
    rows, assumed_coef, r2 = [], {}, {}
    for kind in ("true", "shuffled"):
        per_run = []
        for r in runs:
            cfg = history.configs[r]
            p = Params(*(x[r, t_keep].double() for x in history.params.tensors()))
            lab = pair_weights(cfg).labels
            lab = lab if kind == "true" else shuffled_labels(lab, shuffle_seed)
            per_run.append(_run_design(p, cfg, lab, d_edges, a_edges, full_angle))
        XtX, Xty = sum(x[0] for x in per_run), sum(x[1] for x in per_run)
        yty, counts = sum(x[2] for x in per_run), sum(x[3] for x in per_run)
        c, ca = _solve(XtX, Xty, binned), _solve(XtX, Xty, assumed)
        bs = np.stack([_solve(sum(per_run[i][0] for i in b), sum(per_run[i][1] for i in b), binned)
                       for b in boot])
        lo, hi = percentile_interval(bs)
        assumed_coef[kind] = {"clustering": float(ca[0]), "repulsion": float(ca[1]), "alignment": float(ca[2])}
        r2[kind] = {"binned": _r2(XtX, Xty, yty, binned, c), "assumed": _r2(XtX, Xty, yty, assumed, ca)}
        for i, (k, pair, e, j) in enumerate(spec):
            rows.append(dict(kind=k, pair=pair, labels=kind, lo=e[j], hi=e[j + 1], centre=(e[j] + e[j + 1]) / 2,
                             value=c[i], ci_lo=lo[i], ci_hi=hi[i], count=int(counts[i])))
    return ForceLaw(table=pd.DataFrame(rows), assumed=assumed_coef, r2=r2, runs=len(runs), steps=len(t_keep),
                    full_angle=full_angle)


def hinge_switching(history, runs=None, t: int = -1, distance_bins=DISTANCE_BINS,
                    angle_bins=tuple(np.round(np.linspace(0.0, math.pi, 13), 6)), same_direction: float = 0.1):
    """How many ReLU hinges lie between two training sums, by their distance and by their angle.

    For every run and every two distinct training sums at recorded index ``t``: the share of
    hidden units switched between them (:func:`switched_units`), binned three ways: by
    distance (in units of :func:`auto_sigma`), by distance among pairs whose directions
    differ by less than ``same_direction`` radians, and by the angle between their
    directions (in [0, pi]). Returns a DataFrame with columns ``run, family, kind``
    ("distance", "distance, same direction", "angle"), ``lo, hi, centre, switched`` (mean
    share of units) and ``count``.
    """
    if not isinstance(history, History):
        raise ValueError(f"history must be a modadd.core.train.History, got {type(history).__name__}")
    M = len(history.configs)
    runs = list(range(M)) if runs is None else list(runs)
    if not runs or not all(is_int(r) and 0 <= r < M for r in runs):
        raise ValueError(f"runs must be indices in [0, {M}), got {runs!r}")
    rows = []
    for r in runs:
        cfg = history.configs[r]
        p = history.params_at(r, t)
        p = Params(*(x.double() for x in p.tensors()))
        split = pair_weights(cfg)
        w = split.train_weights.double()
        S_all = sum_vectors(p.E, split.pairs)
        sigma = auto_sigma(S_all, split.labels, weights=w)
        S = S_all[:, w[0] > 0]
        sw = switched_units(p, S)[0]
        dist = (torch.cdist(S[0], S[0]) / sigma[0])
        th = torch.atan2(S[0, :, 1], S[0, :, 0])
        ang = torch.remainder(th[None, :] - th[:, None] + math.pi, 2 * math.pi) - math.pi
        ang = ang.abs()
        off = ~torch.eye(S.shape[1], dtype=torch.bool)
        for kind, x, edges, sel in (("distance", dist, distance_bins, off),
                                    ("distance, same direction", dist, distance_bins, off & (ang < same_direction)),
                                    ("angle", ang, angle_bins, off)):
            e = np.asarray(edges, dtype=float)
            idx = np.digitize(x[sel].numpy(), e) - 1
            v = sw[sel].numpy()
            for j in range(len(e) - 1):
                m = idx == j
                rows.append(dict(run=r, family="biases" if cfg.model.bias else "no biases", kind=kind,
                                 lo=e[j], hi=e[j + 1], centre=(e[j] + e[j + 1]) / 2,
                                 switched=float(v[m].mean()) if m.any() else np.nan, count=int(m.sum())))
    return pd.DataFrame(rows)
