import dataclasses
import math

import numpy as np
import pytest

from modadd.analysis import structure
from modadd.analysis.structure import (
    CIRCLE_THRESHOLD, GRID_THRESHOLD, CircleFit, GridFit, check_embedding, circle_score,
    classify, classify_many, grid_score, scores,
)

# A non-orthogonal, unequal basis, so nothing relies on the lattice being square.
BASIS = np.array([[1.0, 0.2], [0.3, 1.1]])


def coprimes(n):
    return [k for k in range(1, n) if math.gcd(k, n) == 1]


def circle(n, k=1, radius=2.0, centre=(0.5, -1.0), phase=0.3, noise=0.0, rng=None):
    """Residue a at angle phase + 2πka/n; ``noise`` = relative radial and angular (rad) sd."""
    a = np.arange(n)
    th = phase + 2 * np.pi * k * a / n
    r = np.full(n, radius)
    if noise:
        th = th + noise * rng.standard_normal(n)
        r = r * (1 + noise * rng.standard_normal(n))
    return np.c_[r * np.cos(th), r * np.sin(th)] + np.asarray(centre)


def lattice(z, basis=BASIS, offset=(0.7, -0.4), noise=0.0, rng=None):
    """Points offset + z @ basis; ``noise`` = sd per coordinate, in units of the shortest basis row."""
    E = np.asarray(z, float) @ basis + np.asarray(offset)
    if noise:
        E = E + noise * np.linalg.norm(basis, axis=1).min() * rng.standard_normal(E.shape)
    return E


def z_grid(n, width=4):
    """z_a = (a mod width, a div width): then a = z1 + width·z2 exactly."""
    a = np.arange(n)
    return np.c_[a % width, a // width]


def z_line(n):
    return np.c_[np.arange(n), np.zeros(n, int)]


def relabel(E, k):
    """E'[a] = E[k·a mod n]."""
    n = len(E)
    return E[(k * np.arange(n)) % n]


def rotation(theta):
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


# ---------------------------------------------------------------------------- circles


@pytest.mark.parametrize("n", [17, 31, 12])
def test_exact_circles_in_every_order(n):
    for k in coprimes(n):
        E = circle(n, k)
        fit = circle_score(E)
        assert isinstance(fit, CircleFit)
        assert fit.score == pytest.approx(1.0, abs=1e-9), (n, k)
        assert fit.radial == pytest.approx(1.0, abs=1e-9) and fit.order == pytest.approx(1.0, abs=1e-9)
        assert fit.k == min(k, n - k), (n, k)
        assert fit.radius == pytest.approx(2.0) and np.allclose(fit.centre, [0.5, -1.0])
        assert classify(E) == "circle", (n, k)


def test_order_is_low_for_every_wrong_k():
    # Only the true k scores: the sum of the phasors for any other k is a sum of roots of unity.
    n, k = 17, 5
    E = circle(n, k)
    for wrong in coprimes(n):
        if wrong in (k, n - k):
            continue
        a = np.arange(n)
        phi = np.arctan2(*(E - E.mean(0))[:, ::-1].T)
        assert abs(np.exp(1j * (phi - 2 * np.pi * wrong * a / n)).mean()) < 1e-9


@pytest.mark.parametrize("n", [17, 31])
@pytest.mark.parametrize("noise", [0.03, 0.05])
def test_noisy_circles_are_circles(n, noise):
    for seed in range(10):
        E = circle(n, 3, noise=noise, rng=np.random.default_rng(seed))
        fit = circle_score(E)
        assert fit.score > 0.9 and fit.k == 3
        assert classify(E) == "circle"


def test_very_noisy_or_shuffled_circles_are_not_circles():
    n = 17
    good = [circle_score(circle(n, 2, noise=0.05, rng=np.random.default_rng(s))).score for s in range(20)]
    bad = [circle_score(circle(n, 2, noise=0.3, rng=np.random.default_rng(s))).score for s in range(20)]
    assert np.mean(bad) < np.mean(good) - 0.2
    assert max(bad) < CIRCLE_THRESHOLD
    for seed in range(20):
        rng = np.random.default_rng(seed)
        E = circle(n, 2)[rng.permutation(n)]      # perfect geometry, labels in no order
        fit = circle_score(E)
        assert fit.radial == pytest.approx(1.0) and fit.score < 0.7
        assert classify(E) == "other"


def test_half_circle_is_not_a_circle():
    n = 17
    th = np.pi * np.arange(n) / n
    assert circle_score(np.c_[np.cos(th), np.sin(th)]).score < CIRCLE_THRESHOLD


# ---------------------------------------------------------------------------- lattices


def check_exact_grid(E, n):
    fit = grid_score(E)
    assert isinstance(fit, GridFit)
    assert fit.score == pytest.approx(1.0, abs=1e-9)
    assert fit.fit == pytest.approx(1.0, abs=1e-9) and fit.consistency == 1.0
    assert fit.basis.shape == (2, 2) and fit.z.shape == (n, 2) and fit.z.dtype.kind == "i"
    # The fit reproduces the points and the labels obey a = p z1 + q z2 + r (mod n).
    assert np.allclose(fit.offset + fit.z @ fit.basis, E, atol=1e-9)
    p, q, r = fit.pqr
    assert np.array_equal((p * fit.z[:, 0] + q * fit.z[:, 1] + r) % n, np.arange(n))
    # Equal lattice sums imply equal answers: z is injective and additive mod n.
    assert len({tuple(row) for row in fit.z}) == n
    return fit


@pytest.mark.parametrize("n", [17, 31])
def test_exact_line_is_a_grid(n):
    E = lattice(z_line(n))
    fit = check_exact_grid(E, n)
    assert not fit.basis[1].any() and not fit.z[:, 1].any() and fit.pqr[1] == 0
    assert fit.lines == 1                                       # all points on one lattice line
    assert np.isclose(abs(fit.basis[0] @ BASIS[0]), BASIS[0] @ BASIS[0])
    assert classify(E) == "grid"
    # A line relabelled a -> 3a mod n is still an equally spaced, consistent line.
    E3 = relabel(E, 3)
    check_exact_grid(E3, n)
    assert classify(E3) == "grid"


@pytest.mark.parametrize("n, width", [(17, 4), (17, 3), (31, 5), (12, 5), (59, 8)])
def test_exact_2d_lattice_is_a_grid(n, width):
    E = lattice(z_grid(n, width))
    fit = check_exact_grid(E, n)
    assert abs(np.linalg.det(fit.basis)) == pytest.approx(abs(np.linalg.det(BASIS)))
    assert fit.lines == min(width, math.ceil(n / width))       # the rows or the columns
    assert classify(E) == "grid"
    assert circle_score(E).score < CIRCLE_THRESHOLD


@pytest.mark.parametrize("k", [2, 3, 5, 16])
def test_relabelled_2d_lattice_is_a_grid_with_other_p_q(k):
    n = 17
    E = relabel(lattice(z_grid(n, 4)), k)
    check_exact_grid(E, n)
    assert classify(E) == "grid"


@pytest.mark.parametrize("n", [17, 31, 59])
@pytest.mark.parametrize("noise", [0.03, 0.05])
def test_noisy_lattices_are_grids(n, noise):
    for seed in range(5):
        rng = np.random.default_rng(seed)
        for z in (z_grid(n, 4), z_line(n)):
            E = lattice(z, noise=noise, rng=rng)
            fit = grid_score(E)
            assert fit.consistency == 1.0, (seed, noise)
            assert fit.fit > 0.75 and fit.score > 0.75
            assert classify(E) == "grid"


def test_lattice_with_shuffled_labels_is_not_a_grid():
    # The geometry is perfect (fit = 1) but no single a = p z1 + q z2 + r holds for most
    # points. Not guaranteed: a permutation can happen to be affine in z (a relabelling
    # a -> k a is one), but for n = 17 that has probability ~ n^3 / n!, about 1e-11.
    n = 17
    E = lattice(z_grid(n, 4))
    not_grid = 0
    for seed in range(20):
        Es = E[np.random.default_rng(seed).permutation(n)]
        fit = grid_score(Es)
        assert fit.consistency < 0.6
        not_grid += classify(Es) != "grid"
    assert not_grid == 20


def test_perfect_circle_is_not_a_grid_and_lattice_not_a_circle():
    for n in (12, 17, 31):
        for k in coprimes(n)[:3]:
            E = circle(n, k)
            assert grid_score(E).score < GRID_THRESHOLD and classify(E) == "circle"
        E = lattice(z_grid(n, 4))
        assert circle_score(E).score < CIRCLE_THRESHOLD and classify(E) == "grid"


# ---------------------------------------------------------------------------- random clouds


@pytest.mark.parametrize("kind", ["uniform", "gaussian"])
def test_random_clouds_are_other(kind):
    n = 17
    classes = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        E = rng.uniform(-1, 1, (n, 2)) if kind == "uniform" else rng.standard_normal((n, 2))
        s = scores(E)
        assert s["circle_score"] < 0.6 and s["grid_score"] < 0.45
        classes.append(s["class"])
    assert classes == ["other"] * 20


# ---------------------------------------------------------------------------- invariances


def _configs():
    rng = np.random.default_rng(7)
    n = 17
    return {
        "circle": circle(n, 3),
        "noisy circle": circle(n, 5, noise=0.05, rng=rng),
        "lattice": lattice(z_grid(n, 4)),
        "noisy lattice": lattice(z_grid(n, 4), noise=0.05, rng=rng),
        "line": lattice(z_line(n)),
        "uniform cloud": rng.uniform(-1, 1, (n, 2)),
        "gaussian cloud": rng.standard_normal((n, 2)),
        "shuffled lattice": lattice(z_grid(n, 4))[rng.permutation(n)],
    }


CONFIGS = _configs()
EXACT_TIES = {"circle"}
TRANSFORMS = {
    "translate": lambda E: E + np.array([3.0, -7.5]),
    "rotate": lambda E: E @ rotation(1.234).T,
    "reflect": lambda E: E * np.array([1.0, -1.0]),
    "reflect-rotate": lambda E: (E @ rotation(0.4).T)[:, ::-1],
    "scale up": lambda E: 1e3 * E,
    "scale down": lambda E: 1e-3 * E,
    "similarity": lambda E: 2.5 * (E @ rotation(-2.0).T) + np.array([10.0, 4.0]),
    "relabel 3": lambda E: relabel(E, 3),
    "relabel 16": lambda E: relabel(E, 16),
}


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("transform", list(TRANSFORMS))
def test_scores_and_class_are_invariant(name, transform):
    E = CONFIGS[name]
    E2 = TRANSFORMS[transform](E)
    c, c2 = circle_score(E), circle_score(E2)
    g, g2 = grid_score(E), grid_score(E2)
    assert c2.score == pytest.approx(c.score, abs=1e-6)
    assert c2.radial == pytest.approx(c.radial, abs=1e-6) and c2.order == pytest.approx(c.order, abs=1e-6)
    if name in EXACT_TIES:
        # A regular polygon has n chords of exactly equal length; which 8 become lattice
        # candidates is decided by rounding, so only closeness can be asked for here.
        assert abs(g2.score - g.score) < 0.05 and max(g.score, g2.score) < GRID_THRESHOLD
    else:
        assert g2.score == pytest.approx(g.score, abs=1e-6)
        assert g2.fit == pytest.approx(g.fit, abs=1e-6)
        assert g2.consistency == pytest.approx(g.consistency, abs=1e-9)
    assert classify(E2) == classify(E)
    if not transform.startswith("relabel"):
        assert c2.k == c.k


@pytest.mark.parametrize("j", [2, 3, 7, 16])
def test_relabelling_maps_circle_order_k_to_k_over_j(j):
    # E'[a] = E[j a] puts residue a at angle 2π k j a / n: order k·j mod n.
    n, k = 17, 3
    kk = (k * j) % n
    assert circle_score(relabel(circle(n, k), j)).k == min(kk, n - kk)


def test_relabelling_a_lattice_keeps_it_consistent():
    n = 17
    E = lattice(z_grid(n, 4))
    for j in coprimes(n):
        fit = grid_score(relabel(E, j))
        p, q, r = fit.pqr
        assert fit.consistency == 1.0
        assert np.array_equal((p * fit.z[:, 0] + q * fit.z[:, 1] + r) % n, np.arange(n))


# ---------------------------------------------------------------------------- API


def test_scores_row_and_classify_many():
    E = circle(17, 2)
    row = scores(E)
    assert set(row) == {"circle_score", "circle_k", "grid_score", "class"}
    assert row["circle_k"] == 2 and row["class"] == "circle"
    batch = np.stack([circle(17, 4), lattice(z_grid(17, 4)), np.random.default_rng(0).standard_normal((17, 2))])
    assert classify_many(batch) == ["circle", "grid", "other"]
    assert classify_many(batch.tolist()) == ["circle", "grid", "other"]


def test_scores_many_is_scores_of_each_and_kept_in_the_run_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MODADD_CACHE", str(tmp_path))
    monkeypatch.delenv("MODADD_MEMO", raising=False)
    batch = np.stack([circle(17, 4), lattice(z_grid(17, 4)), np.random.default_rng(0).standard_normal((17, 2))])
    rows = structure.scores_many(batch, details=True)
    for E, row in zip(batch, rows):
        g = grid_score(E)
        assert row == {**scores(E), "grid_rule": structure.reduced_rule(g), "grid_lines": g.lines}
    assert [r["class"] for r in rows] == ["circle", "grid", "other"]
    assert structure.scores_many(batch, 0.99, 0.0)[2]["class"] == "grid"     # thresholds apply to cached fits
    assert len(list((tmp_path / "scores").glob("*.pt"))) == 1
    # a second call on the same values loads the fits (fitting is not called)
    monkeypatch.setattr(structure, "grid_score", lambda E: 1 / 0)
    assert structure.scores_many(batch.copy(), details=True) == rows
    assert structure.scores_many(batch.tolist()) == [{k: r[k] for k in ("circle_score", "circle_k", "grid_score", "class")} for r in rows]
    monkeypatch.setenv("MODADD_MEMO", "0")                                   # afresh: fits again
    with pytest.raises(ZeroDivisionError):
        structure.scores_many(batch)
    monkeypatch.delenv("MODADD_MEMO")
    with pytest.raises(ZeroDivisionError):                                   # other embeddings: fits
        structure.scores_many(batch[:2])


def test_scores_many_names_the_bad_embedding(tmp_path, monkeypatch):
    monkeypatch.setenv("MODADD_CACHE", str(tmp_path))
    with pytest.raises(ValueError, match=r"E_batch\[1\]: .*NaN or inf"):
        structure.scores_many(np.stack([GOOD, GOOD * np.nan]))
    with pytest.raises(ValueError, match="circle_threshold must be a number in"):
        structure.scores_many(np.stack([GOOD]), circle_threshold=2)
    assert structure.scores_many(np.zeros((0, 17, 2))) == []
    assert not (tmp_path / "scores").exists()


def test_thresholds_are_respected():
    E = circle(17, 1, noise=0.05, rng=np.random.default_rng(0))
    s = circle_score(E).score
    assert classify(E, circle_threshold=s) == "circle"
    assert classify(E, circle_threshold=min(1.0, s + 1e-3)) == "other"
    L = lattice(z_grid(17, 4))
    assert classify(L, grid_threshold=0.999) == "grid"
    assert classify(L, circle_threshold=0.0) == "grid"  # both pass: the higher score wins
    for bad in (-0.1, 1.5, "0.5", None, True, float("nan")):
        with pytest.raises(ValueError, match="threshold"):
            classify(E, circle_threshold=bad)
        with pytest.raises(ValueError, match="threshold"):
            scores(E, grid_threshold=bad)


def test_fits_are_read_only():
    fit = grid_score(lattice(z_grid(17, 4)))
    with pytest.raises(ValueError):
        fit.z[0, 0] = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.score = 0.0


def test_accepts_lists_and_integer_arrays():
    E = lattice(z_grid(17, 4), basis=np.array([[2, 0], [1, 3]]), offset=(0, 0)).astype(int)
    assert grid_score(E.tolist()).score == pytest.approx(1.0)
    assert check_embedding(E).dtype == np.float64


def test_three_points():
    # n = 3 is the smallest allowed; an equilateral triangle is both shapes (tie -> circle).
    E = circle(3, 1)
    assert circle_score(E).score == pytest.approx(1.0) and grid_score(E).score == pytest.approx(1.0)
    assert classify(E) == "circle"
    assert classify(lattice(z_line(3))) == "grid"


# ---------------------------------------------------------------------------- bad input


GOOD = circle(17, 1)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((17, 3)), r"shape \(n, 2\)"),
    (np.zeros(17), r"shape \(n, 2\)"),
    (np.zeros((2, 17)), r"shape \(n, 2\)"),
    (np.zeros((1, 17, 2)), r"shape \(n, 2\)"),
    (np.float64(3.0), r"shape \(n, 2\)"),
    (np.zeros((2, 2)) + [[0, 0], [1, 1]], r"n >= 3"),
    (np.zeros((0, 2)), r"n >= 3"),
    (np.where(np.arange(34).reshape(17, 2) == 5, np.nan, GOOD), "NaN or inf"),
    (np.where(np.arange(34).reshape(17, 2) == 8, np.inf, GOOD), "NaN or inf"),
    (np.where(np.arange(34).reshape(17, 2) == 9, -np.inf, GOOD), "NaN or inf"),
    (np.ones((17, 2)), "zero spread"),
    (np.full((17, 2), 1e6) + np.arange(34).reshape(17, 2) * 1e-13, "zero spread"),
    ("abc", "array"),
    (None, "array"),
    ({"a": 1}, "real numbers"),
    ([[0, 1], [1, 2], [3]], "array"),
    ([[0, "x"], [1, 2], [3, 4]], "real numbers"),
    (GOOD.astype(complex), "real numbers"),
    (GOOD > 0, "real numbers"),
    (GOOD.astype(object), "real numbers"),
])
def test_bad_input(bad, match):
    for f in (circle_score, grid_score, classify, scores, check_embedding):
        with pytest.raises(ValueError, match=match):
            f(bad)


def test_classify_many_bad_input():
    with pytest.raises(ValueError, match=r"\(R, n, 2\)"):
        classify_many(GOOD)
    with pytest.raises(ValueError, match=r"\(R, n, 2\)"):
        classify_many("abc")
    with pytest.raises(ValueError, match="NaN or inf"):
        classify_many(np.stack([GOOD, GOOD * np.nan]))


def test_tiny_but_real_spread_is_fine():
    assert classify(1e-200 * circle(17, 2)) == "circle"
    assert classify(1e6 + 1e-3 * circle(17, 2)) == "circle"


# ---------------------------------------------------------------------------- reading them
from modadd.core.data import validation_mask  # noqa: E402
from modadd.analysis.structure import LatticeOccupancy, doubled_angle_spread, lattice_occupancy  # noqa: E402


def test_doubled_angle_spread_is_zero_on_circles_either_way_round():
    for n, k in [(17, 1), (17, 5), (13, 3)]:
        for sign in (1, -1):
            spread = doubled_angle_spread(circle(n, sign * k))
            assert spread.shape == (n,) and spread.max() < 1e-9


def test_doubled_angle_spread_measures_noise_and_clouds():
    """Short sums (of nearly opposite points) turn most under noise: 0.2% noise already
    spreads the doubled angles by a few degrees; a random cloud spreads them all round."""
    rng = np.random.default_rng(0)
    noisy = [doubled_angle_spread(circle(17, 3, noise=0.002, rng=rng)).max() for _ in range(5)]
    cloud = [doubled_angle_spread(rng.normal(size=(17, 2))).max() for _ in range(5)]
    assert 1 < min(noisy) and max(noisy) < 360 / 17 / 2 < 150 < min(cloud)


def test_doubled_angle_spread_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        doubled_angle_spread(np.zeros((17, 3)))


def test_occupancy_of_a_consistent_lattice_has_no_contradictions():
    """On a consistent lattice a lattice point has one answer, so nothing is 'other'; the
    held-out pairs split into same and empty, and the counts add up."""
    n = 17
    for seed in range(5):
        mask = validation_mask(n, 0.2, seed).numpy()
        occ = lattice_occupancy(z_grid(n), mask)
        assert isinstance(occ, LatticeOccupancy)
        assert len(occ.pairs) == mask.sum() and not occ.other.any()
        assert (occ.same ^ occ.empty).all()
        assert 0 < occ.answered < 1


def test_occupancy_by_hand_on_a_line():
    """z_a = a on a line: pair (a, b) lands on a + b. Holding out only (0, 2) and (2, 0):
    (1, 1) lands on 2 with the same answer, so both are answered by construction."""
    n = 7
    held = np.zeros((n, n), bool)
    held[0, 2] = held[2, 0] = True
    occ = lattice_occupancy(z_line(n), held)
    assert occ.pairs.tolist() == [[0, 2], [2, 0]] and occ.same.all() and occ.answered == 1.0
    # hold out every pair summing to 2: point 2 is empty
    held[1, 1] = True
    occ = lattice_occupancy(z_line(n), held)
    assert occ.empty.all() and occ.answered == 0.0
    # a broken rule: residue 6 sits where 5 should. (6, 0) lands on 5, like (5, 0) (answer 5)
    z = z_line(n).copy()
    z[6] = z[5]
    held = np.zeros((n, n), bool)
    held[6, 0] = held[0, 6] = True
    occ = lattice_occupancy(z, held)
    assert occ.other.all() and occ.answered == 0.0


def test_occupancy_counts_only_training_pairs_answered_right():
    """(0, 2) held out; (1, 1) is the only training pair on lattice point 2. If the network
    answers (1, 1) wrong, nothing answers (0, 2) by construction: it becomes empty."""
    n = 7
    held = np.zeros((n, n), bool)
    held[0, 2] = held[2, 0] = True
    right = np.ones((n, n), bool)
    assert lattice_occupancy(z_line(n), held, right).answered == 1.0
    right[1, 1] = False
    occ = lattice_occupancy(z_line(n), held, right)
    assert occ.empty.all() and occ.answered == 0.0
    right[0, 2] = False                       # held-out entries are never read
    assert lattice_occupancy(z_line(n), held, right).answered == 0.0
    with pytest.raises(ValueError, match="right must be a bool array of n\\*n = 49"):
        lattice_occupancy(z_line(n), held, np.ones(5, bool))


def test_occupancy_accepts_a_fitted_grid_and_rejects_bad_input():
    n = 17
    rng = np.random.default_rng(1)
    fit = grid_score(lattice(z_grid(n), noise=0.05, rng=rng))
    mask = validation_mask(n, 0.2, 0)                       # a torch mask works too
    direct = lattice_occupancy(z_grid(n), mask.numpy())
    fitted = lattice_occupancy(fit.z, mask)
    assert fitted.answered == direct.answered               # same lattice up to an automorphism
    with pytest.raises(ValueError, match="n\\*n = 289"):
        lattice_occupancy(z_grid(n), np.zeros(100, bool))
    with pytest.raises(ValueError, match="integer"):
        lattice_occupancy(z_grid(n) + 0.5, mask.numpy())
    with pytest.raises(ValueError, match="held out"):
        lattice_occupancy(z_grid(n), np.zeros(n * n, bool))
    with pytest.raises(ValueError, match="shape"):
        lattice_occupancy(np.zeros((n, 3), int), mask.numpy())


def test_stored_pictures_ignore_rounding_move_scale_and_catch_a_moved_point():
    rng = np.random.default_rng(3)
    E = rng.normal(size=(4, 17, 2))
    code = structure.picture_code(E)
    assert structure.same_pictures(E, code) <= np.hypot(0.5, 0.5) / structure.PICTURE_STEPS + 1e-12
    assert structure.same_pictures(3 * E + 1.0 + 1e-6 * rng.normal(size=E.shape), code) < 0.0072
    moved = E.copy()
    moved[2, 5] += 0.5
    with pytest.raises(ValueError, match="moved by 0.*allowed: 0.03"):
        structure.same_pictures(moved, code)
    with pytest.raises(ValueError, match="not the same runs"):
        structure.same_pictures(E[:3], code)
    for bad in (0, -0.1, float("nan"), "0.03", True):
        with pytest.raises(ValueError, match=r"tolerance must be"):
            structure.same_pictures(E, code, tolerance=bad)
    for bad in (None, 3, code.encode()):
        with pytest.raises(ValueError, match="code must be a string made by picture_code"):
            structure.same_pictures(E, bad)
    with pytest.raises(ValueError, match="not base64"):
        structure.same_pictures(E, "not a code!")
    for bad in (None, "E", np.zeros(5), np.full((4, 17, 2), np.nan), [[1, 2], [3]]):
        with pytest.raises(ValueError, match=r"E must be an \(\.\.\., n, 2\) array"):
            structure.picture_code(bad)


def test_which_pictures_names_the_stored_set_that_matches_or_says_how_far_each_is():
    rng = np.random.default_rng(4)
    E, F = rng.normal(size=(2, 4, 17, 2))
    codes = {"first machine": structure.picture_code(F), "second machine": structure.picture_code(E)}
    assert structure.which_pictures(E, codes) == "second machine"
    assert structure.which_pictures(2 * F - 1, codes) == "first machine"
    moved = E.copy()
    moved[0, 0] += 1.0
    with pytest.raises(ValueError, match=r"match none .*first machine: \d\.\d+, second machine: 0\.\d+"):
        structure.which_pictures(moved, codes)
    for bad in ({}, None, [structure.picture_code(E)]):
        with pytest.raises(ValueError, match="codes must be a non-empty dict"):
            structure.which_pictures(E, bad)
    with pytest.raises(ValueError, match="tolerance must be"):
        structure.which_pictures(E, codes, tolerance=-1)


# ---------------------------------------------------------------------------- the batched lattice fits


def _one_fit(X, B, t):
    """The lattice fit of one starting basis, written plainly (np.linalg.lstsq, one basis at
    a time): the reference that structure._lattice_fits computes for many at once."""
    dim, n, z_old = len(B), len(X), None
    for _ in range(5):
        if dim == 2:
            z = np.rint((X - t) @ np.linalg.inv(B))
        else:
            z = np.rint((X - t) @ B[0] / float(B[0] @ B[0]))[:, None]
        if z_old is not None and np.array_equal(z, z_old):
            break
        D = np.hstack([np.ones((n, 1)), z])
        coef, _, rank, _ = np.linalg.lstsq(D, X, rcond=None)
        if rank < 1 + dim:
            return None
        t, B, z_old = coef[0], coef[1:], z
        if dim == 2 and abs(np.linalg.det(B)) < 0.05 * np.prod(np.linalg.norm(B, axis=1)):
            return None
    B2 = B if dim == 2 else np.vstack([B, np.zeros(2)])
    short = min(x for a in range(-6, 7) for b in range(-6, 7) if (x := np.linalg.norm(a * B2[0] + b * B2[1])) > 0)
    rms = np.sqrt(((X - t - z_old @ B) ** 2).sum(1).mean())
    return z_old, B2, t, rms / short


@pytest.mark.parametrize("seed", range(12))
def test_lattice_fits_equal_the_plain_fit_basis_by_basis(seed):
    rng = np.random.default_rng(seed)
    noise = [0.01, 0.05, 0.2, 1.0][seed % 4]     # up to a random cloud (noise: no exact half-way rounding)
    X = lattice(z_grid(17, 4 + seed % 3), noise=noise, rng=rng)
    X, _, _ = structure._normalise(X)
    cand = structure._candidate_vectors(X)
    i, j = np.triu_indices(len(cand), 1)
    for bases in (cand[:, None, :], np.stack([cand[i], cand[j]], 1)):
        got = structure._lattice_fits(X, bases)
        assert len(got) == len(bases)
        for B, fit in zip(bases, got):
            want = _one_fit(X, B, X[0])
            assert (fit is None) == (want is None)
            if want is not None:
                z, B2, t, resid = fit
                assert np.array_equal(z[:, :len(B)], want[0]) and not z[:, len(B):].any()
                assert np.allclose(B2, want[1], atol=1e-9) and np.allclose(t, want[2], atol=1e-9)
                assert resid == pytest.approx(want[3], rel=1e-9, abs=1e-12)


def test_shortest_vectors_of_known_lattices():
    # A reduced basis R (|r1| <= |r2|, |r1.r2| <= |r1|^2 / 2) has r1 as a shortest vector; U R,
    # U unimodular, is another basis of the same lattice, often long and nearly parallel.
    rng = np.random.default_rng(0)
    got, want = [], []
    while len(want) < 300:
        r1 = rng.normal(size=2) * rng.uniform(0.1, 10)
        r2 = rng.uniform(1, 3) * np.linalg.norm(r1) * np.array([[0, -1], [1, 0]]) @ r1 / np.linalg.norm(r1)
        r2 += rng.uniform(-0.5, 0.5) * r1
        a, b = rng.integers(-9, 10, size=2)
        for U in ([[1, a], [0, 1]], [[1, 0], [b, 1]], [[1 + a * b, a], [b, 1]], [[0, 1], [1, 0]]):
            B = np.array(U, dtype=float) @ np.stack([r1, r2])
            got.append(B)
            want.append(np.linalg.norm(r1))
    got.append(np.array([[3.0, 4.0], [0.0, 0.0]]))                # a 1-D lattice
    want.append(5.0)
    assert np.allclose(structure._shortest_vectors(np.array(got)), want, rtol=1e-9)


def test_spans_says_when_sites_pin_down_a_lattice():
    line = np.stack([np.arange(6), 2 * np.arange(6) + 1], 1)      # all on one line of sites
    bent = line.copy()
    bent[4] += (1, 0)
    one = np.ones((6, 2))
    big = line * 10 ** 6                                          # no rounding in integers
    big[5] += (0, 1)
    got = structure._spans(np.array([line, bent, one, line * 10 ** 6, big], dtype=float))
    assert got.tolist() == [False, True, False, False, True]
    assert structure._spans(np.array([[[3], [3], [3]], [[3], [3], [4]]], dtype=float)).tolist() == [False, True]
