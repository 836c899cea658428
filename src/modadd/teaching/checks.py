"""Checkers for the book's implementation exercises.

Each ``check_*`` function takes the student's function, runs it on several inputs, and
compares with the answer computed by the book's own code. It runs in one of two modes:

* **friendly** (the default; the chapters on the site and in Jupyter): it prints either that
  every case passed or exactly what differs (which input, what was expected, what came
  back), and returns a :class:`CheckResult`. A function that still raises
  ``NotImplementedError`` is reported as "not yet", never as a crash, so a chapter with
  unanswered exercises still runs top to bottom.
* **graded** (``graded=True``; the check cells of the student notebooks that
  :mod:`modadd.teaching.classroom` writes): it runs every case and earns one point per case that
  passes. An answer that earns nothing (unanswered, or wrong on every case) raises an
  ``AssertionError`` carrying the same message, so nbgrader, which gives a test cell its
  points unless it raises, scores it 0. An answer that earns something prints the same
  report and returns its points as a float: nbgrader reads that value as partial credit.

``hidden_seed=S`` replaces the cases printed in the chapter by cases drawn at random (from
the seed ``S``) from the same family; the student notebooks run them inside nbgrader's
hidden-tests markup, so a student cannot read them in the released notebook.

Every report starts with a line ``[modadd check] NAME: passed|failed|not yet``.
"""
from __future__ import annotations

import math
import traceback
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..core.data import unordered_pairs, validation_mask
from ..core.model import Params
from ..forces import clustering_force, fit_forces, switched_units
from ..particles import fix_gauge
from ..studies.biases import relative_bias

MARK = "[modadd check]"
HIDDEN_CASES = 4          # cases drawn for a hidden check (one point each)


class CheckFailed(AssertionError):
    """A graded check that earned nothing. Jupyter shows its message alone, without the
    traceback, whose lines would print the check cell's code (the hidden cases' seed) in the
    feedback a student reads."""

    def _render_traceback_(self):
        return [f"{type(self).__name__}: " + str(self).splitlines()[0], *str(self).splitlines()[1:]]


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str          # "passed", "failed" or "not yet"
    message: str
    cases_passed: int = 0
    cases: int = 0

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __bool__(self):
        return self.passed


@dataclass(frozen=True)
class _Check:
    name: str                                   # the student's function
    cases: Callable[[], list]                   # [(label, args), ...] printed in the chapter
    random_cases: Callable[[np.random.Generator, int], list]   # hidden ones, from a generator
    reference: Callable                         # the book's answer for args
    same: Callable | None = None                # same(got, want) -> bool


CHECKS: dict[str, _Check] = {}                  # check function name -> its definition


def _default_same(got, want):
    return np.shape(got) == np.shape(want) and np.allclose(got, want, atol=1e-6)


def case_count(check: str, hidden: bool = False) -> int:
    """How many cases (so points, in a graded cell) the checker ``check`` (e.g.
    ``"check_leak_fraction"``) runs: the chapter's cases, or the hidden ones."""
    if check not in CHECKS:
        raise ValueError(f"unknown checker {check!r}; known: {', '.join(sorted(CHECKS))}")
    return HIDDEN_CASES if hidden else len(CHECKS[check].cases())


def _one_case(check: _Check, fn, i, label, args, hidden=False):
    """Run case ``i``: None if it passed, else what differs. NotImplementedError propagates.
    A ``hidden`` case is named by its number only: no input, no expected value, no output
    (the feedback a student reads must not give the hidden cases away)."""
    want = check.reference(*args)
    try:
        got = fn(*args)
    except NotImplementedError:
        raise
    except Exception as e:                           # the student's bug, reported, not raised
        if hidden:
            return f"hidden case {i}: your function raised {type(e).__name__}"
        tb = traceback.format_exception_only(type(e), e)[-1].strip()
        return f"case {i} ({label}): your function raised {tb}"
    try:
        ok = (check.same or _default_same)(got, want)
    except Exception:
        ok = False
    if ok:
        return None
    if hidden:
        return f"hidden case {i}: your answer differs from the book's"
    shape = ""
    if np.shape(got) != np.shape(want):
        shape = f" (shape {np.shape(got)} instead of {np.shape(want)})"
    with np.printoptions(threshold=24, edgeitems=3):          # long arrays: their ends only
        return f"case {i} ({label}): expected {want!r}, got {got!r}{shape}"


def _evaluate(check: _Check, fn, hidden_seed) -> CheckResult:
    name = check.name
    hidden = hidden_seed is not None
    if not hidden:
        cases = check.cases()
    else:
        cases = check.random_cases(np.random.default_rng(hidden_seed), HIDDEN_CASES)
    if fn is None:                  # a graded cell passes globals().get(name): the answer cell did not define it
        return CheckResult(name, "failed", f"{name} is not defined: run the cell that defines it, and if that "
                                           "cell shows an error (a SyntaxError, say), fix it first", 0, len(cases))
    if not callable(fn):
        return CheckResult(name, "failed", f"expected a function, got {type(fn).__name__}: {fn!r}", 0, len(cases))
    failures = []
    for i, (label, args) in enumerate(cases, 1):
        try:
            failure = _one_case(check, fn, i, label, args, hidden)
        except NotImplementedError:
            return CheckResult(name, "not yet", f"{name} still raises NotImplementedError: write your code "
                                                f"in place of it, then run this cell again.", 0, len(cases))
        if failure:
            failures.append((i, failure))
    ok = len(cases) - len(failures)
    if not failures:
        return CheckResult(name, "passed", f"all {len(cases)} cases passed", ok, len(cases))
    message = failures[0][1]                                 # what differs, for the first failing case
    if len(failures) > 1:
        message += "\nalso failed: " + ", ".join(f"hidden case {j}" if hidden else f"case {j} ({cases[j - 1][0]})"
                                            for j, _ in failures[1:])
    message += f"\n{ok} of {len(cases)} cases passed"
    return CheckResult(name, "failed", message, ok, len(cases))


def _run(check: _Check, fn, graded, hidden_seed):
    if not isinstance(graded, bool):
        raise ValueError(f"graded must be True or False, got {graded!r}")
    if hidden_seed is not None and (isinstance(hidden_seed, bool) or not isinstance(hidden_seed, (int, np.integer))
                                    or hidden_seed < 0):
        raise ValueError(f"hidden_seed must be None or an integer >= 0, got {hidden_seed!r}")
    if not graded:
        r = _evaluate(check, fn, hidden_seed)
        print(f"{MARK} {r.name}: {r.status}")
        print(r.message)
        return r
    # graded: a warning the student's code raises would reach stderr, which nbgrader
    # counts as a failed cell; record warnings instead
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        try:
            r = _evaluate(check, fn, hidden_seed)
        except KeyboardInterrupt:         # the grader's timeout stopped the student's function
            raise CheckFailed(f"{MARK} {check.name}: stopped\nyour function was still running when the "
                              "time allowed for this cell ran out") from None
    if r.cases_passed == 0:
        raise CheckFailed(f"{MARK} {r.name}: {r.status}\n{r.message}")
    print(f"{MARK} {r.name}: {r.status}")
    print(r.message)
    points = "point" if r.cases_passed == 1 else "points"
    print(f"{r.cases_passed} {points} of {r.cases}")
    return float(r.cases_passed)


def _checker(check: _Check, doc: str):
    CHECKS["check_" + check.name] = check

    def run(fn, graded: bool = False, hidden_seed: int | None = None):
        return _run(check, fn, graded, hidden_seed)
    run.__name__ = run.__qualname__ = "check_" + check.name
    run.__doc__ = doc + ("\n\nFriendly by default (prints, returns a CheckResult); ``graded=True`` returns "
                         "the points (one per case passed) or raises AssertionError when there are none; "
                         "``hidden_seed`` runs cases drawn at random instead of the chapter's.")
    return run


def _is_number(g, w, **tol):
    return np.ndim(g) == 0 and math.isclose(float(g), w, **tol)


# ---------------------------------------------------------------- chapter 1
def _leak_reference(held_out, N):
    held = np.asarray(held_out, bool).reshape(N, N)
    return float((held & ~held.T).sum() / held.sum())


def _leak_cases():
    rng = np.random.default_rng(1)
    return [("unordered split, N=17", (validation_mask(17, 0.3, 0).numpy(), 17)),
            ("naive ordered split, N=7", (rng.random(49) < 0.4, 7)),
            ("naive ordered split, N=17", (rng.random(289) < 0.2, 17)),
            ("only (0, 1) held out, N=5", (np.eye(1, 25, 1, dtype=bool).ravel(), 5))]


def _leak_random(rng, count):
    out = []
    for i in range(count):
        N = int(rng.integers(3, 24))
        if i % 2:
            mask = validation_mask(N, 0.3, int(rng.integers(1000))).numpy()
            label = f"unordered split, N={N}"
        else:
            mask = rng.random(N * N) < rng.uniform(0.1, 0.6)
            mask[rng.integers(N * N)] = True                 # at least one pair held out
            label = f"naive ordered split, N={N}"
        out.append((label, (mask, N)))
    return out


check_leak_fraction = _checker(_Check(
    "leak_fraction", _leak_cases, _leak_random, _leak_reference,
    same=lambda g, w: _is_number(g, w, abs_tol=1e-9)),
    """Chapter 1: ``leak_fraction(held_out, N)``, the share of held-out ordered pairs whose
    mirror ``(b, a)`` is not held out.""")


# ---------------------------------------------------------------- chapter 2
def _count_reference(n, hidden, bias):
    total = n * 2 + 2 * hidden + hidden * n
    return total + (hidden + n if bias else 0)


def _count_cases():
    return [(f"n={n}, hidden={h}, bias={b}", (n, h, b))
            for n, h, b in [(17, 64, True), (17, 64, False), (97, 64, True), (5, 3, False)]]


def _count_random(rng, count):
    out = []
    for i in range(count):
        n, h, b = int(rng.integers(2, 200)), int(rng.integers(1, 257)), bool(i % 2)
        out.append((f"n={n}, hidden={h}, bias={b}", (n, h, b)))
    return out


check_count_parameters = _checker(_Check(
    "count_parameters", _count_cases, _count_random, _count_reference,
    same=lambda g, w: isinstance(g, (int, np.integer)) and not isinstance(g, bool) and int(g) == w),
    """Chapter 2: ``count_parameters(n, hidden, bias)``, the number of *trainable*
    parameters (embeddings of dimension 2; biases count only when ``bias`` is True).""")


# ---------------------------------------------------------------- chapter 3
def _circle(N, k, phase=0.3, radius=1.5, centre=(0.2, -0.1)):
    a = np.arange(N)
    th = 2 * np.pi * k * a / N + phase
    return np.stack([np.cos(th), np.sin(th)], 1) * radius + np.asarray(centre)


def _pizza_case(N, k, phase, reflected=False, **circle):
    """All pairs of a circle in the order ``k·a`` (``reflected``: clockwise, the order
    ``-k·a``, which the classifier also reports as ``k``)."""
    a, b = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    way = "clockwise" if reflected else "counter-clockwise"
    return (f"N={N}, k={k}, {way}, all pairs",
            (_circle(N, -k if reflected else k, phase, **circle), a.ravel(), b.ravel(), k))


def _pizza_cases():
    return [_pizza_case(N, k, phase, rev) for N, k, phase, rev in
            [(17, 1, 0.0, False), (17, 5, 1.1, False), (13, 3, -2.0, True), (31, 7, 0.4, True)]]


def _pizza_random(rng, count):
    primes = [5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41]
    out = []
    for i in range(count):
        N = int(rng.choice(primes))
        out.append(_pizza_case(N, int(rng.integers(1, N // 2 + 1)), float(rng.uniform(-np.pi, np.pi)),
                               reflected=bool(i % 2), radius=float(rng.uniform(0.5, 3.0)),
                               centre=tuple(rng.normal(size=2))))
    return out


check_pizza_answer = _checker(_Check(
    "pizza_answer", _pizza_cases, _pizza_random, lambda E, a, b, k: (a + b) % len(E),
    same=lambda g, w: np.shape(g) == np.shape(w) and np.array_equal(np.asarray(g), w)),
    """Chapter 3: ``pizza_answer(E, a, b, k)`` reads ``(a + b) mod N`` from the doubled angle
    of ``E_a + E_b`` (about the centre of the circle), for embeddings on a circle in the
    order ``k·a``, run either way round: counter-clockwise (angle ``θ_0 + 2πka/N``) or
    clockwise (``θ_0 - 2πka/N``), as :func:`modadd.analysis.structure.circle_score` reports ``k``
    for both; ``a`` and ``b`` are integer arrays.""")


# ---------------------------------------------------------------- chapter 4
def _clustering_reference(S, labels, sigma):
    return clustering_force(torch.as_tensor(S)[None], torch.as_tensor(labels), sigma)[0].numpy()


def _clustering_draw(rng, U, k, sigma):
    return (f"{U} sums, {k} answers, sigma={sigma}", (rng.normal(size=(U, 2)), rng.integers(0, k, U), sigma))


def _clustering_cases():
    rng = np.random.default_rng(4)
    return [_clustering_draw(rng, U, k, s) for U, k, s in [(6, 2, 1.0), (20, 5, 0.5), (45, 9, 2.0), (10, 10, 0.7)]]


def _clustering_random(rng, count):
    out = []
    for _ in range(count):
        U = int(rng.integers(2, 41))
        out.append(_clustering_draw(rng, U, int(rng.integers(1, U + 1)), round(float(rng.uniform(0.3, 3.0)), 2)))
    return out


check_clustering_force = _checker(_Check(
    "clustering_force", _clustering_cases, _clustering_random, _clustering_reference),
    """Chapter 4: ``clustering_force(S, labels, sigma)`` for one model: S (U, 2) sum vectors,
    labels (U,) answers; returns (U, 2), the windowed pull of each sum toward the sums with
    the same answer, ``f_p = sum_{q: y_q = y_p} exp(-|s_q - s_p|^2 / (2 sigma^2)) (s_q - s_p)``.""")


# ---------------------------------------------------------------- chapter 5
def _gauge_reference(E):
    return fix_gauge(torch.as_tensor(E, dtype=torch.float64)[None], "affine")[0].numpy()


def _gauge_cases():
    rng = np.random.default_rng(5)
    stretched = rng.normal(size=(17, 2)) @ np.array([[3.0, 1.0], [0.0, 0.3]]) + [4.0, -2.0]
    return [("17 points, stretched and shifted", (stretched,)),
            ("a round cloud of 31 points", (rng.normal(size=(31, 2)),)),
            ("an ellipse of 13 points", (_circle(13, 1) * [2.0, 0.5],)),
            ("5 points, tilted", (rng.normal(size=(5, 2)) @ np.array([[1.0, 0.9], [0.9, 1.0]]),))]


def _gauge_random(rng, count):
    out = []
    for _ in range(count):
        n = int(rng.integers(5, 41))
        A = rng.normal(size=(2, 2)) + 2 * np.eye(2)               # far from singular
        out.append((f"{n} points, sheared and shifted", (rng.normal(size=(n, 2)) @ A + rng.normal(size=2) * 3,)))
    return out


check_affine_gauge = _checker(_Check(
    "affine_gauge", _gauge_cases, _gauge_random, _gauge_reference),
    """Chapter 5: ``affine_gauge(E)`` for one system: E (n, 2) positions; returns (n, 2),
    ``(E - mean) C^{-1/2}`` with ``C`` the 2x2 covariance (divided by n) and ``C^{-1/2}`` its
    symmetric inverse square root, so the result has mean 0 and covariance the identity.""")


# ---------------------------------------------------------------- chapter 6
def _rho_reference(E, W1, b1, pairs):
    return relative_bias(E, W1, b1, pairs)


def _rho_draw(rng, n, H, scale):
    pairs = unordered_pairs(n)[0].numpy()
    return (f"n={n}, H={H}, all unordered pairs",
            (rng.normal(size=(n, 2)), rng.normal(size=(2, H)), scale * rng.normal(size=H), pairs))


def _rho_cases():
    rng = np.random.default_rng(6)
    cases = [_rho_draw(rng, n, H, scale) for n, H, scale in [(17, 64, 1.0), (5, 3, 0.1), (11, 8, 3.0)]]
    cases.append(("n=7, H=4, a few ordered pairs",
                  (rng.normal(size=(7, 2)), rng.normal(size=(2, 4)), rng.normal(size=4),
                   np.array([[0, 1], [1, 0], [3, 3], [6, 2]]))))
    return cases


def _rho_random(rng, count):
    return [_rho_draw(rng, int(rng.integers(3, 24)), int(rng.integers(2, 65)), float(rng.uniform(0.05, 3.0)))
            for _ in range(count)]


check_relative_bias = _checker(_Check(
    "relative_bias", _rho_cases, _rho_random, _rho_reference,
    same=lambda g, w: _is_number(g, w, rel_tol=1e-6)),
    """Chapter 6: ``relative_bias(E, W1, b1, pairs)`` for one network: E (n, 2), W1 (2, H),
    b1 (H,), pairs (U, 2); returns ``RMS(b1) / RMS(s_p W1)``, the second RMS over all pairs
    ``p = (a, b)`` (``s_p = E_a + E_b``) and hidden units.""")


# ---------------------------------------------------------------- the chain (07_rebuild)
def _switched_reference(S, W1, b1):
    W1, b1 = torch.as_tensor(W1, dtype=torch.float64), torch.as_tensor(b1, dtype=torch.float64)
    H = b1.shape[0]
    p = Params(torch.zeros(1, 1, 2, dtype=torch.float64), W1[None], b1[None],
               torch.zeros(1, H, 1, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64))
    return switched_units(p, torch.as_tensor(S, dtype=torch.float64)[None])[0].numpy()


def _switched_draw(rng, U, H, bias):
    S = rng.normal(size=(U, 2))
    b1 = rng.normal(size=H) if bias else np.zeros(H)
    return f"{U} sums, {H} units, {'with' if bias else 'without'} biases", (S, rng.normal(size=(2, H)), b1)


def _switched_cases():
    rng = np.random.default_rng(7)
    cases = [_switched_draw(rng, U, H, bias) for U, H, bias in [(12, 8, True), (9, 16, False), (20, 64, True)]]
    ray = np.outer([0.5, 1.0, 2.0, 4.0], [0.6, -0.8])                    # four sums on one ray
    cases.append(("four sums on one ray, no biases", (ray, rng.normal(size=(2, 5)), np.zeros(5))))
    return cases


def _switched_random(rng, count):
    return [_switched_draw(rng, int(rng.integers(3, 30)), int(rng.integers(1, 65)), bool(rng.integers(2)))
            for _ in range(count)]


check_switched_share = _checker(_Check(
    "switched_share", _switched_cases, _switched_random, _switched_reference),
    """Rebuild the methods: ``switched_share(S, W1, b1)``: S (U, 2) sums, W1 (2, H), b1 (H,);
    returns (U, U), the share of hidden units on (``s W1 + b1 > 0``) at one sum of a pair
    and off at the other: the ReLU hinges that lie between the two sums.""")


def _r2_reference(target, fields, E, shift):
    basis = {str(i): torch.as_tensor(f, dtype=torch.float64) for i, f in enumerate(fields)}
    return float(fit_forces(torch.as_tensor(target, dtype=torch.float64), basis,
                            torch.as_tensor(E, dtype=torch.float64), remove_affine=True, shift=shift).r2[0])


def _r2_draw(rng, n, K, shift, signal):
    E = rng.normal(size=(n, 2))
    fields = [rng.normal(size=(n, 2)) for _ in range(K)]
    A, t = rng.normal(size=(2, 2)), rng.normal(size=2) * shift
    target = sum(rng.normal() * f for f in fields) * signal + E @ A + t + rng.normal(size=(n, 2))
    return f"n={n}, {K} field{'s' if K > 1 else ''}, {'affine' if shift else 'linear'} part removed", \
        (target, fields, E, shift)


def _r2_cases():
    rng = np.random.default_rng(8)
    cases = [_r2_draw(rng, n, K, shift, signal) for n, K, shift, signal in
             [(17, 2, True, 3.0), (17, 1, False, 2.0), (31, 3, True, 0.5)]]
    E = rng.normal(size=(9, 2))
    cases.append(("a target that is all affine: nothing left to explain",
                  (E @ np.array([[1.0, 2.0], [0.5, -1.0]]) + [3.0, 1.0], [rng.normal(size=(9, 2))], E, True)))
    return cases


def _r2_random(rng, count):
    return [_r2_draw(rng, int(rng.integers(7, 40)), int(rng.integers(1, 4)), bool(rng.integers(2)),
                     float(rng.uniform(0.2, 4.0))) for _ in range(count)]


check_symmetry_free_r2 = _checker(_Check(
    "symmetry_free_r2", _r2_cases, _r2_random, _r2_reference,
    same=lambda g, w: _is_number(g, w, rel_tol=1e-6, abs_tol=1e-9)),
    """Rebuild the methods: ``symmetry_free_r2(target, fields, E, shift)``: target (n, 2), fields
    a list of (n, 2) force fields, E (n, 2) the embeddings, shift a bool; removes from the
    target and from every field its least-squares part ``A E_a`` (plus ``t`` when shift), fits
    the target by the fields (least squares, no intercept) and returns the uncentred R^2,
    ``1 - |y - fit|^2 / |y|^2`` (0 when nothing is left of the target).""")


def _orders_reference(k_start, k_net, k_part):
    k_start, k_net, k_part = (np.asarray(k) for k in (k_start, k_net, k_part))
    both = (k_net > 0) & (k_part > 0)
    left = both & (k_net != k_start)
    return (float(np.mean(k_part[both] == k_net[both])), float(np.mean(k_start[both] == k_net[both])),
            float(np.mean(k_part[left] == k_net[left])))


def _orders_draw(rng, R, keep, follow):
    k_start = rng.integers(1, 9, size=R)
    k_net = np.where(rng.random(R) < keep, k_start, rng.integers(1, 9, size=R))
    k_part = np.where(rng.random(R) < follow, k_net, rng.integers(1, 9, size=R))
    k_net[rng.random(R) < 0.2] = 0                                      # some networks end as no circle
    k_part[rng.random(R) < 0.2] = 0
    k_net[:2], k_part[:2], k_start[:2] = [3, 5], [3, 4], [1, 2]          # both circles, one left its start
    return f"{R} seeds", (k_start, k_net, k_part)


def _orders_cases():
    rng = np.random.default_rng(9)
    cases = [_orders_draw(rng, R, keep, follow) for R, keep, follow in [(32, 0.6, 0.5), (12, 0.2, 0.9), (64, 0.8, 0.1)]]
    cases.append(("4 seeds by hand", (np.array([2, 2, 5, 7]), np.array([2, 3, 5, 0]), np.array([2, 3, 1, 7]))))
    return cases


def _orders_random(rng, count):
    return [_orders_draw(rng, int(rng.integers(6, 80)), float(rng.random()), float(rng.random()))
            for _ in range(count)]


def _same_orders(got, want):
    return len(got) == 3 and all(_is_number(g, w, rel_tol=1e-9, abs_tol=1e-12) for g, w in zip(got, want))


check_order_agreement = _checker(_Check(
    "order_agreement", _orders_cases, _orders_random, _orders_reference, same=_same_orders),
    """Rebuild the methods: ``order_agreement(k_start, k_net, k_part)``: three (R,) integer
    arrays, one entry per seed, the circle order of the start's best fit, of the network and of
    the particles (0: not a circle). Over the seeds where the network and the particles both
    end as circles, returns three shares: the particles' order equals the network's; the
    start's equals the network's (the baseline); and, among those where the network's differs
    from the start's, the particles' equals the network's.""")
