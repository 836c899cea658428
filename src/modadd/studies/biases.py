"""How much the biases weigh in the first layer: chapter 6's relative bias size.

The first layer computes ``h = ReLU(s W1 + b1)`` on a sum vector ``s = E_a + E_b``. With
``b1 = 0`` a unit's response only depends on the direction of ``s``, so the decision
regions are cones from the origin (chapter 2), which rewards alignment. How far a network
is from that is the size of the biases *relative to* the signal they are added to::

    rho = RMS(b1) / RMS(s_p W1)

the second RMS over the pairs ``p`` and the hidden units. ``rho = 0`` for a network
without biases; ``rho > 1`` means the biases outweigh the signal.

Chapter 6 asks whether rho *predicts* the structure a run ends in. Its initial value is set
by two scales: the embeddings' (``ModelConfig.embed_scale``) and the first-layer biases'
(:func:`bias_scaled_init` multiplies the seeded ``b1`` by a factor). :func:`fit_threshold`
fits the simplest model, "a circle when rho < t", on some runs, and :func:`held_out_check`
judges it on others, beside the base rate (always guessing the commoner outcome).
"""
from __future__ import annotations

import numpy as np
import torch

from dataclasses import dataclass

from ..analysis.stats import share
from ..core.data import unordered_pairs
from ..core.model import init_params
from ..core.train import RunConfig
from ..core.validate import check_instances, check_number, check_pairs, check_tensor

__all__ = ["relative_bias", "bias_scaled_init", "Threshold", "fit_threshold", "held_out_check"]

_AXES = (2, 3, 4, 5)     # one network, or runs, or runs x recorded steps, ...


def relative_bias(E, W1, b1, pairs=None):
    """``rho = RMS(b1) / RMS(s_p W1)`` of one network or of a batch of them.

    Args:
        E: embeddings (..., n, 2), e.g. (n, 2) for one network, or ``History.params.E``
            (M, T, n, 2) for M runs recorded at T steps.
        W1: first-layer weights (..., 2, H), the same leading axes as ``E``.
        b1: first-layer biases (..., H), or None for a network without biases (rho = 0).
        pairs: (U, 2) integer pairs ``(a, b)`` over which the signal's RMS is taken
            (default: every unordered pair ``a <= b`` of the n residues).

    Returns:
        rho over the leading axes, as a numpy array (a float for one network).
    """
    E = check_tensor("E", E, _AXES)
    W1 = check_tensor("W1", W1, _AXES, last=None)
    if W1.shape[:-2] != E.shape[:-2] or W1.shape[-2] != E.shape[-1]:
        raise ValueError(f"W1 must have shape (..., 2, H) with the leading axes of E {tuple(E.shape[:-2])}, "
                         f"got W1 of shape {tuple(W1.shape)}")
    n = E.shape[-2]
    if pairs is None:
        pairs = unordered_pairs(n)[0]
    pairs = torch.as_tensor(np.asarray(pairs)) if not isinstance(pairs, torch.Tensor) else pairs
    check_pairs(pairs, len(pairs), n)
    pre = (E[..., pairs[:, 0], :] + E[..., pairs[:, 1], :]) @ W1          # (..., U, H)
    rms_signal = pre.pow(2).mean((-2, -1)).sqrt()
    if b1 is None:
        rho = torch.zeros_like(rms_signal)
    else:
        b1 = check_tensor("b1", b1, (1,) + _AXES, last=W1.shape[-1])
        if b1.shape[:-1] != W1.shape[:-2]:
            raise ValueError(f"b1 must have shape (..., H) = {(*W1.shape[:-2], W1.shape[-1])} to match W1, "
                             f"got {tuple(b1.shape)}")
        rho = b1.pow(2).mean(-1).sqrt() / rms_signal
    rho = rho.detach().cpu().numpy()
    return float(rho) if rho.ndim == 0 else rho


def bias_scaled_init(configs, bias_scale):
    """The trainer's seeded initialisation of ``configs`` with each run's ``b1`` multiplied
    by its ``bias_scale``: a start for ``train(configs, init=...)``.

    Args:
        configs: a list of M :class:`modadd.core.train.RunConfig` (models with biases).
        bias_scale: one factor >= 0 for all runs, or one per run (1 keeps the seeded
            ``b1``; with the default "torch" init ``b1 ~ U(±scale/sqrt(2))``).

    Returns:
        :class:`modadd.core.model.Params` (M models). Only ``b1`` differs from
        :func:`modadd.core.model.init_params` of the same configs and seeds; ``b2`` is kept.
    """
    configs = check_instances("configs", configs, RunConfig)
    no_bias = [i for i, c in enumerate(configs) if not c.model.bias]
    if no_bias:
        raise ValueError(f"bias_scaled_init needs models with biases; run {no_bias[0]} has bias=False")
    scales = [bias_scale] * len(configs) if np.ndim(bias_scale) == 0 else list(bias_scale)
    if len(scales) != len(configs):
        raise ValueError(f"bias_scale must be one number or one per config ({len(configs)}), "
                         f"got {len(scales)} values")
    scales = [check_number("bias_scale", float(v) if isinstance(v, np.floating) else v) for v in scales]
    params = init_params([c.model for c in configs], [c.seed for c in configs])
    params.b1.mul_(torch.tensor(scales, dtype=params.b1.dtype).unsqueeze(1))
    return params


@dataclass(frozen=True)
class Threshold:
    """The model "a run ends as a circle when rho < threshold", fitted on some runs.

    ``threshold``: the cut (``inf``: always a circle; 0: never). ``fit_accuracy``: its
    share of right answers on the runs it was fitted on.
    """

    threshold: float
    fit_accuracy: float

    def predict(self, rho) -> np.ndarray:
        """True (a circle) where ``rho < threshold``."""
        return np.asarray(rho, dtype=float) < self.threshold


def _check_rho_outcome(rho, circle, name):
    rho = np.asarray(rho, dtype=float)
    circle = np.asarray(circle)
    if rho.ndim != 1 or len(rho) == 0 or not np.isfinite(rho).all() or (rho < 0).any():
        raise ValueError(f"{name} rho must be a non-empty 1-D array of finite values >= 0, got {rho!r}")
    if circle.shape != rho.shape or circle.dtype != bool:
        raise ValueError(f"{name} circle must be a boolean array of the shape of rho {rho.shape}, "
                         f"got {circle.dtype} of shape {circle.shape}")
    return rho, circle


def fit_threshold(rho, circle) -> Threshold:
    """The cut on rho that classifies the most runs right as "circle when rho < t".

    Args:
        rho: (R,) one value per run, >= 0.
        circle: (R,) booleans, whether each run ended as a circle.

    Candidate cuts are 0, every geometric midpoint between neighbouring distinct values
    (the arithmetic one next to 0), and ``inf``; among equally good cuts the middle one
    is taken, so the fit does not hug one side of a gap.
    """
    rho, circle = _check_rho_outcome(rho, circle, "fit_threshold:")
    v = np.unique(rho)
    mids = np.where(v[:-1] > 0, np.sqrt(v[:-1] * v[1:]), (v[:-1] + v[1:]) / 2)
    cuts = np.concatenate([[0.0], mids, [np.inf]])
    acc = np.array([((rho < t) == circle).mean() for t in cuts])
    best = np.flatnonzero(acc == acc.max())
    t = cuts[best[len(best) // 2]]
    return Threshold(float(t), float(acc.max()))


def held_out_check(rho_fit, circle_fit, rho_test, circle_test) -> dict:
    """Fit :func:`fit_threshold` on one set of runs and judge it on another.

    Returns a dict: ``threshold``, ``fit accuracy``, ``test runs``, ``test accuracy`` with
    its 95% Wilson ``test lo`` and ``test hi``, and ``base rate``: the test accuracy of
    always answering the outcome that was commoner among the fitted runs (a model of rho is
    worth something only above it).
    """
    rho_f, circ_f = _check_rho_outcome(rho_fit, circle_fit, "held_out_check: fitted")
    rho_t, circ_t = _check_rho_outcome(rho_test, circle_test, "held_out_check: test")
    model = fit_threshold(rho_f, circ_f)
    right = int((model.predict(rho_t) == circ_t).sum())
    accuracy, lo, hi = share(right, len(rho_t))
    majority = circ_f.mean() > 0.5
    return {"threshold": model.threshold, "fit accuracy": model.fit_accuracy, "test runs": len(rho_t),
            "test accuracy": accuracy, "test lo": lo, "test hi": hi,
            "base rate": float((circ_t == majority).mean())}
