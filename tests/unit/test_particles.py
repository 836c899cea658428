import math

import numpy as np
import pytest
import torch

from modadd import particles, plots
from modadd.forces import alignment_force, clustering_force, repulsion_force, to_embeddings
from modadd.core.model import sum_vectors
from modadd.particles import EXACT_UP_TO, ParticleBlowUp, fix_gauge, random_start, simulate, spacing
from modadd.analysis.structure import grid_score
from modadd.core.data import unordered_pairs

torch.set_num_threads(1)


# ---------------------------------------------------------------- the forces it calls


def dense_same_answer(S, labels, w, sigma):
    """Clustering and alignment written as plain loops over all pairs of sums (O(U^2))."""
    M, U, _ = S.shape
    clu = torch.zeros_like(S)
    ali = torch.zeros_like(S)
    for m in range(M):
        for p in range(U):
            sp = S[m, p]
            rp = sp.norm()
            tp = torch.stack([-sp[1], sp[0]]) / rp
            for q in range(U):
                if labels[q] != labels[p]:
                    continue
                d = S[m, q] - sp
                clu[m, p] += w[q] * math.exp(-float(d @ d) / (2 * sigma ** 2)) * d
                dth = math.atan2(S[m, q, 1], S[m, q, 0]) - math.atan2(sp[1], sp[0])
                ali[m, p] += w[q] * S[m, q].norm() * 0.5 * math.sin(2 * dth) * tp
    return clu, ali


@pytest.mark.parametrize("n", [5, 6])          # odd n: equal answer groups; even n: unequal (padding)
def test_grouped_forces_equal_the_all_pairs_formulas(n):
    g = torch.Generator().manual_seed(n)
    E = torch.randn(2, n, 2, generator=g, dtype=torch.float64)
    pairs, mult = unordered_pairs(n)
    labels = pairs.sum(1) % n
    S = sum_vectors(E, pairs)
    w = (mult / n).double()
    clu, ali = dense_same_answer(S, labels, w, 0.7)
    assert torch.allclose(clustering_force(S, labels, 0.7, weights=w), clu, atol=1e-12)
    assert torch.allclose(alignment_force(S, labels, weights=w), ali, atol=1e-12)


def _sums(n, M, seed=0):
    E = fix_gauge(random_start(n, range(seed, seed + M)))
    pairs, mult = unordered_pairs(n)
    return sum_vectors(E, pairs), pairs.sum(1) % n, (mult / n).double()


@pytest.mark.parametrize("n, M", [(17, 3), (31, 1), (59, 1)])
def test_mesh_repulsion_matches_the_exact_sum_over_all_pairs(n, M):
    S, labels, w = _sums(n, M)
    sigma = 0.7 * spacing(n)
    exact = repulsion_force(S, labels, sigma, weights=w)
    mesh = repulsion_force(S, labels, sigma, weights=w, method="mesh")
    rel = (mesh - exact).norm(dim=(1, 2)) / exact.norm(dim=(1, 2))
    assert (rel < 0.01).all(), rel                   # the documented accuracy: within 1%
    finer = repulsion_force(S, labels, sigma, weights=w, method="mesh", cells_per_sigma=6)
    assert ((finer - exact).norm(dim=(1, 2)) / exact.norm(dim=(1, 2)) < rel / 2).all()


def test_mesh_repulsion_pushes_are_equal_and_opposite():
    S, labels, w = _sums(23, 2, seed=5)
    for method in ("exact", "mesh"):
        f = repulsion_force(S, labels, 0.5, weights=w, method=method)
        total = (w[None, :, None] * f).sum(1)              # sum_p w_p f_p: every pair cancels
        assert total.abs().max() < 1e-12 * f.abs().max(), method
    one = torch.tensor([[[0.3, -1.1], [2.0, 0.5]]], dtype=torch.float64)
    far = repulsion_force(one, torch.tensor([0, 1]), 0.1, method="mesh")   # 2 sums, 20 sigma apart
    assert far.abs().max() < 1e-12                     # beyond the window: no push, no self-push


def test_mesh_repulsion_bad_arguments():
    S, labels, w = _sums(11, 2)
    with pytest.raises(ValueError, match="method must be 'exact' or 'mesh'"):
        repulsion_force(S, labels, 0.5, method="fft")
    with pytest.raises(ValueError, match="one window width"):
        repulsion_force(S, labels, torch.tensor([0.5, 0.6], dtype=torch.float64), method="mesh")
    with pytest.raises(ValueError, match="cells_per_sigma must be a number >= 1"):
        repulsion_force(S, labels, 0.5, method="mesh", cells_per_sigma=0.5)
    far = S.clone()
    far[:, 0] = 1e4                                     # one sum 20,000 windows away
    with pytest.raises(ValueError, match=r"span 1e\+04.*exceed the limit.*method='exact'"):
        repulsion_force(far, labels, 0.5, method="mesh")


def test_simulation_sums_the_repulsion_exactly_for_small_n_on_a_mesh_above():
    assert simulate(EXACT_UP_TO, steps=2).repulsion_method == "exact"
    assert simulate(EXACT_UP_TO + 2, steps=2).repulsion_method == "mesh"
    assert simulate(11, steps=2, repulsion=0).repulsion_method == "off"
    # one step by hand: the three forces of chapter 4, moved onto the particles, then the gauge
    n = 13
    s = simulate(n, 0.8, 1.7, step_size=0.05, steps=1, seed=4, repulsion=0.6, repulsion_width=0.9)
    E = torch.from_numpy(s.E[:, 0])
    pairs, mult = unordered_pairs(n)
    labels, w = pairs.sum(1) % n, (mult / n).double()
    S = sum_vectors(E, pairs)
    f = (0.8 * clustering_force(S, labels, 1.5 * spacing(n), weights=w)
         + 1.7 * alignment_force(S, labels, weights=w)
         + 0.6 * repulsion_force(S, labels, 0.9 * spacing(n), weights=w))
    want = fix_gauge(E + 0.05 * to_embeddings(f, pairs, n, w))
    assert torch.allclose(torch.from_numpy(s.E[:, 1]), want, atol=1e-12)


# ---------------------------------------------------------------- the gauge


def test_gauges():
    g = torch.Generator().manual_seed(1)
    E = torch.randn(3, 11, 2, generator=g, dtype=torch.float64) @ torch.tensor([[3.0, 1.0], [0.0, 0.2]],
                                                                                dtype=torch.float64) + 5
    A = fix_gauge(E, "affine")
    assert torch.allclose(A.mean(1), torch.zeros(3, 2, dtype=torch.float64), atol=1e-12)
    cov = A.transpose(1, 2) @ A / 11
    assert torch.allclose(cov, torch.eye(2, dtype=torch.float64).expand(3, 2, 2), atol=1e-10)
    Sc = fix_gauge(E, "scale")
    assert torch.allclose(Sc.square().mean((1, 2)), torch.ones(3, dtype=torch.float64))
    # the affine gauge commutes with rotations: it favours no direction
    c, s = math.cos(0.4), math.sin(0.4)
    R = torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
    assert torch.allclose(fix_gauge(E @ R, "affine"), A @ R, atol=1e-10)
    # the linear gauge keeps the origin: no shift, the second moment about 0 the identity
    L = fix_gauge(E, "linear")
    assert torch.allclose(L.transpose(1, 2) @ L / 11, torch.eye(2, dtype=torch.float64).expand(3, 2, 2), atol=1e-10)
    assert L.mean(1).norm(dim=1).min() > 0.5                    # E's mean (far from 0) is not removed
    assert torch.allclose(fix_gauge(E @ R, "linear"), L @ R, atol=1e-10)
    # a linear map of the cloud does not change its linear gauge up to a rotation: distances to 0 agree
    B = torch.tensor([[2.0, 0.5], [0.0, 1.0]], dtype=torch.float64)
    assert torch.allclose(fix_gauge(E @ B, "linear").norm(dim=2), L.norm(dim=2), atol=1e-9)


def test_simulation_with_the_linear_gauge_keeps_its_origin():
    sim = simulate(11, 1.0, 2.0, steps=40, seed=[0, 1], gauge="linear", start=np.full((2, 11, 2), 0.3)
                   + np.random.default_rng(0).normal(scale=0.1, size=(2, 11, 2)))
    assert sim.gauge == "linear" and np.isfinite(sim.E).all()
    assert np.linalg.norm(sim.E[:, 0].mean(1), axis=1).min() > 0.5   # the start's offset survives the gauge


# ---------------------------------------------------------------- the simulation


def test_simulation_is_reproducible_and_records_history():
    a = simulate(11, 1.0, 1.0, steps=60, seed=[3, 4], record_every=20)
    b = simulate(11, 1.0, 1.0, steps=60, seed=[3, 4], record_every=20)
    assert np.array_equal(a.E, b.E)
    assert a.E.shape == (2, 4, 11, 2) and list(a.steps) == [0, 20, 40, 60]
    assert not np.array_equal(a.E[0, -1], a.E[1, -1])           # different seeds, different systems
    one = simulate(11, 1.0, 1.0, steps=60, seed=4, record_every=20)
    assert np.allclose(one.E[0], a.E[1], atol=1e-6)       # a batch is its systems side by side
    # also on the mesh (n > 23), where a batch shares one mesh size
    batch = simulate(29, 1.0, 1.0, steps=300, seed=[3, 4, 5], record_every=100)
    alone = simulate(29, 1.0, 1.0, steps=300, seed=4, record_every=100)
    assert batch.repulsion_method == "mesh" and np.abs(batch.E[1] - alone.E[0]).max() < 1e-9


def test_strengths_per_system_and_table():
    s = simulate(9, [1.0, 0.0], [0.0, 2.0], steps=5, seed=[0, 0])
    t = s.table()
    assert list(t.clustering) == [1.0, 0.0] and list(t.alignment) == [0.0, 2.0]
    assert set(t["class"]) <= {"circle", "grid", "other"} and len(t) == 2


def test_take_keeps_the_chosen_systems_whole():
    sim = simulate(9, 1.0, [0.0, 1.0, 3.0], seed=[4, 5, 6], steps=30, record_every=10, rest=1e-3)
    part = sim.take([2, 0])
    assert part.seeds.tolist() == [6, 4] and part.alignment.tolist() == [3.0, 0.0]
    np.testing.assert_array_equal(part.E, sim.E[[2, 0]])
    np.testing.assert_array_equal(part.moved, sim.moved[[2, 0]])
    assert part.steps.tolist() == sim.steps.tolist() and part.n == 9
    assert part.table()["seed"].tolist() == [6, 4]
    assert len(sim.take([]).seeds) == 0
    with pytest.raises(ValueError, match=r"rows must be positions 0\.\.2 of this simulation's 3 systems, got 1\.\.3"):
        sim.take([1, 3])
    with pytest.raises(ValueError, match=r"rows must be positions 0\.\.2 .* got -1\.\.0"):
        sim.take([-1, 0])


def test_clustering_alone_grows_grids_alignment_grows_circles():
    s = simulate(17, 1.0, [0.0] * 6 + [3.0] * 6, steps=1000, seed=list(range(6)) * 2, record_every=1000)
    cls = s.table()["class"].tolist()
    assert cls[6:].count("circle") == 6
    assert cls[:6].count("grid") >= 4 and "circle" not in cls[:6]
    # two-dimensional grids: the median grid needs at least 4 parallel lattice lines
    lines = [grid_score(E).lines for E, c in zip(s.final[:6], cls[:6]) if c == "grid"]
    assert np.median(lines) >= 4, lines
    # without the repulsion the same starts give thin grids (a line and a point or two)
    thin = simulate(17, 1.0, 0.0, steps=1000, seed=range(6), record_every=1000, repulsion=0)
    assert np.median([grid_score(E).lines for E in thin.final]) <= 2


def test_systems_at_rest_stop_and_the_others_move_on():
    """rest: a settled system stops, keeps its positions, and says when; the rest of the batch
    moves on; what the chapter measures does not change."""
    kw = dict(steps=600, seed=list(range(4)) * 2, record_every=100)
    alpha = [0.0] * 4 + [3.0] * 4
    full = simulate(17, 1.0, alpha, **kw)
    rest = simulate(17, 1.0, alpha, rest=1e-8, **kw)
    assert full.rest is None and list(full.moved) == [600] * 8 and rest.rest == 1e-8
    stopped = rest.moved < 600
    assert stopped[4:].all()                                  # strong alignment: circles settle fast
    assert (rest.moved % particles.REST_WINDOW == 0).all()
    for m in np.flatnonzero(stopped):                        # frames after the stop repeat it
        after = rest.steps >= rest.moved[m]
        assert (rest.E[m, after] == rest.E[m, after][:1]).all()
    assert np.abs(rest.final - full.final).max() < 1e-6      # nothing left to change
    assert rest.table()["class"].tolist() == full.table()["class"].tolist()
    # the same arguments, the same bits
    assert np.array_equal(simulate(17, 1.0, alpha, rest=1e-8, **kw).E, rest.E)


def test_change_up_to_a_turn_ignores_a_rotation_of_the_whole_system():
    A = np.random.default_rng(1).normal(size=(3, 9, 2))
    A -= A.mean(1, keepdims=True)
    c, s = math.cos(0.7), math.sin(0.7)
    turned = A @ np.array([[c, s], [-s, c]])
    assert particles.change_up_to_a_turn(A, turned).max() < 1e-12
    B = A.copy()
    B[1, 4] += [0.01, 0.0]                                   # one particle moved in system 1
    d = particles.change_up_to_a_turn(A, B @ np.array([[c, s], [-s, c]]))
    assert d[0] < 1e-12 and d[2] < 1e-12 and 0.005 < d[1] <= 0.0101


def test_start_from_given_positions():
    start = np.random.default_rng(0).normal(size=(13, 2))
    s = simulate(13, 1.0, 0.0, steps=3, start=start)
    assert np.allclose(s.E[0, 0], fix_gauge(torch.from_numpy(start)[None], "affine")[0].numpy(), atol=1e-12)


def test_collapse_without_the_gauge_and_blow_up_error():
    # only the mean fixed: clustering shrinks everything toward a point
    s = simulate(11, 1.0, 0.0, steps=400, gauge="none", repulsion=0)
    assert np.abs(s.final).max() < 1e-3 * np.abs(s.E[:, 0]).max()
    # only the size fixed: alignment flattens everything onto a line
    s = simulate(11, 0.0, 3.0, steps=400, gauge="scale", repulsion=0)
    ev = np.linalg.eigvalsh(np.cov(s.final[0].T))
    assert ev[0] < 1e-3 * ev[1]
    with pytest.raises(ParticleBlowUp, match=r"blew up by step \d+ .*try a smaller step_size than 10"):
        simulate(17, 1.0, 5.0, step_size=10, steps=300, gauge="none")
    # on the mesh (n > 23) a runaway is caught before its mesh would fill the memory
    with pytest.raises(ParticleBlowUp, match=r"blew up by step \d+ .*try a smaller step_size than 50"):
        simulate(29, 1.0, 5.0, step_size=50, steps=300, gauge="none")


@pytest.mark.parametrize("kwargs, message", [
    (dict(n=1), "n"),
    (dict(n=2), "at least 3"),
    (dict(n=11, step_size=0.0), "step_size must be > 0"),
    (dict(n=11, step_size=float("nan")), "step_size must be a finite number"),
    (dict(n=11, steps=0), "steps must be an integer >= 1"),
    (dict(n=11, alignment=-1.0), "alignment must be >= 0"),
    (dict(n=11, clustering=float("inf")), "clustering must be a finite number"),
    (dict(n=11, seed=-2), "seed must be an integer >= 0"),
    (dict(n=11, seed=[]), "non-empty"),
    (dict(n=11, seed=[0, 1], alignment=[1.0, 2.0, 3.0]), "one per system"),
    (dict(n=11, alignment=[1.0, 2.0]), "one seed per system"),
    (dict(n=11, gauge="whiten"), "gauge must be one of"),
    (dict(n=11, clustering_width=0), "clustering_width must be > 0"),
    (dict(n=11, repulsion=-0.5), "repulsion must be >= 0"),
    (dict(n=11, repulsion_width=0), "repulsion_width must be > 0"),
    (dict(n=11, record_every=0), "record_every"),
    (dict(n=11, rest=0.0), "rest must be > 0"),
    (dict(n=11, rest="soon"), r"rest must be a finite number, got rest='soon'"),
    (dict(n=11, start=np.zeros((11, 2))), "one point"),
    (dict(n=11, start=np.zeros((5, 2))), r"start must have shape"),
])
def test_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate(**kwargs)


def test_spacing():
    assert spacing(4) == pytest.approx(math.sqrt(math.pi))


# ---------------------------------------------------------------- figures and controls


def test_embedding_animation_plays_panels_together():
    s = simulate(11, 1.0, 2.0, steps=200, record_every=10)
    t = simulate(11, 1.0, 0.0, steps=50, record_every=5)
    fig = plots.embedding_animation([("A", s.steps, s.E[0]), ("B", t.steps, t.E[0])], frames=12)
    assert len(fig.data) == 2 and len(fig.frames) > 5
    last = fig.frames[-1]
    assert last.name == "200 · 50"
    assert np.allclose(last.data[0].x, s.E[0, -1, :, 0]) and np.allclose(last.data[1].x, t.E[0, -1, :, 0])
    with pytest.raises(ValueError, match="panel 0"):
        plots.embedding_animation([("bad", s.steps, s.E[0, :, :, 0])])


def test_cutting_the_same_answer_tables_into_chunks_changes_no_bit(monkeypatch):
    import modadd.forces.kernels as kernels
    args = dict(n=31, clustering=1.0, alignment=[0.0, 3.0, 1.0], seed=[0, 1, 2], steps=60, record_every=60)
    whole = simulate(**args)                                 # 31 answers of 16 sums: one chunk at n = 31
    monkeypatch.setattr(kernels, "GROUP_CHUNK", 16 * 16 * 16)   # 16 groups a chunk: 6 chunks
    assert np.array_equal(simulate(**args).E, whole.E)


def _trajectory(field, n=9, steps=12, eta=0.05, seed=0):
    """Positions moved along one field of a Variant (no gauge): (1, steps, n, 2)."""
    from modadd.forces.fit import _component_fields
    from modadd.core.data import answers
    from modadd.forces import auto_sigma
    pairs, mult = unordered_pairs(n)
    labels = answers(pairs, n)
    E = random_start(n, [seed])
    out = [E[0]]
    for _ in range(steps - 1):
        S = sum_vectors(E, pairs)
        w = (mult / n).to(torch.float64)[None]
        widths = {"auto": auto_sigma(S, labels, weights=w), "nearest": auto_sigma(S, None, weights=w)}
        E = E + eta * _component_fields(S, pairs, labels, w, [field], widths, n)[field]
        out.append(E[0])
    return torch.stack(out)[None]


def test_fit_along_finds_the_field_a_trajectory_moved_by():
    from modadd.forces import Variant, fit_along
    law = Variant()                               # clustering + alignment
    for k, comp in enumerate(law.components()):
        coef = fit_along(_trajectory(comp), law, shift=True, every=1)[0]
        assert coef[k] == pytest.approx(1.0, abs=1e-6) and abs(coef[1 - k]) < 1e-6, (comp, coef)
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        fit_along(_trajectory(law.components()[0]), law, shift=True, every=0)
    with pytest.raises(ValueError, match=r"E must be an \(M, T, n, 2\)"):
        fit_along(np.zeros((1, 2, 5, 2)), law, shift=True)


def test_closure_picks_the_strength_whose_particles_give_the_networks_ratio():
    from modadd.forces import Variant
    starts = random_start(7, range(3)).numpy()
    c = particles.closure(Variant(), 1.0, "no biases", starts, alphas=[0.0, 1.0, 10.0], steps=20, every=2)
    t = c.table
    assert list(t.alignment) == [0.0, 1.0, 10.0] and c.network_ratio == 1.0
    finite = t[np.isfinite(t.gap)]
    assert c.alignment == float(finite.alignment[finite.gap.idxmin()])
    # more alignment, a larger share of the particles' own steps explained by it
    assert t.alignment_coef.iloc[2] > t.alignment_coef.iloc[0]
    # a negative network ratio cannot be met by particles whose fit gives positive ratios
    assert particles.closure(Variant(), -0.5, "no biases", starts, alphas=[1.0], steps=20).alignment is None
    with pytest.raises(ValueError, match="alphas must be a non-empty list"):
        particles.closure(Variant(), 1.0, "no biases", starts, alphas=[])
    with pytest.raises(ValueError, match="family"):
        particles.closure(Variant(), 1.0, "bias", starts)
    with pytest.raises(ValueError, match="needs both clustering and alignment"):
        particles.closure(Variant(forces=("clustering",)), 1.0, "no biases", starts)
    with pytest.raises(ValueError, match="network_ratio must be a finite number"):
        particles.closure(Variant(), "high", "no biases", starts)
    with pytest.raises(ValueError, match="every must be an integer >= 1, got every=0"):
        particles.closure(Variant(), 1.0, "no biases", starts, every=0)


def test_simulate_law_moves_particles_by_the_measured_field():
    from test_forces_law import known_law          # a law with known bins, as a ForceLaw
    from modadd.core.data import answers
    law = known_law(np.array([0, 1.0, 2.0, math.pi]), full_angle=True)
    start = random_start(7, range(3))
    sim = particles.simulate_law(law, start, 0.05, 1, record_every=1)
    # one step by hand: the gauge-fixed start, the law's field on all unordered sums, one Euler step
    E0 = particles.fix_gauge(start)
    pairs, mult = unordered_pairs(7)
    lab, w = answers(pairs, 7), (mult / 7).double().expand(3, -1)
    S = sum_vectors(E0, pairs)
    field = law.field(S.float(), lab, w.float()).double()             # the field in float32, the step in float64
    by_hand = particles.fix_gauge(E0 + 0.05 * to_embeddings(field, pairs, 7, w))
    assert np.allclose(sim.E[:, 0], E0.numpy()) and np.allclose(sim.E[:, 1], by_hand.numpy(), atol=1e-12)
    assert not np.allclose(sim.E[:, 1], E0.numpy(), atol=1e-3)            # it moved
    assert sim.law == "true" and np.isnan(sim.clustering).all() and list(sim.seeds) == [0, 1, 2]
    # a system alone moves as in a batch (for a few steps: the binned law jumps at its bin
    # edges, so later the batch's rounding can put a sum in the next bin: by step 5 on an AMD
    # EPYC, later on an Intel Xeon); the shuffled-answer law is another law
    long = particles.simulate_law(law, start, 0.05, 30, record_every=3)
    alone = particles.simulate_law(law, start[1], 0.05, 3, record_every=3)
    assert np.allclose(long.E[1, :2], alone.E[0], atol=1e-6) and not np.allclose(long.E[1, 0], long.E[1, 1])
    assert not np.allclose(particles.simulate_law(law, start, 0.05, 30, labels="shuffled").final, long.final)
    with pytest.raises(ValueError, match="law must be a modadd.forces.ForceLaw"):
        particles.simulate_law("law", start, 0.05, 10)
    with pytest.raises(ValueError, match="labels must be one of"):
        particles.simulate_law(law, start, 0.05, 10, labels="random")
    with pytest.raises(ValueError, match="start must be an"):
        particles.simulate_law(law, start[:, :2], 0.05, 10)
    with pytest.raises(ValueError, match="step_size"):
        particles.simulate_law(law, start, 0.0, 10)
