"""Same-answer sums under one force alone: where they come to rest, in closed form.

Chapter 4 opens on the simplest case of its forces: a few sums with the *same* answer, no
other sums, equal weights, moved by clustering alone or by alignment alone. Both forces are
sums of antisymmetric pair terms, so each conserves a quantity, and that quantity fixes
the resting state (**this book's own derivation**, not the paper's):

* **Clustering** (any window): ``sum_p s_p`` is conserved, and the only rest is all sums
  at one point, so they meet at their starting **centroid**.
* **Alignment**: the force is perpendicular to each sum, so every radius ``r_p`` stays
  fixed, and ``sum_p r_p^2 theta_p`` is conserved. At rest all sums lie on one line
  through the origin, at the angle ``theta* = sum_p r_p^2 theta_p / sum_p r_p^2`` (each
  sum keeping its radius, on its own side of the origin), with the angles read in one
  branch: when the doubled angles ``2 theta_p`` lie within a half turn, which this module
  checks.

:func:`resting_state` gives that closed form; :func:`flow_alone` integrates the force
itself (the unchecked kernels of :mod:`modadd.forces.kernels`, fourth-order Runge-Kutta),
so that the chapter can show the two agree.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..core.validate import check_choice, check_number, check_positive_int
from . import kernels

FORCES_ALONE = ("clustering", "alignment")


def _check_sums(S) -> np.ndarray:
    S = np.asarray(S, dtype=float) if not isinstance(S, (str, bytes)) else None
    if S is None or S.ndim != 2 or S.shape[1] != 2 or len(S) < 2 or not np.isfinite(S).all():
        raise ValueError(f"S must be a finite (U, 2) array of U >= 2 same-answer sums, got {S!r}")
    return S


def _branch(S: np.ndarray):
    """Radii and angles of S, the angles read in the branch around the axis of the doubled
    angles' r^2-weighted mean; raises unless the doubled angles lie within a half turn."""
    r = np.linalg.norm(S, axis=1)
    if (r == 0).any():
        raise ValueError("S must not hold a sum at the origin: its direction, and so alignment, is undefined there")
    theta = np.arctan2(S[:, 1], S[:, 0])
    axis = 0.5 * np.angle(np.sum(r ** 2 * np.exp(2j * theta)))
    rel = np.angle(np.exp(2j * (theta - axis))) / 2                  # in (-pi/2, pi/2]
    if np.ptp(2 * rel) >= math.pi:
        raise ValueError("the sums' doubled angles must lie within a half turn for the closed form "
                         f"(they span {np.ptp(2 * rel):.3f} rad)")
    return r, theta, axis + rel


def resting_state(S, force: str) -> np.ndarray:
    """Where same-answer sums S (U, 2) come to rest under ``force`` alone ("clustering" or
    "alignment"), in closed form (see the module docstring): (U, 2)."""
    S = _check_sums(S)
    check_choice("force", force, FORCES_ALONE)
    if force == "clustering":
        return np.repeat(S.mean(0, keepdims=True), len(S), axis=0)
    r, theta, branch = _branch(S)
    star = _axis(r, branch)
    side = np.cos(theta - branch)                                    # +1, or -1 on the far side
    return (r * np.sign(side))[:, None] * np.array([math.cos(star), math.sin(star)])


def resting_axis(S) -> float:
    """The angle ``theta*`` of the line on which alignment alone leaves the sums S (U, 2)."""
    r, _, branch = _branch(_check_sums(S))
    return _axis(r, branch)


def _axis(r: np.ndarray, branch: np.ndarray) -> float:
    """The conserved r^2-weighted mean angle, where alignment lines the sums up."""
    return float(np.sum(r ** 2 * branch) / np.sum(r ** 2))


def flow_alone(S, force: str, time: float = 10.0, steps: int = 400, sigma: float | None = None) -> np.ndarray:
    """The sums S (U, 2), all of one answer with equal weights, moved by ``force`` alone for
    ``time`` (in ``steps`` Runge-Kutta steps): (steps + 1, U, 2), the start first.
    ``sigma``: clustering's window width (None: no window); ignored by alignment."""
    S = _check_sums(S)
    check_choice("force", force, FORCES_ALONE)
    check_number("time", time, strict=True)
    check_positive_int("steps", steps)
    if sigma is not None:
        check_number("sigma", sigma, strict=True)
    labels = torch.zeros(len(S), dtype=torch.long)
    w = torch.ones(1, len(S), dtype=torch.float64)
    sig = None if sigma is None else torch.tensor([float(sigma)], dtype=torch.float64)

    def f(x):
        if force == "clustering":
            return kernels.clustering(x, labels, w, sig)
        return kernels.alignment(x, labels, w)

    h = time / steps
    x = torch.as_tensor(S, dtype=torch.float64)[None]
    out = [x[0].numpy().copy()]
    for _ in range(steps):
        k1 = f(x)
        k2 = f(x + h / 2 * k1)
        k3 = f(x + h / 2 * k2)
        k4 = f(x + h * k3)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(x[0].numpy().copy())
    return np.stack(out)
