"""Circle order, lattice rule (structure.py) and the agreement of two sets of embeddings."""
import math

import numpy as np
import pandas as pd
import pytest

from modadd.studies import agreement
from modadd.analysis.structure import circle_order, lattice_rule

# A reduced basis with no ties: |b1| < |b2| < |b2 - b1|, |b2 + b1|, so the rule is unique.
BASIS = np.array([[1.0, 0.1], [0.2, 1.3]])
N = 17


def circle(n, k, phase=0.3, radius=2.0, centre=(0.5, -1.0)):
    th = phase + 2 * np.pi * k * np.arange(n) / n
    return np.c_[radius * np.cos(th), radius * np.sin(th)] + np.asarray(centre)


def lattice_with_rule(p, q, n=N, basis=BASIS, r=0, offset=(0.7, -0.4)):
    """n sites of a compact patch with a ≡ p z1 + q z2 + r (mod n), one site per residue."""
    best = {}
    for z1 in range(-6, 7):
        for z2 in range(-6, 7):
            a = (p * z1 + q * z2 + r) % n
            d = np.sum((np.array([z1, z2]) @ basis) ** 2)
            if a not in best or d < best[a][0]:
                best[a] = (d, (z1, z2))
    assert len(best) == n, "the rule must reach every residue"
    z = np.array([best[a][1] for a in range(n)])
    return z @ basis + np.asarray(offset)


def rotation(theta):
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


# ---------------------------------------------------------------------------- circle order


@pytest.mark.parametrize("k", range(1, N))
def test_circle_order_of_exact_circles(k):
    assert circle_order(circle(N, k)) == min(k, N - k)


def test_circle_order_ignores_rotation_reflection_scale_and_shift():
    E = circle(N, 5)
    for T in (rotation(1.1), np.diag([1.0, -1.0]), 3.0 * np.eye(2)):
        assert circle_order(E @ T.T + [4.0, -2.0]) == 5


def test_circle_order_of_a_non_circle_is_an_error():
    with pytest.raises(ValueError, match="not a circle.*class 'grid'"):
        circle_order(lattice_with_rule(1, 4))
    with pytest.raises(ValueError, match="shape"):
        circle_order(np.zeros((17, 3)))


# ---------------------------------------------------------------------------- lattice rule


@pytest.mark.parametrize("p, q", [(1, 4), (2, 5), (3, 7), (1, 8), (4, 6)])
def test_lattice_rule_of_exact_lattices(p, q):
    assert lattice_rule(lattice_with_rule(p, q)) == (min(p, q), max(p, q))


@pytest.mark.parametrize("p, q", [(1, 4), (3, 7)])
def test_lattice_rule_quotients_signs_order_offset_and_similarities(p, q):
    want = (min(p, q), max(p, q))
    for pp, qq, r in [(-p, q, 0), (p, -q, 3), (-p, -q, 11), (q, p, 5)]:
        # signs and order of the basis vectors: the same grid, the rule read another way
        basis = BASIS[::-1] if (pp, qq) == (q, p) else BASIS
        assert lattice_rule(lattice_with_rule(pp % N, qq % N, basis=basis, r=r)) == want
    E = lattice_with_rule(p, q)
    for T in (rotation(0.7), np.diag([-1.0, 1.0]), 0.01 * np.eye(2)):
        assert lattice_rule(E @ T.T + [3.0, 1.0]) == want


def test_lattice_rule_does_not_depend_on_the_basis_the_fit_picks():
    # b2 + b1 instead of b2 is another basis of the same lattice, with rule (p, q + p):
    # the same points, so the same canonical rule.
    other = np.array([BASIS[0], BASIS[1] + BASIS[0]])
    E = lattice_with_rule(2, 5)
    z = np.rint((E - [0.7, -0.4]) @ np.linalg.inv(BASIS))
    z_other = np.c_[z[:, 0] - z[:, 1], z[:, 1]]           # E = offset + z_other @ other
    assert np.allclose(z_other @ other + [0.7, -0.4], E)
    assert lattice_rule(E) == (2, 5)


def test_relabelling_changes_the_rule_and_a_line_has_one_step():
    E = lattice_with_rule(1, 4)
    relabelled = E[(3 * np.arange(N)) % N]                 # residue a where 3a was: steps x 6
    assert lattice_rule(relabelled) == tuple(sorted((6, min(24 % N, -24 % N))))
    line = np.c_[np.arange(N) * 0.5, np.zeros(N)]
    assert lattice_rule(line) == (0, 1)
    assert lattice_rule(line[(5 * np.arange(N)) % N]) == (0, min(pow(5, -1, N), N - pow(5, -1, N)))


def test_lattice_rule_of_a_non_grid_is_an_error():
    with pytest.raises(ValueError, match="not a grid.*class 'circle'"):
        lattice_rule(circle(N, 3))
    with pytest.raises(ValueError, match="NaN"):
        lattice_rule(np.full((N, 2), np.nan))


# ---------------------------------------------------------------------------- agreement


def test_compare_and_agreement_on_known_pairs():
    first = np.stack([circle(N, 3), circle(N, 3), lattice_with_rule(1, 4), lattice_with_rule(1, 4),
                      circle(N, 2)])
    second = np.stack([circle(N, 14) @ rotation(2.0).T, circle(N, 5), lattice_with_rule(4, 1, basis=BASIS[::-1]),
                       lattice_with_rule(2, 5), lattice_with_rule(2, 5)])
    t = agreement.compare(first, second)
    assert t["network_class"].tolist() == ["circle", "circle", "grid", "grid", "circle"]
    assert t["particles_k"].tolist()[:2] == [3, 5] and t["particles_rule"][3] == (2, 5)
    assert t["same_class"].tolist() == [True, True, True, True, False]
    assert t["same_k"].tolist() == [True, False, None, None, None]
    assert t["same_rule"].tolist() == [None, None, True, False, None]
    s = agreement.agreement(t)
    assert list(s.index) == list(agreement.MEASURES)
    assert s.loc["class", ["agree", "of"]].tolist() == [4, 5]
    assert s.loc["circle order", ["agree", "of"]].tolist() == [1, 2]
    assert s.loc["lattice rule", "share"] == 0.5
    assert (s["lo"] < s["share"]).all() and (s["share"] < s["hi"]).all()


def test_agreement_where_nothing_applies_is_nan():
    t = agreement.compare(np.stack([circle(N, 3)]), np.stack([lattice_with_rule(1, 4)]), names=("a", "b"))
    s = agreement.agreement(t)
    assert "a_class" in t.columns and s.loc["class", "share"] == 0
    assert s.loc["circle order", "of"] == 0 and np.isnan(s.loc["circle order", "share"])


@pytest.mark.parametrize("first, second, match", [
    (np.zeros((2, 17, 2)), np.zeros((3, 17, 2)), "same number"),
    (np.zeros((17, 2)), np.zeros((17, 2)), r"\(R, n, 2\)"),
    ("abc", np.zeros((1, 17, 2)), r"\(R, n, 2\)"),
])
def test_compare_bad_input(first, second, match):
    with pytest.raises(ValueError, match=match):
        agreement.compare(first, second)


def test_compare_bad_names_and_agreement_bad_table():
    E = np.stack([circle(N, 3)])
    with pytest.raises(ValueError, match="names"):
        agreement.compare(E, E, names=("x", "x"))
    with pytest.raises(ValueError, match="compare"):
        agreement.agreement({"same_class": [True]})


def test_compare_takes_described_tables_and_reduced_rule_needs_a_fit():
    from modadd.analysis.structure import grid_score, reduced_rule
    E = np.stack([circle(N, 3), lattice_with_rule(2, 5)])
    d = agreement.describe_many(E)
    assert d["class"].tolist() == ["circle", "grid"] and d["k"][0] == 3 and d["rule"][1] == (2, 5)
    rolled = agreement.compare(d, d.iloc[::-1])
    assert rolled["same_class"].tolist() == [False, False]
    assert agreement.compare(d, E)["same_rule"].tolist() == [None, True]
    assert reduced_rule(grid_score(lattice_with_rule(3, 7))) == (3, 7)
    with pytest.raises(ValueError, match="GridFit"):
        reduced_rule((1, 2, 0))
    with pytest.raises(ValueError, match="describe_many"):
        agreement.compare(d[["class"]], E)


def test_best_fits_reads_the_order_and_rule_a_cloud_leans_to_whatever_its_class():
    rng = np.random.default_rng(0)
    noisy = circle(N, 3, radius=1.0) + rng.normal(scale=0.45, size=(N, 2))    # no longer a circle
    E = np.stack([circle(N, 3), lattice_with_rule(1, 4), noisy])
    described, best = agreement.describe_many(E), agreement.best_fits(E)
    assert best["class"].tolist() == described["class"].tolist()
    assert described["class"][2] != "circle" and pd.isna(described["k"][2])
    assert best["k"].tolist()[0] == 3 and best["k"].tolist()[2] == 3        # the noisy cloud still leans to k = 3
    assert best["rule"][1] == (1, 4) and best["rule"][0] == agreement.best_fits(E[:1])["rule"][0]
    with pytest.raises(ValueError, match="E_batch"):
        agreement.best_fits(np.zeros((17, 2)))
