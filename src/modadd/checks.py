"""Checkers for the book's implementation exercises.

Each ``check_*`` function takes the student's function, runs it on several inputs, and
compares with the answer computed by the book's own code. It prints either that every
case passed or exactly what differs (which input, what was expected, what came back),
and returns a :class:`CheckResult`. A function that still raises ``NotImplementedError``
is reported as "not yet", never as a crash, so a student notebook with unanswered
exercises still runs top to bottom.

Every report starts with a line ``[modadd check] NAME: passed|failed|not yet`` that the
grader (:mod:`modadd.classroom`) reads from a notebook's outputs.
"""
from __future__ import annotations

import math
import traceback
from dataclasses import dataclass

import numpy as np

MARK = "[modadd check]"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str          # "passed", "failed" or "not yet"
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __bool__(self):
        return self.passed


def _report(name: str, status: str, message: str) -> CheckResult:
    print(f"{MARK} {name}: {status}")
    print(message)
    return CheckResult(name, status, message)


def _run_cases(name: str, fn, cases, expected, same=None) -> CheckResult:
    """Call ``fn(*args)`` for each case and compare with ``expected(*args)``."""
    if not callable(fn):
        return _report(name, "failed", f"expected a function, got {type(fn).__name__}: {fn!r}")
    same = same or (lambda got, want: np.shape(got) == np.shape(want) and np.allclose(got, want, atol=1e-6))
    for i, (label, args) in enumerate(cases, 1):
        want = expected(*args)
        try:
            got = fn(*args)
        except NotImplementedError:
            return _report(name, "not yet", f"{name} still raises NotImplementedError: write your code "
                                             f"in place of it, then run this cell again.")
        except Exception as e:                       # the student's bug, reported, not raised
            tb = traceback.format_exception_only(type(e), e)[-1].strip()
            return _report(name, "failed", f"case {i} ({label}): your function raised {tb}")
        try:
            ok = same(got, want)
        except Exception:
            ok = False
        if not ok:
            shape = ""
            if np.shape(got) != np.shape(want):
                shape = f" (shape {np.shape(got)} instead of {np.shape(want)})"
            return _report(name, "failed", f"case {i} ({label}): expected {want!r}, got {got!r}{shape}")
    return _report(name, "passed", f"all {len(cases)} cases passed")


# ---------------------------------------------------------------- chapter 1
def _leak_reference(held_out, N):
    held = np.asarray(held_out, bool).reshape(N, N)
    return float((held & ~held.T).sum() / held.sum())


def check_leak_fraction(fn) -> CheckResult:
    """Chapter 1: ``leak_fraction(held_out, N)``, the share of held-out ordered pairs whose
    mirror ``(b, a)`` is not held out."""
    from .data import validation_mask

    rng = np.random.default_rng(1)
    cases = [("unordered split, N=17", (validation_mask(17, 0.3, 0).numpy(), 17)),
             ("naive ordered split, N=7", (rng.random(49) < 0.4, 7)),
             ("naive ordered split, N=17", (rng.random(289) < 0.2, 17)),
             ("only (0, 1) held out, N=5", (np.eye(1, 25, 1, dtype=bool).ravel(), 5))]
    return _run_cases("leak_fraction", fn, cases, _leak_reference,
                      same=lambda g, w: np.ndim(g) == 0 and math.isclose(float(g), w, abs_tol=1e-9))


# ---------------------------------------------------------------- chapter 2
def _count_reference(n, hidden, bias):
    total = n * 2 + 2 * hidden + hidden * n
    return total + (hidden + n if bias else 0)


def check_count_parameters(fn) -> CheckResult:
    """Chapter 2: ``count_parameters(n, hidden, bias)``, the number of *trainable*
    parameters (embeddings of dimension 2; biases count only when ``bias`` is True)."""
    cases = [(f"n={n}, hidden={h}, bias={b}", (n, h, b))
             for n, h, b in [(17, 64, True), (17, 64, False), (97, 64, True), (5, 3, False)]]
    return _run_cases("count_parameters", fn, cases, _count_reference,
                      same=lambda g, w: isinstance(g, (int, np.integer)) and int(g) == w)


# ---------------------------------------------------------------- chapter 3
def _circle(N, k, phase=0.3, radius=1.5, centre=(0.2, -0.1)):
    a = np.arange(N)
    th = 2 * np.pi * k * a / N + phase
    return np.stack([np.cos(th), np.sin(th)], 1) * radius + np.asarray(centre)


def check_pizza_answer(fn) -> CheckResult:
    """Chapter 3: ``pizza_answer(E, a, b, k)`` reads ``(a + b) mod N`` from the doubled angle
    of ``E_a + E_b`` (about the centre of the circle), for embeddings on a circle in the
    order ``k·a``; ``a`` and ``b`` are integer arrays."""
    cases = []
    for N, k, phase in [(17, 1, 0.0), (17, 5, 1.1), (13, 3, -2.0), (31, 7, 0.4)]:
        a, b = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
        cases.append((f"N={N}, k={k}, all pairs", (_circle(N, k, phase), a.ravel(), b.ravel(), k)))
    return _run_cases("pizza_answer", fn, cases, lambda E, a, b, k: (a + b) % len(E),
                      same=lambda g, w: np.shape(g) == np.shape(w) and np.array_equal(np.asarray(g), w))


# ---------------------------------------------------------------- chapter 4
def check_clustering_force(fn) -> CheckResult:
    """Chapter 4: ``clustering_force(S, labels, sigma)`` for one model: S (U, 2) sum vectors,
    labels (U,) answers; returns (U, 2), the windowed pull of each sum toward the sums with
    the same answer, ``f_p = sum_{q: y_q = y_p} exp(-|s_q - s_p|^2 / (2 sigma^2)) (s_q - s_p)``."""
    import torch

    from .forces import clustering_force

    def reference(S, labels, sigma):
        return clustering_force(torch.as_tensor(S)[None], torch.as_tensor(labels), sigma)[0].numpy()

    rng = np.random.default_rng(4)
    cases = []
    for U, k, sigma in [(6, 2, 1.0), (20, 5, 0.5), (45, 9, 2.0), (10, 10, 0.7)]:
        cases.append((f"{U} sums, {k} answers, sigma={sigma}",
                      (rng.normal(size=(U, 2)), rng.integers(0, k, U), sigma)))
    return _run_cases("clustering_force", fn, cases, reference)


# ---------------------------------------------------------------- chapter 5
def check_affine_gauge(fn) -> CheckResult:
    """Chapter 5: ``affine_gauge(E)`` for one system: E (n, 2) positions; returns (n, 2),
    ``(E - mean) C^{-1/2}`` with ``C`` the 2x2 covariance (divided by n) and ``C^{-1/2}`` its
    symmetric inverse square root, so the result has mean 0 and covariance the identity."""
    import torch

    from .particles import fix_gauge

    def reference(E):
        return fix_gauge(torch.as_tensor(E, dtype=torch.float64)[None], "affine")[0].numpy()

    rng = np.random.default_rng(5)
    stretched = rng.normal(size=(17, 2)) @ np.array([[3.0, 1.0], [0.0, 0.3]]) + [4.0, -2.0]
    cases = [("17 points, stretched and shifted", (stretched,)),
             ("a round cloud of 31 points", (rng.normal(size=(31, 2)),)),
             ("an ellipse of 13 points", (_circle(13, 1) * [2.0, 0.5],)),
             ("5 points, tilted", (rng.normal(size=(5, 2)) @ np.array([[1.0, 0.9], [0.9, 1.0]]),))]
    return _run_cases("affine_gauge", fn, cases, reference)


# ---------------------------------------------------------------- chapter 6
def check_relative_bias(fn) -> CheckResult:
    """Chapter 6: ``relative_bias(E, W1, b1, pairs)`` for one network: E (n, 2), W1 (2, H),
    b1 (H,), pairs (U, 2); returns ``RMS(b1) / RMS(s_p W1)``, the second RMS over all pairs
    ``p = (a, b)`` (``s_p = E_a + E_b``) and hidden units."""
    from .train import unordered_pairs

    def reference(E, W1, b1, pairs):
        pre = (E[pairs[:, 0]] + E[pairs[:, 1]]) @ W1
        return float(np.sqrt(np.mean(b1 ** 2)) / np.sqrt(np.mean(pre ** 2)))

    rng = np.random.default_rng(6)
    cases = []
    for n, H, scale in [(17, 64, 1.0), (5, 3, 0.1), (11, 8, 3.0)]:
        pairs = unordered_pairs(n)[0].numpy()
        cases.append((f"n={n}, H={H}, all unordered pairs",
                      (rng.normal(size=(n, 2)), rng.normal(size=(2, H)), scale * rng.normal(size=H), pairs)))
    cases.append(("n=7, H=4, a few ordered pairs",
                  (rng.normal(size=(7, 2)), rng.normal(size=(2, 4)), rng.normal(size=4),
                   np.array([[0, 1], [1, 0], [3, 3], [6, 2]]))))
    return _run_cases("relative_bias", fn, cases, reference,
                      same=lambda g, w: np.ndim(g) == 0 and math.isclose(float(g), w, rel_tol=1e-6))
