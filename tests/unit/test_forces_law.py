"""modadd.forces.law (what the architecture implies; the measured force law) and the
chapter tables of modadd.forces.fit (fit_at, explained_by_force_set, explained_by_phase)."""
import math

import numpy as np
import pytest
import torch

from modadd import forces
from modadd.forces import kernels
from modadd.forces.kernels import answer_groups, bin_index, binned_law, law_tables
from modadd.forces.law import _design
from modadd.core.model import Params, mlp
from modadd.core.data import unordered_pairs
from small_networks import N, short_runs

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def hist():
    """2 + 2 short runs of each family, every parameter recorded."""
    return short_runs(2, steps=120)


def params_of(hist, run, t=-1):
    return Params(*(x.double() for x in hist.params_at(run, t).tensors()))


def sums_of(p, n=N):
    pairs, _ = unordered_pairs(n)
    return p.E[:, pairs[:, 0]] + p.E[:, pairs[:, 1]]


# ---------------------------------------------------------------- the interaction count


@pytest.mark.parametrize("n", [3, 5, 11, 17, 31])
def test_same_answer_pairs_number_n_times_n_plus_1_squared_over_4(n):
    pairs, _ = unordered_pairs(n)
    labels = pairs.sum(1) % n
    assert len(pairs) == n * (n + 1) // 2
    same = int((labels[:, None] == labels[None, :]).sum())          # ordered (p, q), p = q included
    assert same == n * (n + 1) ** 2 // 4
    _, _, real, _ = answer_groups(labels)                          # the table the kernels compute on
    assert int(real.sum(1).square().sum()) == same
    assert real.shape == (n, (n + 1) // 2) and bool((real == 1).all())


# ---------------------------------------------------------------- derivation checks


def test_sum_jacobian_matches_autograd_and_is_scale_free_without_biases(hist):
    for run in (0, 2):
        p = params_of(hist, run)
        S = sums_of(p)
        J = forces.sum_jacobian(p, S)
        assert J.shape == (1, len(S[0]), 2, N)
        for i in (0, 7, 30):
            auto = torch.autograd.functional.jacobian(lambda s: mlp(p, s[None, None])[0, 0], S[0, i])
            assert torch.allclose(J[0, i], auto.T, atol=1e-12)
    pc, pb = params_of(hist, 0), params_of(hist, 2)
    S = sums_of(pc)
    assert torch.equal(forces.sum_jacobian(pc, 0.3 * S), forces.sum_jacobian(pc, S))
    assert torch.allclose(torch.einsum("mpi,mpik->mpk", S, forces.sum_jacobian(pc, S)), mlp(pc, S), atol=1e-12)
    assert torch.allclose(mlp(pc, 2.5 * S), 2.5 * mlp(pc, S), atol=1e-12)
    # with biases neither holds
    assert not torch.allclose(mlp(pb, 2.5 * S), 2.5 * mlp(pb, S), atol=1e-3)
    assert not torch.allclose(torch.einsum("mpi,mpik->mpk", S, forces.sum_jacobian(pb, S)), mlp(pb, S), atol=1e-3)


def test_polar_parts():
    S = torch.tensor([[[2.0, 0.0], [0.0, 3.0], [0.0, 0.0]]])
    g = torch.tensor([[[1.0, 5.0], [1.0, 5.0], [1.0, 1.0]]])
    radial, tangential = forces.polar_parts(S, g)
    assert torch.allclose(radial, torch.tensor([[1.0, 5.0, 0.0]]))
    assert torch.allclose(tangential, torch.tensor([[5.0, -1.0, 0.0]]))
    with pytest.raises(ValueError, match="shape of S"):
        forces.polar_parts(S, g[:, :2])


def test_radial_part_of_the_pair_gradient_is_euler(hist):
    """u . grad c = l(s) . delta / r for a network without biases (the chapter's formula)."""
    p = params_of(hist, 0)
    cfg = hist.configs[0]
    pairs, labels, g = forces.pair_gradients(p, cfg)
    w = forces.fields.pair_weights(cfg).train_weights[0].double()
    tr = w > 0
    S = sums_of(p)
    radial, _ = forces.polar_parts(S, g / torch.where(tr, w, 1.0)[None, :, None])
    delta = torch.softmax(mlp(p, S), -1) - torch.nn.functional.one_hot(labels, N)
    expect = (mlp(p, S)[0] * delta[0]).sum(-1) / S[0].norm(dim=-1)
    assert torch.allclose(radial[0, tr], expect[tr], atol=1e-12)


def weight_kernel_autograd(p, s_p, s_q, bias):
    def logits(W1, b1, W2, b2, s):
        return torch.relu(s @ W1 + b1) @ W2 + b2
    args = (p.W1[0], p.b1[0], p.W2[0], p.b2[0])
    jp = torch.autograd.functional.jacobian(lambda *a: logits(*a, s_p), args)
    jq = torch.autograd.functional.jacobian(lambda *a: logits(*a, s_q), args)
    use = range(4) if bias else (0, 2)
    return sum(jp[i].reshape(N, -1) @ jq[i].reshape(N, -1).T for i in use)


@pytest.mark.parametrize("run,bias", [(0, False), (2, True)])
def test_weight_kernel_matches_autograd(hist, run, bias):
    p = params_of(hist, run)
    S = sums_of(p)
    Th = forces.weight_kernel(p, S[:, [1, 9]], S[:, [4, 20, 33]])
    assert Th.shape == (1, 2, 3, N, N)
    for a, i in enumerate((1, 9)):
        for b, k in enumerate((4, 20, 33)):
            assert torch.allclose(Th[0, a, b], weight_kernel_autograd(p, S[0, i], S[0, k], bias), atol=1e-10)


def test_weight_kernel_is_bilinear_in_the_radii_only_without_biases(hist):
    pc, pb = params_of(hist, 0), params_of(hist, 2)
    S = sums_of(pc)
    for p, homogeneous in ((pc, True), (pb, False)):
        base = forces.weight_kernel(p, S[:, :5], S[:, 5:9])
        scaled = forces.weight_kernel(p, 2 * S[:, :5], 0.5 * S[:, 5:9])
        assert torch.allclose(scaled, base, atol=1e-10) == homogeneous
    # opposite directions share no active unit: no interaction at all without biases
    assert bool((forces.weight_kernel(pc, S[:, :5], -0.7 * S[:, :5]).diagonal(dim1=1, dim2=2) == 0).all())


def test_switched_units(hist):
    p = params_of(hist, 2)
    S = sums_of(p)
    sw = forces.switched_units(p, S)
    on = forces.active_units(p, S)[0]
    assert sw.shape == (1, len(S[0]), len(S[0]))
    assert torch.allclose(sw, sw.transpose(1, 2)) and bool((sw.diagonal(dim1=1, dim2=2) == 0).all())
    assert math.isclose(sw[0, 3, 17].item(), (on[3] != on[17]).double().mean().item())
    # without biases: scaling a sum switches no unit
    pc = params_of(hist, 0)
    Sc = sums_of(pc)
    both = torch.cat([Sc, 3 * Sc], 1)
    U = Sc.shape[1]
    assert bool((forces.switched_units(pc, both)[0, torch.arange(U), U + torch.arange(U)] == 0).all())


def test_axial_angle():
    S = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [1.0, 1.0]]], dtype=torch.float64)
    a = forces.axial_angle(S)[0]
    assert math.isclose(a[0, 1].item(), -math.pi / 2, abs_tol=1e-7)          # folded into [-pi/2, pi/2)
    assert math.isclose(a[0, 2].item(), 0.0, abs_tol=1e-7)                   # opposite: the same line
    assert math.isclose(a[0, 3].item(), math.pi / 4, abs_tol=1e-7)
    assert math.isclose(a[3, 0].item(), -math.pi / 4, abs_tol=1e-7)


def test_directed_angle():
    S = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 1e-9], [1.0, -1.0]]], dtype=torch.float64)
    a = forces.directed_angle(S)[0]
    assert math.isclose(a[0, 1].item(), math.pi / 2, abs_tol=1e-7)           # not folded to lines
    assert math.isclose(abs(a[0, 2].item()), math.pi, abs_tol=1e-7)          # opposite: a half turn
    assert math.isclose(a[0, 3].item(), -math.pi / 4, abs_tol=1e-7)
    assert ((a >= -math.pi) & (a < math.pi)).all()


def test_full_angle_design_tells_a_directional_turn_from_an_axial_one():
    """A turn toward the partner's direction (sin dtheta) and one toward its line
    (sin 2 dtheta / 2) agree below pi/2 in sign, and differ near pi: the full-angle bins
    recover the sign there, the folded ones cannot see it."""
    S, lab, wq, sigma = synthetic(T=1, P=40, seed=2)
    r = S.norm(dim=-1)
    rq = (r / r.mean(-1, keepdim=True))[:, None, :]
    same = (lab[:, None] == lab[None, :]) & ~torch.eye(S.shape[1], dtype=torch.bool)
    u = S / r.unsqueeze(-1)
    t = torch.stack([-u[..., 1], u[..., 0]], -1)
    dth = forces.directed_angle(S)
    edges = np.linspace(0, math.pi, 7)
    for law, sign_near_pi in ((torch.sin(dth), 1.0), (torch.sin(2 * dth) / 2, -1.0)):
        y = ((law * rq * same).sum(2)).unsqueeze(-1) * t
        XtX, Xty, _, counts = _design(S, y, lab, wq, sigma, True, np.array([0, 9.0]), edges, full_angle=True)
        cols = [2 + j for j in range(6)]                       # the same-answer angle bins
        c = np.linalg.lstsq(XtX[np.ix_(cols, cols)], Xty[cols], rcond=None)[0]
        assert np.sign(c[-1]) == sign_near_pi and c[0] > 0     # the last bin: near pi; the first: near 0


def test_hinge_switching(hist):
    t = forces.hinge_switching(hist, runs=[0, 2])
    assert set(t.kind) == {"distance", "distance, same direction", "angle"}
    assert set(t.family) == {"no biases", "biases"}
    assert ((t.switched.dropna() >= 0) & (t.switched.dropna() <= 1)).all()
    with pytest.raises(ValueError, match="runs must be"):
        forces.hinge_switching(hist, runs=[9])


# ---------------------------------------------------------------- the measured force law


def turn_cells(full_angle):
    """The cells of the unwrapped angle difference that binned_law bins, for the chapters' angle bins."""
    a_edges = forces.law.FULL_ANGLE_BINS if full_angle else forces.law.ANGLE_BINS
    return law_tables(np.arange(3.0), np.zeros((2, 2)), a_edges, np.zeros((2, len(a_edges) - 1)), full_angle,
                      torch.float64)[2].numpy()


UNIFORM_EDGES = {"chapter 4's rounded": np.round(np.linspace(0, 3, 31), 6), "distance": forces.law.DISTANCE_BINS,
                 "axial angle": forces.law.ANGLE_BINS, "full angle": forces.law.FULL_ANGLE_BINS,
                 "turn cells, lines": turn_cells(False), "turn cells, directions": turn_cells(True),
                 "from below 0": np.linspace(-2.5, 7.0, 39)}
OTHER_EDGES = {"non-uniform": np.array([0, 0.1, 0.15, 1.0, 2.5, 2.6]), "one bin": np.array([0.5, 9.0])}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", list(UNIFORM_EDGES) + list(OTHER_EDGES))
def test_bin_index_is_the_search(name, dtype):
    """bin_index bins exactly as torch.bucketize(right=True) - 1 (B at or past the last edge,
    -1 below the first): at, just below and just above every edge, where the division that
    bins uniform edges could round to the next bin, and anywhere else."""
    edges = torch.tensor(np.asarray({**UNIFORM_EDGES, **OTHER_EDGES}[name], dtype=float), dtype=dtype)
    inf = torch.tensor([math.inf], dtype=dtype)
    near = torch.cat([torch.nextafter(edges, -inf), edges, torch.nextafter(edges, inf)])
    span = float(edges[-1] - edges[0])
    g = torch.Generator().manual_seed(0)
    spread = float(edges[0]) - span / 2 + 2 * span * torch.rand(3, 1000, generator=g, dtype=torch.float64)
    x = torch.cat([near, spread.to(dtype).flatten(), torch.tensor([-math.inf, math.inf, math.nan, 0.0, 1e30, -1e30],
                                                                   dtype=dtype)])
    for shape in ((-1,), (3, -1)):
        got = bin_index(x.reshape(shape), edges)
        assert got.dtype == torch.int32 and got.shape == x.reshape(shape).shape
        assert torch.equal(got.long(), torch.bucketize(x.reshape(shape), edges, right=True) - 1)


def synthetic(T=3, P=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    S = torch.randn(T, P, 2, generator=g, dtype=torch.float64)
    lab = torch.arange(P) % 4
    return S, lab, torch.ones(P, dtype=torch.float64), torch.full((T,), 0.8, dtype=torch.float64)


KNOWN_D_EDGES = np.array([0, 1, 2, 3.0])
KNOWN_K_SAME, KNOWN_K_DIFF = np.array([2.0, 1.0, 0.5]), np.array([-1.0, 0.0, 0.25])
KNOWN_A_SAME = np.array([0.3, 0.6, 0.1])


def known_law_target(S, lab, sigma, full_angle=False):
    """The force of a known piecewise-constant pull and turn (same answers only turn), pair
    by pair, written out from force_law's docstring; and its angle edges."""
    a_edges = np.array([0, 1.0, 2.0, math.pi]) if full_angle else np.array([0, 0.5, 1.0, math.pi / 2])
    P = S.shape[1]
    D = S[:, None] - S[:, :, None]
    dist = D.norm(dim=-1) / sigma[0]
    bin_d = torch.bucketize(dist, torch.tensor(KNOWN_D_EDGES), right=True) - 1
    same = (lab[:, None] == lab[None, :]) & ~torch.eye(P, dtype=torch.bool)
    diff = lab[:, None] != lab[None, :]
    k = torch.zeros_like(dist)
    for j in range(3):
        k = k + (bin_d == j) * (same * KNOWN_K_SAME[j] + diff * KNOWN_K_DIFF[j])
    y = (k.unsqueeze(-1) * D / sigma[0]).sum(2)
    dth = forces.directed_angle(S) if full_angle else forces.axial_angle(S)
    bin_a = torch.bucketize(dth.abs(), torch.tensor(a_edges), right=True) - 1
    r = S.norm(dim=-1)
    rq = (r / r.mean(-1, keepdim=True))[:, None, :]
    a = sum((bin_a == j) * same * KNOWN_A_SAME[j] for j in range(3)) * rq * torch.sign(dth)
    u = S / r.unsqueeze(-1)
    y = y + a.sum(2).unsqueeze(-1) * torch.stack([-u[..., 1], u[..., 0]], -1)
    return y, a_edges, same, dist


def test_design_recovers_a_known_binned_law():
    """A target built from a piecewise-constant pull and turn is recovered bin by bin."""
    S, lab, wq, sigma = synthetic(T=1)          # one step: the target's scale is one number
    y, a_edges, same, dist = known_law_target(S, lab, sigma)
    XtX, Xty, yty, counts = _design(S, y, lab, wq, sigma, True, KNOWN_D_EDGES, a_edges)
    c = np.linalg.lstsq(XtX[:12, :12], Xty[:12], rcond=None)[0]
    c = c / c[0] * 2.0                                       # the target was scaled per step
    assert np.allclose(c, np.concatenate([KNOWN_K_SAME, KNOWN_K_DIFF, KNOWN_A_SAME, [0, 0, 0]]), atol=1e-8)
    assert counts.shape == (12,) and counts[:3].sum() == int((same & (dist < 3)).sum())


def known_law(a_edges, full_angle):
    """The known law of known_law_target as a ForceLaw table (the shuffled rows: all values 0.5)."""
    rows = []
    for labels in ("true", "shuffled"):
        for kind, e, vals in (("distance", KNOWN_D_EDGES, (KNOWN_K_SAME, KNOWN_K_DIFF)),
                              ("angle", a_edges, (KNOWN_A_SAME, np.zeros(3)))):
            for pair, v in zip(forces.law.PAIRS, vals):
                for j in range(3):
                    rows.append(dict(kind=kind, pair=pair, labels=labels, lo=e[j], hi=e[j + 1],
                                     value=v[j] if labels == "true" else 0.5))
    import pandas as pd
    return forces.ForceLaw(table=pd.DataFrame(rows), assumed={}, r2={}, runs=0, steps=0, full_angle=full_angle)


@pytest.mark.parametrize("full_angle", [False, True])
def test_law_field_is_the_model_the_law_was_fitted_with(full_angle):
    """ForceLaw.field, used forwards, gives the force written out pair by pair; and the fit
    (_design) of that force recovers the table: the field and the measurement are one model."""
    S, lab, wq, _ = synthetic(T=2, seed=3)
    w = torch.ones(2, S.shape[1], dtype=torch.float64)
    sigma = forces.auto_sigma(S, lab, weights=w)
    _, a_edges, _, _ = known_law_target(S[:1], lab, sigma[:1], full_angle)
    law = known_law(a_edges, full_angle)
    f = law.field(S, lab, w)
    for t in range(2):
        y, *_ = known_law_target(S[t:t + 1], lab, sigma[t:t + 1], full_angle)
        assert torch.allclose(f[t:t + 1], y, atol=1e-12)
    XtX, Xty, _, _ = _design(S[:1], f[:1], lab, wq, sigma[:1], True, KNOWN_D_EDGES, a_edges, full_angle)
    c = np.linalg.lstsq(XtX[:12, :12], Xty[:12], rcond=None)[0]
    assert np.allclose(c / c[0] * 2.0, np.concatenate([KNOWN_K_SAME, KNOWN_K_DIFF, KNOWN_A_SAME, [0, 0, 0]]),
                       atol=1e-8)
    # the shuffled-answer law is its own table (every value 0.5 here)
    assert not torch.allclose(law.field(S, lab, w, "shuffled"), f)
    with pytest.raises(ValueError, match="labels_kind must be 'true' or 'shuffled', got labels_kind='random'"):
        law.field(S, lab, w, "random")
    with pytest.raises(ValueError, match="labels"):
        law.field(S, lab[:-1], w)


@pytest.mark.parametrize("full_angle", [False, True])
def test_binned_law_with_the_chapters_bins_is_the_law_pair_by_pair(full_angle, monkeypatch):
    """With the chapters' uniform bins (binned by division, the turn by the unwrapped angle
    difference in periodic cells) and a few models at a time, the field is the law written
    out pair by pair: the pull by the bin of d / sigma, the turn by the bin of |dtheta| (the
    last bin at and past the last edge) times sign(dtheta)."""
    monkeypatch.setattr(kernels, "PAIR_CHUNK", 2 * 40 * 40)              # 2 models a chunk: 2 chunks
    S, lab, _, _ = synthetic(T=3, P=40, seed=4)
    g = torch.Generator().manual_seed(4)
    w = torch.rand(3, 40, generator=g, dtype=torch.float64) + 0.5
    d_edges = np.asarray(forces.law.DISTANCE_BINS)
    a_edges = np.asarray(forces.law.FULL_ANGLE_BINS if full_angle else forces.law.ANGLE_BINS)
    Bd, Ba = len(d_edges) - 1, len(a_edges) - 1
    k, a = torch.randn(2, Bd, generator=g, dtype=torch.float64), torch.randn(2, Ba, generator=g, dtype=torch.float64)
    sigma = forces.auto_sigma(S, lab, weights=w)
    f = binned_law(S, lab, w, sigma, law_tables(d_edges, k.numpy(), a_edges, a.numpy(), full_angle, torch.float64))
    rel = (lab[:, None] != lab[None, :]).long()
    D = S[:, None] - S[:, :, None]                                        # s_q - s_p
    bd = torch.bucketize(D.norm(dim=-1) / sigma[:, None, None], torch.tensor(d_edges), right=True) - 1
    kk = torch.where(bd < Bd, k[rel.expand_as(bd), bd.clamp(max=Bd - 1)], 0.0)
    wq = (w / w.mean(-1, keepdim=True))[:, None, :]
    dth = forces.directed_angle(S) if full_angle else forces.axial_angle(S)
    ba = (torch.bucketize(dth.abs(), torch.tensor(a_edges), right=True) - 1).clamp(max=Ba - 1)
    r = S.norm(dim=-1)
    aa = a[rel.expand_as(ba), ba] * torch.sign(dth) * wq * (r / r.mean(-1, keepdim=True))[:, None, :]
    u = S / r.unsqueeze(-1)
    by_hand = ((kk * wq).unsqueeze(-1) * D / sigma[:, None, None, None]).sum(2) \
        + aa.sum(2).unsqueeze(-1) * torch.stack([-u[..., 1], u[..., 0]], -1)
    assert torch.allclose(f, by_hand, atol=1e-12)


def test_design_assumed_forms_explain_their_own_field():
    S, lab, wq, sigma = synthetic(T=1, seed=1)
    # the assumed clustering form, exactly as the force module computes it (window sigma)
    y = forces.clustering_force(S, lab, sigma, weights=wq[None].expand(S.shape[0], -1)) / sigma[:, None, None]
    XtX, Xty, yty, _ = _design(S, y, lab, wq, sigma, False, np.array([0, 1, 2.0]), np.array([0, 1, math.pi / 2]))
    cols = [8, 9, 10]
    c = np.linalg.lstsq(XtX[np.ix_(cols, cols)], Xty[cols], rcond=None)[0]
    res = yty - 2 * c @ Xty[cols] + c @ XtX[np.ix_(cols, cols)] @ c
    assert res / yty < 1e-10 and abs(c[1]) < 1e-6 * c[0] and abs(c[2]) < 1e-6 * c[0]


def test_force_law_table_and_checks(hist):
    law = forces.force_law(hist, runs=[0, 1], bootstrap=20)
    t = law.table
    assert set(t.kind) == {"distance", "angle"} and set(t.pair) == {"same answer", "different answer"}
    assert set(t.labels) == {"true", "shuffled"} and law.runs == 2 and law.steps == 6
    assert (t.ci_lo <= t.ci_hi).all() and np.isfinite(t.value).all()
    for labels in ("true", "shuffled"):
        assert all(0 <= v <= 1 for v in law.r2[labels].values())
    # every same-answer interaction (ordered p != q, both training pairs) falls in one angle bin
    w = forces.fields.pair_weights(hist.configs[:2]).train_weights.numpy()
    pairs, _ = unordered_pairs(N)
    labels = pairs.sum(1) % N
    counted = 0
    for m in (0, 1):
        lab = labels[w[m] > 0]
        counted += int((lab[:, None] == lab[None, :]).sum() - len(lab))
    assert law.kernel("angle")["count"].sum() == law.steps * counted
    x = np.array([0.0, 1.0])
    assert np.allclose(law.assumed_curve("distance", x), law.assumed["true"]["clustering"] * np.exp(-x ** 2 / 2))
    assert np.allclose(law.assumed_curve("distance", x, "different answer"),
                       -law.assumed["true"]["repulsion"] * np.exp(-x ** 2 / 2))
    again = forces.force_law(hist, runs=[0, 1], bootstrap=20)
    assert again.table.equals(t)
    with pytest.raises(ValueError, match="one family"):
        forces.force_law(hist, runs=[0, 2])
    with pytest.raises(ValueError, match="runs must be"):
        forces.force_law(hist, runs=[7])
    with pytest.raises(ValueError, match="distance_bins"):
        forces.force_law(hist, runs=[0], distance_bins=[1, 0])
    with pytest.raises(ValueError, match="angle_bins"):
        forces.force_law(hist, runs=[0], angle_bins=[0, 2.0])
    full = forces.force_law(hist, runs=[0, 1], bootstrap=20, full_angle=True)
    assert full.full_angle and full.kernel("angle").hi.max() == pytest.approx(math.pi)
    assert full.kernel("angle")["count"].sum() == law.kernel("angle")["count"].sum()   # every pair, once
    assert forces.force_law(hist, runs=[0], angle_bins=[0, 2.0], full_angle=True).kernel("angle").hi.max() == 2.0
    with pytest.raises(ValueError, match="full_angle must be"):
        forces.force_law(hist, runs=[0], full_angle="yes")
    with pytest.raises(ValueError, match="History"):
        forces.force_law(hist.params)
    with pytest.raises(ValueError, match="kind"):
        law.assumed_curve("radius", x)


# ---------------------------------------------------------------- chapter tables


def test_fit_at_is_one_row_of_explained_over_history(hist):
    curve = forces.explained_over_history(hist, 2, forces=("clustering", "alignment"))
    step, fit = forces.fit_at(hist, 2, 55, forces=("clustering", "alignment"))
    assert step == 60
    row = curve[curve.step == 60].iloc[0]
    assert math.isclose(fit.r2[0], row.r2, rel_tol=1e-6, abs_tol=1e-9)
    assert math.isclose(fit.coefficients["clustering"][0], row.coef_clustering, rel_tol=1e-6)
    assert fit.target.shape == (1, N, 2)
    assert forces.fit_at(hist, 2, 10_000)[0] == 120              # past the end: the last step
    with pytest.raises(ValueError, match="run must be"):
        forces.fit_at(hist, 4, 0)
    with pytest.raises(ValueError, match="step"):
        forces.fit_at(hist, 0, -1)


def test_explained_tables_equal_the_loops_they_replace(hist):
    sets = {"C": ("clustering",), "C+A": ("clustering", "alignment")}
    t = forces.explained_by_force_set(hist, sets)
    assert len(t) == 4 * 2 and list(t.family[:2]) == ["no biases"] * 2
    c = forces.explained_over_history(hist, 3, forces=("clustering", "alignment"))
    c = c[c.step > 0]
    row = t[(t.run == 3) & (t.forces == "C+A")].iloc[0]
    assert math.isclose(row.r2, c.r2.mean()) and math.isclose(row.shuffled, c.r2_shuffled.mean())
    ph = forces.explained_by_phase(hist, ("clustering",), phases=("a", "b"))
    assert len(ph) == 4 * 2 and set(ph.phase) == {"a", "b"}
    c = forces.explained_over_history(hist, 1, forces=("clustering",))
    c = c[c.step > 0].reset_index(drop=True)
    first = ph[(ph.run == 1) & (ph.phase == "a")].iloc[0]
    assert math.isclose(first.r2, c.r2.iloc[:3].mean())
    with pytest.raises(ValueError, match="force_sets"):
        forces.explained_by_force_set(hist, {})
    with pytest.raises(ValueError, match="phases"):
        forces.explained_by_phase(hist, phases=())
