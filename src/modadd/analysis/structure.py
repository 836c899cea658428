"""Is a trained embedding a circle, a grid, or neither? Two scores and a classifier.

A 2-D embedding ``E`` (shape ``(n, 2)``, row ``a`` = the point of residue ``a``) that
solves ``a + b mod n`` tends to take one of two shapes:

* a **circle**: the points sit on a circle, in the angular order ``k·a mod n`` for some
  ``k`` coprime to ``n`` (then ``E_a + E_b`` determines the angle ``2πk(a+b)/n``);
* a **grid**: the points sit on a 2-D lattice, ``E_a = t + z_a1·b1 + z_a2·b2`` with integer
  ``z_a``, *and* the lattice coordinates are consistent with the arithmetic,
  ``a ≡ p·z_a1 + q·z_a2 + r (mod n)``, so equal lattice sums ``z_a + z_b`` imply equal
  answers ``a + b``. A line of equally spaced points is the 1-D case.

:func:`circle_score` and :func:`grid_score` each return a number in [0, 1] (1 = exact) with
the fit that produced it; :func:`classify` thresholds them. Every score is invariant to
translating, rotating, reflecting and uniformly scaling ``E``, and to relabelling
``a -> k·a mod n`` with ``k`` coprime to ``n`` (which maps a circle to a circle and a
consistent lattice to a consistent lattice). The fits compute in numpy.
"""
from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass

import numpy as np

from ..cache import store
from ..core.validate import check_number

CIRCLE_THRESHOLD = 0.85
"""Default :func:`classify` threshold on :func:`circle_score`.

The score is ``radial * order``. Relative radial noise and angular noise (radians) of sd
``s`` cost about ``s``: over 500 seeds and n = 17..97, s = 5% scores 0.93-0.98, 10%
0.86-0.95, 30% 0.54-0.84 (15% straddles the threshold); random clouds score 0.1-0.45.
0.85 thus accepts up to ~10% noise and rejects 30% without exception. An ellipse
with axis ratio 0.7 scores 0.87 (a circle), with ratio 0.6 0.81 (not).
"""

GRID_THRESHOLD = 0.6
"""Default :func:`classify` threshold on :func:`grid_score`.

The score is ``fit * consistency`` with ``fit = 1 - 2·residual`` (residual in units of the
lattice's shortest vector). An exact consistent lattice scores 1; with noise of sd 5% of
the spacing per coordinate 0.83-0.90, 10% about 0.67-0.83 (n = 17..97). Random clouds
score at most 0.25 and lattices with shuffled labels at most 0.47 (n = 17, 200 seeds;
less for larger n), since few of their points obey one rule ``a ≡ p z1 + q z2 + r``.

Small n is a weak test: consistency moves in steps of 1/n and with few points many
labellings are affine by chance. For n = 5 or 7, random clouds can reach 0.9 or 0.66.
"""

CLASSES = ("circle", "grid", "other")

_MAX_CANDIDATES = 8   # shortest distinct difference vectors tried as lattice vectors
_MIN_SIN = 0.3        # a candidate pair must not be nearer parallel than this (|sin angle|)
_DEDUP_TOL = 0.3      # v duplicates u if within this many nearest-neighbour distances of k·u
_REFINE = 5           # mean-shift steps refining each candidate vector
_ROUNDS = 5           # at most this many round -> refit steps (stop when z is stable)


# ---------------------------------------------------------------------------- input


def check_embedding(E) -> np.ndarray:
    """Return ``E`` as a float64 ``(n, 2)`` array, or raise ``ValueError`` saying what is wrong.

    Accepts anything ``np.asarray`` turns into a real numeric array (lists, numpy arrays,
    CPU torch tensors without grad). Rejects: a shape other than ``(n, 2)``; ``n < 3``;
    NaN or inf entries; zero spread (all points identical, up to rounding), since neither
    a circle nor a lattice is defined then.
    """
    if isinstance(E, (str, bytes)) or E is None:
        raise ValueError(f"E must be an (n, 2) array of numbers, got {type(E).__name__} {E!r:.40}")
    try:
        arr = np.asarray(E)
    except Exception as exc:  # ragged lists, tensors that require grad, ...
        raise ValueError(f"E must be an (n, 2) array of numbers; np.asarray failed on "
                         f"{type(E).__name__}: {exc}") from None
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"E must be an (n, 2) array of real numbers, got dtype {arr.dtype} "
                         f"(from {type(E).__name__})")
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"E must have shape (n, 2) (one 2-D point per residue), got shape {arr.shape}")
    n = arr.shape[0]
    if n < 3:
        raise ValueError(f"E needs n >= 3 points (residues), got n={n}")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise ValueError(f"E contains NaN or inf, in rows {np.flatnonzero(bad)[:10].tolist()}")
    big = np.abs(arr).max()
    dev = (arr - arr.mean(axis=0)) / big if big > 0 else arr   # /big: no underflow at 1e-200
    if np.abs(dev).max() <= 1e-12:
        raise ValueError("E has zero spread: all points are identical (up to rounding), so "
                         "it has no shape to score")
    return arr


def _normalise(E: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Centre ``E`` and scale it to RMS distance 1 from the centre: ``(X, centre, scale)``."""
    centre = E.mean(axis=0)
    X = E - centre
    big = np.abs(X).max()                                      # > 0 after check_embedding
    scale = big * float(np.sqrt(((X / big) ** 2).sum(axis=1).mean()))
    return X / scale, centre, scale


# ---------------------------------------------------------------------------- circle


@dataclass(frozen=True)
class CircleFit:
    """How well ``E`` is a circle traversed in the order ``k·a mod n``.

    ``score = radial * order``, in [0, 1], 1 for an exact circle in order ``k``.
    ``radial = max(0, 1 - std(r)/mean(r))`` with ``r_a`` the distance of point ``a`` from the
    centroid; ``order = |mean_a exp(i(φ_a - 2πka/n))|`` for the best ``k`` (and
    direction), with ``φ_a`` the angle of point ``a`` about the centroid. ``k`` is reported
    in ``1..n//2``: ``k`` and ``n - k`` are the same circle run the other way round.
    ``centre`` (2,) and ``radius`` (the mean of ``r``) are in the units of ``E``.
    """

    score: float
    k: int
    radial: float
    order: float
    centre: np.ndarray
    radius: float


def _coprimes(n: int) -> np.ndarray:
    """The ``k`` in ``1..n//2`` with gcd(k, n) = 1; ``k`` and ``n - k`` are mirror images."""
    return np.array([k for k in range(1, n // 2 + 1) if math.gcd(k, n) == 1])


def circle_score(E) -> CircleFit:
    """Score how well the points of ``E`` (n, 2) lie on a circle in order ``k·a mod n``.

    Centre on the centroid, take polar coordinates ``(r_a, φ_a)``; ``radial`` says how
    equal the radii are, ``order`` how well the angles follow ``φ_a ≈ φ_0 ± 2πka/n`` for
    the best ``k`` coprime to ``n`` (only those visit every point once) and direction
    ``±`` (a reflection). ``order`` is the length of the mean of the unit vectors
    ``exp(i(±φ_a - 2πka/n))``: 1 when the angles are exactly right whatever ``φ_0``, about
    ``1/sqrt(n)`` for random angles. A point at the centre (r < 1e-9 mean r) has no angle
    and adds 0 to that mean. See :class:`CircleFit`.
    """
    E = check_embedding(E)
    n = len(E)
    X, centre, scale = _normalise(E)
    r = np.hypot(X[:, 0], X[:, 1])
    radial = max(0.0, 1.0 - float(r.std() / r.mean()))
    # Unit phasors exp(iφ_a), (n,). A point at the centre has no angle: it adds 0.
    u = np.where(r > 1e-9 * r.mean(), (X[:, 0] + 1j * X[:, 1]) / np.maximum(r, 1e-300), 0)
    ks = _coprimes(n)
    w = np.exp(-2j * np.pi * np.outer(ks, np.arange(n)) / n)        # (K, n)
    # Reflection φ -> -φ turns order k into order n - k, so both signs = both k, n - k.
    # (Elementwise sums, not ``w @ u``: a threaded BLAS call is slower at this size.)
    order_k = np.maximum(np.abs((w * u).sum(1)), np.abs((w * u.conj()).sum(1))) / n  # (K,)
    best = int(np.argmax(order_k))
    order = float(min(1.0, order_k[best]))
    return CircleFit(score=radial * order, k=int(ks[best]), radial=radial, order=order,
                     centre=_frozen(centre), radius=float(r.mean() * scale))


# ---------------------------------------------------------------------------- grid


@dataclass(frozen=True)
class GridFit:
    """How well ``E`` is a lattice whose coordinates are consistent with addition mod n.

    ``E_a ≈ offset + z[a] @ basis`` with ``basis`` (2, 2) (rows = lattice vectors, units of
    ``E``) and integer ``z`` (n, 2). A 1-D lattice (a line of equally spaced points) has
    ``basis[1] = 0``, ``z[:, 1] = 0`` and ``q = 0``.

    ``fit = max(0, 1 - 2·residual)``, where ``residual`` is the RMS distance of the points
    from their lattice sites divided by the lattice's shortest vector: 1 for points exactly
    on the sites, 0 at half a spacing (points rounded onto a lattice much finer than their
    own spacing, which fits anything, have residual ~0.4).
    ``consistency`` is the largest fraction of residues with ``a ≡ p·z_a1 + q·z_a2 + r
    (mod n)`` for one ``(p, q, r)``; ``pqr`` is that triple. ``score = fit * consistency``.
    """

    score: float
    basis: np.ndarray
    z: np.ndarray
    pqr: tuple[int, int, int]
    fit: float
    consistency: float
    offset: np.ndarray
    residual: float

    @property
    def lines(self) -> int:
        """The fewest parallel lattice lines that hold every point: 1 for points on one
        line, 2 for a line plus points on one parallel line, about sqrt(n) for a square
        patch of a 2-D lattice. Tries every lattice direction ``(u1, u2)`` with
        ``|u1|, |u2| <= 3``; a line in direction ``u`` is a value of ``u2 z1 - u1 z2``."""
        z = np.asarray(self.z)
        best = len(z)
        for u1 in range(-3, 4):
            for u2 in range(0, 4):
                if (u2 > 0 or u1 > 0) and math.gcd(u1, u2) == 1:
                    best = min(best, len(np.unique(u2 * z[:, 0] - u1 * z[:, 1])))
        return best


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.setflags(write=False)
    return a


def _shortest_vectors(B: np.ndarray) -> np.ndarray:
    """(k,) lengths of the shortest nonzero vectors of the 2-D lattices with basis rows
    ``B[j]`` (k, 2, 2): Lagrange-Gauss reduction, all at once; a zero second row means a 1-D
    lattice."""
    b1, b2 = B[:, 0].copy(), B[:, 1].copy()
    one_d = ~b2.any(1)
    out = np.hypot(b1[:, 0], b1[:, 1])
    live = ~one_d
    for _ in range(100):
        if not live.any():
            break
        swap = live & ((b1 * b1).sum(1) > (b2 * b2).sum(1))
        b1[swap], b2[swap] = b2[swap], b1[swap].copy()
        mu = np.where(live, np.rint((b1 * b2).sum(1) / np.where(live, (b1 * b1).sum(1), 1.0)), 0.0)
        live &= mu != 0
        b2 -= mu[:, None] * b1
    return np.where(one_d, out, np.sqrt(np.minimum((b1 * b1).sum(1), (b2 * b2).sum(1))))


def _near_multiples(d: np.ndarray, u: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """For the rows of ``d`` (m, 2): the nearest integer multiple ``k`` of ``u`` (m,), and
    whether the row is within ``tol`` of ``k·u`` with ``k != 0`` (m,) bool."""
    k = np.rint(d @ u / float(u @ u))
    off = d - k[:, None] * u
    return k, (k != 0) & (np.einsum("ij,ij->i", off, off) <= tol * tol)


def _near_multiple(v: np.ndarray, u: np.ndarray, tol: float) -> bool:
    """Whether ``v`` (2,) is within ``tol`` of a nonzero multiple of ``u`` (or ``-v`` is: the
    same test), :func:`_near_multiples` for one row in plain floats (cheaper at this size)."""
    v0, v1, u0, u1 = float(v[0]), float(v[1]), float(u[0]), float(u[1])
    k = round((v0 * u0 + v1 * u1) / (u0 * u0 + u1 * u1))
    return k != 0 and (v0 - k * u0) ** 2 + (v1 - k * u1) ** 2 <= tol * tol


def _candidate_vectors(X: np.ndarray) -> np.ndarray:
    """Up to 8 short difference vectors ``X_j - X_i``, distinct up to sign and multiples.

    Differences shorter than a quarter of the median nearest-neighbour distance ``s``
    count as zero (near-duplicate points would otherwise propose a uselessly fine
    lattice). Taking the shortest remaining difference, the vector is refined as the mean
    of the differences within ``0.3 s`` of it or its negative (repeated, so that a
    difference shortened by noise does not bias it), then by least squares over all
    differences within ``0.3 s`` of a multiple of it (long multiples pin down its
    direction, which keeps far lattice sites from being misrounded). Those differences
    are then dropped, and a vector that is near a multiple of an earlier one (or has one
    as a near multiple) is not kept: it only spans a sub- or superlattice on the same line.
    Returns (m, 2), m <= 8.
    """
    n = len(X)
    i, j = np.triu_indices(n, 1)
    d = X[j] - X[i]                                             # (n(n-1)/2, 2)
    length = np.hypot(d[:, 0], d[:, 1])
    dist = np.full((n, n), np.inf)
    dist[i, j] = dist[j, i] = length
    nn = float(np.median(dist.min(axis=1)))
    tol = max(_DEDUP_TOL * nn, 1e-9)
    keep = length > max(0.25 * nn, 1e-9)
    d, length = d[keep], length[keep]
    d = d[np.argsort(length, kind="stable")]
    out = []
    while len(out) < _MAX_CANDIDATES and len(d):
        u = d[0]
        for step in range(_REFINE):                             # mean shift over k = ±1
            k, near = _near_multiples(d, u, tol)
            near &= np.abs(k) == 1
            if not near.any():
                break
            u_new = (k[near] @ d[near]) / near.sum()
            if step > 0 and np.allclose(u_new, u, rtol=0, atol=1e-12):
                break
            u = u_new
        k, near = _near_multiples(d, u, tol)                    # least squares over all k
        if near.any():
            u = (k[near] @ d[near]) / float(k[near] @ k[near])
        k, near = _near_multiples(d, u, tol)
        near[0] = True                                          # always make progress
        d = d[~near]
        same_line = any(_near_multiple(u, w, tol) or _near_multiple(w, u, tol) for w in out)
        if not same_line:
            out.append(u)
    return np.array(out).reshape(-1, 2)


def _lattice_fits(X: np.ndarray, bases: np.ndarray) -> list:
    """Round ``X`` (n, 2) onto the lattices ``t + z @ B`` and refit ``t, B`` by least squares,
    for m starting bases ``bases`` (m, dim, 2) at once, each from ``t = X[0]``.

    ``dim`` is 2 for 2-D lattices, 1 for 1-D ones. Repeats round -> refit until the rounding
    no longer changes (at most 5 times). The refit solves the normal equations of ``D = [1, z]``
    once :func:`_spans` (exact, in integers) says that the points pin down a lattice of
    that dimension (not all on one site or one line of sites).
    Returns one entry per basis: ``(z, B, t, residual)`` with ``z`` (n, 2) int (second
    column zero in 1-D), ``B`` (2, 2) and ``residual`` the RMS distance from the sites over
    the shortest lattice vector; or ``None`` where the points do not pin down a lattice or
    the refit basis collapses to near-parallel vectors."""
    m, dim = bases.shape[:2]
    n = len(X)
    B = bases.astype(np.float64).copy()
    t = np.repeat(X[:1], m, 0)
    z_old = np.full((m, n, dim), np.nan)
    live, ok = np.ones(m, dtype=bool), np.ones(m, dtype=bool)
    for _ in range(_ROUNDS):
        i = np.flatnonzero(live)
        if not len(i):
            break
        Y = X[None] - t[i, None, :]                                      # (k, n, 2)
        if dim == 2:
            z = np.rint(Y @ np.linalg.inv(B[i]))
        else:
            u = B[i, 0]
            z = np.rint((Y @ u[:, :, None])[..., 0] / (u * u).sum(1)[:, None])[..., None]
        stable = (z == z_old[i]).all((1, 2))                             # t, B already fit this z
        live[i[stable]] = False
        i, z = i[~stable], z[~stable]
        singular = ~_spans(z)
        ok[i[singular]] = live[i[singular]] = False
        i, z = i[~singular], z[~singular]
        D = np.concatenate([np.ones(z.shape[:2] + (1,)), z], 2)          # (k, n, 1 + dim)
        coef = np.linalg.solve(D.transpose(0, 2, 1) @ D, D.transpose(0, 2, 1) @ X)   # (k, 1 + dim, 2)
        t[i], B[i], z_old[i] = coef[:, 0], coef[:, 1:], z
        if dim == 2:
            Bi = B[i]
            flat = np.abs(np.linalg.det(Bi)) < 0.05 * np.prod(np.linalg.norm(Bi, axis=2), axis=1)
            ok[i[flat]] = live[i[flat]] = False
    out = [None] * m
    i = np.flatnonzero(ok)
    if not len(i):
        return out
    B2 = B[i] if dim == 2 else np.concatenate([B[i], np.zeros_like(B[i])], 1)      # (k, 2, 2)
    z = z_old[i] if dim == 2 else np.concatenate([z_old[i], np.zeros_like(z_old[i])], 2)
    resid = X[None] - (t[i, None, :] + z @ B2)
    residual = np.sqrt((resid ** 2).sum(2).mean(1)) / _shortest_vectors(B2)
    for j, k in enumerate(i):
        out[k] = (z[j].astype(np.int64), B2[j], t[k], float(residual[j]))
    return out


def _spans(z: np.ndarray) -> np.ndarray:
    """(k,) whether the integer sites ``z`` (k, n, dim) pin down a lattice of dimension dim:
    not all on one site (dim 1), not all on one line (dim 2). Exact, in integers: then the
    least-squares refit ``[1, z]`` has full rank."""
    d = (z - z[:, :1]).astype(np.int64)                                  # (k, n, dim)
    if z.shape[2] == 1:
        return d.any((1, 2))
    first = d[np.arange(len(d)), np.argmax(d.any(2), 1)]                 # a site other than the first
    return (d[..., 0] * first[:, None, 1] - d[..., 1] * first[:, None, 0]).any(1)


def _consistency(z: np.ndarray, n: int) -> tuple[float, tuple[int, int, int]]:
    """Best fraction of residues ``a`` with ``a ≡ p z_a1 + q z_a2 + r (mod n)``, and ``(p, q, r)``.

    Tries every ``(p, q)`` in ``Z_n²`` (``p = 0`` or ``q = 0`` only, when that coordinate is
    constant); for each, ``r`` is the most common value of ``a - p z_a1 - q z_a2``.
    Ties go to the smallest ``p``, then ``q``, then ``r``.
    """
    a = np.arange(n)
    zm = np.mod(z, n)
    ps = np.arange(n) if np.ptp(zm[:, 0]) else np.zeros(1, dtype=np.int64)
    qs = np.arange(n) if np.ptp(zm[:, 1]) else np.zeros(1, dtype=np.int64)
    P, Q = np.repeat(ps, len(qs)), np.tile(qs, len(ps))                 # (m,)
    v = (a[None, :] - P[:, None] * zm[None, :, 0] - Q[:, None] * zm[None, :, 1]) % n  # (m, n)
    counts = np.bincount((np.arange(len(P))[:, None] * n + v).ravel(), minlength=len(P) * n)
    counts = counts.reshape(len(P), n)
    row = int(np.argmax(counts.max(axis=1)))
    r = int(np.argmax(counts[row]))
    return counts[row, r] / n, (int(P[row]), int(Q[row]), r)


def grid_score(E) -> GridFit:
    """Score how well ``E`` (n, 2) is a lattice consistent with addition mod n.

    Method. Centre ``E`` and scale it to RMS radius 1. Candidate lattice vectors are the
    8 shortest distinct difference vectors between points (refined by averaging over
    their noisy copies, see :func:`_candidate_vectors`); each candidate alone (a 1-D
    lattice, for points on a line) and each pair that is not near-parallel
    (``|sin angle| > 0.3``) gives a starting basis. From it, round ``z = (E - E_0) B⁻¹``
    to integers, refit offset and basis by least squares given ``z``, and re-round until
    ``z`` is stable. Keep the candidate with the highest ``fit * consistency`` (see
    :class:`GridFit`); consistency, the costly part (``n³`` work), is only computed for
    candidates whose ``fit`` can still beat the best score so far, so the result is the
    exact maximum over candidates.

    The set of candidates depends only on the geometry, and the best ``z`` is unique up
    to a lattice automorphism, so the score is invariant to similarity transforms of
    ``E`` and to relabelling ``a -> k a mod n`` (``p, q`` change, the score does not).
    One exception: when more than 8 distinct differences tie exactly in length (a regular
    polygon has ``n`` equal shortest chords), rounding decides which are kept, and the
    score, low for such shapes anyway, can move by ~0.01 under a rotation. Exact lattices
    are unaffected: a reduced basis is always among the shortest candidates.
    """
    E = check_embedding(E)
    n = len(E)
    X, centre, scale = _normalise(E)
    cand = _candidate_vectors(X)
    i, j = np.triu_indices(len(cand), 1)
    u, w = cand[i], cand[j]
    apart = np.abs(u[:, 0] * w[:, 1] - u[:, 1] * w[:, 0]) > _MIN_SIN * np.hypot(*u.T) * np.hypot(*w.T)
    results = _lattice_fits(X, cand[:, None, :])                # 1-D lattices, then the pairs
    if apart.any():
        results += _lattice_fits(X, np.stack([u[apart], w[apart]], 1))
    fits = [(max(0.0, 1.0 - 2.0 * res[3]), res) for res in results if res is not None]
    fits.sort(key=lambda f: -f[0])                               # stable: ties keep order
    best = None
    for fit, (z, B, t, resid) in fits:
        if best is not None and fit <= best[0]:
            break                                                # consistency <= 1
        cons, pqr = _consistency(z, n)
        if best is None or fit * cons > best[0]:
            best = (fit * cons, fit, cons, pqr, z, B, t, resid)
    if best is None:  # unreachable for valid input: the shortest difference always fits 1-D
        raise RuntimeError("grid_score found no lattice candidate")
    score, fit, cons, pqr, z, B, t, resid = best
    return GridFit(score=float(score), basis=_frozen(B * scale), z=_frozen(z), pqr=pqr,
                   fit=float(fit), consistency=float(cons),
                   offset=_frozen(centre + t * scale), residual=float(resid))


# ---------------------------------------------------------------------------- classify


def _check_threshold(name, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


#: Scores this close count as a tie (rounding: an exact shape scores 1 up to ~1e-16).
_TIE = 1e-9


def _decide(c: float, g: float, ct: float, gt: float) -> str:
    if c >= ct and (g < gt or c >= g - _TIE):
        return "circle"
    if g >= gt:
        return "grid"
    return "other"


def scores(E, circle_threshold: float = CIRCLE_THRESHOLD,
           grid_threshold: float = GRID_THRESHOLD) -> dict:
    """Both scores and the class of ``E`` (n, 2), as one table row.

    Keys: ``circle_score``, ``circle_k``, ``grid_score``, ``class`` (see :func:`classify`).
    """
    ct = _check_threshold("circle_threshold", circle_threshold)
    gt = _check_threshold("grid_threshold", grid_threshold)
    c, g = circle_score(E), grid_score(E)
    return _row(c.score, c.k, g.score, ct, gt)


def _row(c: float, k: int, g: float, ct: float, gt: float) -> dict:
    """One row of :func:`scores`: both scores, the circle's order and the class."""
    return {"circle_score": float(c), "circle_k": int(k), "grid_score": float(g), "class": _decide(c, g, ct, gt)}


def classify(E, circle_threshold: float = CIRCLE_THRESHOLD,
             grid_threshold: float = GRID_THRESHOLD) -> str:
    """``"circle"``, ``"grid"`` or ``"other"`` for the embedding ``E`` (n, 2).

    A shape passes if its score reaches its threshold (defaults :data:`CIRCLE_THRESHOLD`
    0.85, :data:`GRID_THRESHOLD` 0.6). If both pass, the higher score wins, a tie (within 1e-9: rounding) going to
    "circle". Both pass only for small ``n``: for n = 3 any triangle is an exact
    consistent lattice (an equilateral one is also an exact circle); for n = 4 a square
    is an exact circle and a 3/4-consistent grid. The scores discriminate well from
    n ≈ 11 up; see :data:`GRID_THRESHOLD` for small n.
    """
    return scores(E, circle_threshold, grid_threshold)["class"]


def classify_many(E_batch, circle_threshold: float = CIRCLE_THRESHOLD,
                  grid_threshold: float = GRID_THRESHOLD) -> list[str]:
    """:func:`classify` for each of ``R`` embeddings in ``E_batch`` (R, n, 2): a list of R classes."""
    return [row["class"] for row in scores_many(E_batch, circle_threshold, grid_threshold)]


def scores_many(E_batch, circle_threshold: float = CIRCLE_THRESHOLD,
                grid_threshold: float = GRID_THRESHOLD, *, details: bool = False) -> list[dict]:
    """:func:`scores` for each of ``R`` embeddings in ``E_batch`` (R, n, 2): a list of R rows.

    With ``details``, each row also holds, from the grid fit (whatever the class),
    ``grid_rule``: its :func:`reduced_rule`, and ``grid_lines``: its :attr:`GridFit.lines`.

    The fits are the costly part (a few ms each): they are kept in the run cache
    (:mod:`modadd.cache.store`), keyed by the embeddings' bytes and this module's code, so a chapter executed again (by nbval, nbgrader, a student) loads
    them; a loaded fit is what fitting again gives (no randomness). ``MODADD_MEMO=0``
    fits afresh.
    """
    ct = _check_threshold("circle_threshold", circle_threshold)
    gt = _check_threshold("grid_threshold", grid_threshold)
    fits = _batch_fits(E_batch)
    rows = []
    for c, k, g, p, q, lines in fits:
        row = _row(c, k, g, ct, gt)
        if details:
            row.update(grid_rule=(int(p), int(q)), grid_lines=int(lines))
        rows.append(row)
    return rows


def _batch_fits(E_batch) -> np.ndarray:
    """(R, 6): circle score, circle order, grid score, the reduced rule (p, q) and the lines
    of each embedding; from the run cache (:mod:`modadd.cache.store`, kind "scores") when
    these embeddings were fitted by this code before."""
    if isinstance(E_batch, (str, bytes)) or E_batch is None:
        raise ValueError(f"E_batch must be an (R, n, 2) array, got {type(E_batch).__name__}")
    try:
        arr = np.asarray(E_batch)
    except Exception as exc:
        raise ValueError(f"E_batch must be an (R, n, 2) array of numbers: {exc}") from None
    if arr.ndim != 3:
        raise ValueError(f"E_batch must have shape (R, n, 2), got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64) if arr.dtype.kind in "iuf" else arr
    if arr.dtype == np.float64 and len(arr):
        return store.cached("scores", _fit_batch, arr)
    return _fit_batch(arr)


def _fit_batch(arr: np.ndarray) -> np.ndarray:
    """:func:`_batch_fits` of an (R, n, 2) array, computed."""
    out = np.zeros((len(arr), 6))
    for i, E in enumerate(arr):
        try:
            c, g = circle_score(E), grid_score(E)
        except ValueError as exc:
            raise ValueError(f"E_batch[{i}]: {exc}") from None
        out[i] = (c.score, c.k, g.score, *reduced_rule(g), g.lines)
    return out


# ---------------------------------------------------------------------------- which one


def circle_order(E) -> int:
    """The order ``k`` (in ``1..n//2``) of a circle-class embedding ``E`` (n, 2).

    Residue ``a`` sits at angle ``φ_0 ± 2πka/n``: :attr:`CircleFit.k` of :func:`circle_score`.
    ``k`` and ``n - k`` are the same circle run the other way round (a reflection), so the
    order is only defined up to that, and reported as the smaller of the two. Two circles
    of one ``k`` differ only by a rotation, a reflection, a scale and a shift.

    Raises:
        ValueError: ``E`` is not a valid embedding, or :func:`classify` does not call it a
            circle (the message gives its class and scores).
    """
    return int(_fits_of(E, "circle", "circle_order")[0].k)


def _fits_of(E, kind: str, caller: str) -> tuple[CircleFit, GridFit]:
    """Both fits of ``E``, once; a ValueError naming ``caller`` unless :func:`classify`
    calls ``E`` a ``kind``."""
    c, g = circle_score(E), grid_score(E)
    cls = _decide(c.score, g.score, CIRCLE_THRESHOLD, GRID_THRESHOLD)
    if cls != kind:
        mine, other = (c.score, g.score) if kind == "circle" else (g.score, c.score)
        raise ValueError(f"E is not a {kind} (class {cls!r}: {kind} score {mine:.2f}, "
                         f"{'grid' if kind == 'circle' else 'circle'} score {other:.2f}); "
                         f"{caller} needs an embedding that classify() calls a {kind}")
    return c, g


def _fold(x: int, n: int) -> int:
    """``x mod n`` up to sign: the smaller of ``x mod n`` and ``-x mod n``."""
    return min(x % n, -x % n)


def lattice_rule(E) -> tuple[int, int]:
    """The rule ``(p, q)`` of a grid-class embedding ``E`` (n, 2), up to the lattice's symmetries.

    A grid puts residue ``a`` at ``t + z_a1 b1 + z_a2 b2`` with ``a ≡ p z_a1 + q z_a2 + r
    (mod n)`` (:func:`grid_score`): one step along ``b1`` adds ``p`` to the residue, one
    step along ``b2`` adds ``q``. The same points can be written in many bases, and each
    gives another ``(p, q)``, so the rule is made canonical:

    * the basis is Lagrange-Gauss reduced (``b1`` a shortest lattice vector, ``b2`` the
      shortest one independent of it), changing ``(p, q)`` with it (``b2 -> b2 - m b1``
      makes ``q -> q - m p``): any basis of the same lattice gives the same rule;
    * the sign of each basis vector is dropped (``p`` and ``-p`` fold to ``min(p mod n,
      -p mod n)``): walking a row the other way, or reflecting the lattice, is the same grid;
    * the order of the two is dropped (the pair is sorted): a square lattice has no first
      vector.

    So the result is ``(p, q)`` with ``0 <= p <= q <= n // 2``: the residue steps along the
    two shortest independent lattice directions, unsigned and unordered. A line of sites (a
    1-D lattice) gives ``(0, p)``. What this forgets: the relative sign of the two steps
    (whether ``b1 + b2`` or ``b1 - b2`` adds ``p + q``), and, for a hexagonal lattice,
    whose third shortest direction ties with the first two, which two the reduction
    picks; both are then decided by noise. The offset ``r`` is a translation and is not
    part of the rule.

    Raises:
        ValueError: ``E`` is not a valid embedding, or :func:`classify` does not call it a
            grid (the message gives its class and scores).
    """
    return reduced_rule(_fits_of(E, "grid", "lattice_rule")[1])


def reduced_rule(fit: GridFit) -> tuple[int, int]:
    """The canonical rule ``(p, q)`` of a lattice fit, as :func:`lattice_rule` explains
    (reduced basis, signs and order dropped), for any :class:`GridFit`, grid or not."""
    if not isinstance(fit, GridFit):
        raise ValueError(f"fit must be a GridFit (from grid_score), got {type(fit).__name__}")
    n = len(fit.z)
    p, q, _ = fit.pqr
    b1, b2 = np.array(fit.basis[0], float), np.array(fit.basis[1], float)
    if b2.any():                                    # Lagrange-Gauss, carrying (p, q) along
        for _ in range(100):
            if b1 @ b1 > b2 @ b2:
                b1, b2, p, q = b2, b1, q, p
            m = round(float(b1 @ b2) / float(b1 @ b1))
            if m == 0:
                break
            b2, q = b2 - m * b1, q - m * p
    p, q = _fold(p, n), _fold(q, n) if b2.any() else 0
    return (min(p, q), max(p, q))


# ---------------------------------------------------------------------------- reading them


def doubled_angle_spread(E) -> np.ndarray:
    """For each answer ``y``: how far (degrees) the doubled angles of its sums spread.

    Centre ``E`` (n, 2) on its centroid and take every ordered pair's sum
    ``s = E_a + E_b``. On a circle in the order ``k·a`` the sums of one answer lie on one
    line through the centre, on either side; doubling the angle of ``s`` removes the side
    (the "Pizza" reading). Returns (n,): for each answer, the largest angle between the
    doubled angle of one of its sums and their circular mean. 0 for an exact circle;
    compare with ``360 / n``, the doubled-angle gap between neighbouring answers. A sum at
    the centre (shorter than 1e-9 of the mean radius) has no angle and is left out; an
    answer whose doubled angles cancel exactly has spread 180.
    """
    E = check_embedding(E)
    n = len(E)
    X = E - E.mean(axis=0)
    a, b = np.divmod(np.arange(n * n), n)
    S = X[a] + X[b]
    w = (S[:, 0] + 1j * S[:, 1]) ** 2
    r = np.abs(w)
    keep = r > (1e-9 * np.hypot(X[:, 0], X[:, 1]).mean()) ** 2
    u = np.where(keep, w / np.maximum(r, 1e-300), 0)             # unit doubled phasors
    y = (a + b) % n
    out = np.empty(n)
    for c in range(n):
        sel = (y == c) & keep
        m = u[sel].mean() if sel.any() else 0
        if abs(m) < 1e-12:
            out[c] = 180.0
        else:
            out[c] = float(np.degrees(np.abs(np.angle(u[sel] / m)).max()))
    return out


@dataclass(frozen=True)
class LatticeOccupancy:
    """Where a grid puts the held-out pairs, relative to the training pairs.

    Pair ``(a, b)`` lands on the lattice point ``z_a + z_b``. Each held-out ordered pair is
    exactly one of:

    * ``same``: a training pair lands on the same lattice point with the same answer. A
      network that answers that training pair right answers this one too, whatever it
      does elsewhere: the pair is answered *by construction*. (With ``right`` given to
      :func:`lattice_occupancy`, only training pairs the network does answer right count.);
    * ``other``: training pairs land there, none with this answer: answered wrong by
      construction (only possible where the lattice rule fails);
    * ``empty``: no training pair lands there: training says nothing about it.

    ``pairs`` (V, 2) are the held-out ordered pairs in :func:`modadd.core.data.all_pairs` order;
    ``same``, ``other``, ``empty`` are (V,) bool.
    """

    pairs: np.ndarray
    same: np.ndarray
    other: np.ndarray
    empty: np.ndarray

    @property
    def answered(self) -> float:
        """Share of held-out ordered pairs answered by construction (``same``): the
        validation accuracy predicted from occupancy alone."""
        return float(self.same.mean())


def lattice_occupancy(z, val_mask, right=None) -> LatticeOccupancy:
    """Sort the held-out pairs of a lattice ``z`` (n, 2) into same / other / empty.

    Args:
        z: integer lattice coordinates, one row per residue (``GridFit.z``).
        val_mask: (n*n,) or (n, n) bool over :func:`modadd.core.data.all_pairs`, True where
            the pair is held out (:func:`modadd.core.data.validation_mask`); it needs at least
            one held-out and one training pair.
        right: optional (n*n,) or (n, n) bool over the same pairs, True where the network
            answers the pair right. Given, a lattice point counts as occupied only by the
            training pairs the network answers right: a training pair it gets wrong
            answers nothing by construction. Only its training entries are read.

    See :class:`LatticeOccupancy`. numpy only.
    """
    try:
        zz = np.asarray(z)
    except Exception as exc:
        raise ValueError(f"z must be an (n, 2) integer array: {exc}") from None
    if zz.ndim != 2 or zz.shape[1] != 2 or len(zz) < 3:
        raise ValueError(f"z must have shape (n, 2) with n >= 3, got shape {zz.shape}")
    if zz.dtype.kind not in "iu":
        if zz.dtype.kind != "f" or not np.isfinite(zz).all() or not np.array_equal(zz, np.rint(zz)):
            raise ValueError(f"z must hold integer lattice coordinates, got dtype {zz.dtype}")
    zz = zz.astype(np.int64)
    n = len(zz)
    m = np.asarray(val_mask)
    if m.dtype != bool or m.size != n * n:
        raise ValueError(f"val_mask must be a bool array of n*n = {n * n} entries (n = {len(zz)} "
                         f"residues in z), got dtype {m.dtype} and {m.size} entries")
    held = m.reshape(-1)
    if held.all() or not held.any():
        raise ValueError(f"val_mask must hold out some pairs and train on others, got "
                         f"{int(held.sum())} of {n * n} held out")
    occupies = ~held
    if right is not None:
        ok = np.asarray(right)
        if ok.dtype != bool or ok.size != n * n:
            raise ValueError(f"right must be a bool array of n*n = {n * n} entries, got dtype "
                             f"{ok.dtype} and {ok.size} entries")
        occupies = occupies & ok.reshape(-1)
    a, b = np.divmod(np.arange(n * n), n)
    _, point = np.unique(zz[a] + zz[b], axis=0, return_inverse=True)
    point = point.reshape(-1)
    y = (a + b) % n
    occupied = np.zeros((point.max() + 1, n), bool)                 # (lattice point, answer)
    occupied[point[occupies], y[occupies]] = True
    v = np.flatnonzero(held)
    same = occupied[point[v], y[v]]
    empty = ~occupied[point[v]].any(axis=1)
    return LatticeOccupancy(pairs=_frozen(np.c_[a[v], b[v]]), same=_frozen(same),
                            other=_frozen(~same & ~empty), empty=_frozen(empty))


#: Pictures stored by :func:`picture_code` are each point to 1/100 of the picture's radius.
PICTURE_STEPS = 100


def _picture(E) -> np.ndarray:
    """Embeddings as pictures: each centred and scaled to radius 1 (its farthest point)."""
    if isinstance(E, (str, bytes)) or E is None:
        raise ValueError(f"E must be an (..., n, 2) array of embeddings, got {type(E).__name__}")
    try:
        E = np.asarray(E, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"E must be an (..., n, 2) array of numbers: {exc}") from None
    if E.ndim < 2 or E.shape[-1] != 2 or E.shape[-2] < 2 or not np.isfinite(E).all():
        raise ValueError(f"E must be an (..., n, 2) array of finite numbers with n >= 2, got shape {E.shape}")
    X = E - E.mean(-2, keepdims=True)
    return X / np.linalg.norm(X, axis=-1).max(-1)[..., None, None]


def picture_code(E) -> str:
    """A stored copy of embeddings' pictures, in a short string: each picture centred and
    scaled to radius 1, its points rounded to 1/100 (base64 of one signed byte each).
    :func:`same_pictures` compares a later run's pictures with it."""
    return base64.b64encode(np.round(_picture(E) * PICTURE_STEPS).astype(np.int8).tobytes()).decode()


def same_pictures(E, code: str, tolerance: float = 0.03) -> float:
    """The largest distance a point moved between the pictures stored in ``code`` (by
    :func:`picture_code`) and ``E``'s pictures, as a fraction of each picture's radius;
    raises ValueError when it is above ``tolerance`` (the pictures changed: someone must look
    again). Storing to 1/100 moves a point by at most 0.71% of the radius; a picture that
    changed its shape moves them by far more. A run's bits depend on the processor, not only
    on its instruction set, and after thousands of steps a last-bit difference can change a
    picture: :func:`which_pictures` chooses among pictures stored on several processors."""
    tolerance = check_number("tolerance", tolerance, strict=True)
    moved = _moved(E, code)
    if moved > tolerance:
        raise ValueError(f"a point moved by {moved:.3f} of its picture's radius (allowed: {tolerance}): "
                         "the pictures changed, look at them again")
    return moved


def which_pictures(E, codes: dict, tolerance: float = 0.03) -> str:
    """The name of the stored pictures (``codes``: name -> :func:`picture_code`, e.g. one per
    processor the pictures were judged on) that ``E``'s pictures match within ``tolerance``
    (as in :func:`same_pictures`); raises ValueError naming how far each set is when none
    matches (someone must look at these pictures and store them with what they saw)."""
    tolerance = check_number("tolerance", tolerance, strict=True)
    if not isinstance(codes, dict) or not codes:
        raise ValueError(f"codes must be a non-empty dict of name -> picture_code string, got {codes!r:.80}")
    moved = {name: _moved(E, code) for name, code in codes.items()}
    for name, m in moved.items():
        if m <= tolerance:
            return name
    far = ", ".join(f"{name}: {m:.3f}" for name, m in moved.items())
    raise ValueError(f"these pictures match none of the stored ones within {tolerance} of a picture's "
                     f"radius (largest move from each: {far}): look at them, and store them with what you saw")


def _moved(E, code: str) -> float:
    X = _picture(E)
    if not isinstance(code, str):
        raise ValueError(f"code must be a string made by picture_code, got {type(code).__name__}")
    try:
        raw = base64.b64decode(code, validate=True)
    except binascii.Error:
        raise ValueError(f"code is not a string made by picture_code (not base64): {code[:40]!r}") from None
    stored = np.frombuffer(raw, dtype=np.int8).astype(float) / PICTURE_STEPS
    if stored.size != X.size:
        raise ValueError(f"the stored pictures hold {stored.size} numbers, these {X.size}: not the same runs")
    return float(np.linalg.norm(X - stored.reshape(X.shape), axis=-1).max())
