import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from modadd.core.data import make_dataset
from modadd.forces import (FORCE_NAMES, affine_part, alignment_force, clustering_force,
                           embedding_forces, explained_over_history, fit_forces,
                           pair_gradients, repulsion_force, shuffled_labels, to_embeddings,
                           auto_sigma)
from modadd.core.model import Params, loss_and_grads
from modadd.core.train import CIRCLE_RECIPE, GRID_RECIPE, pair_weights, train
from modadd.core.data import unordered_pairs

torch.set_num_threads(1)
SMALL = replace(GRID_RECIPE, model=replace(GRID_RECIPE.model, n=11, hidden=16), seed=3)


def random_sums(M=2, U=15, n_labels=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    S = torch.randn(M, U, 2, generator=g, dtype=torch.float64)
    labels = torch.arange(U) % n_labels
    return S, labels


# ---------------------------------------------------------------- exact per-pair gradients


def autograd_grad_E(cfg, params):
    """dL/dE by autograd, written the plain way: ordered training pairs, mean cross-entropy."""
    ds = make_dataset(cfg.model.n, cfg.val_fraction, cfg.seed)
    E, W1, b1, W2, b2 = (t[0].detach().double().clone() for t in params.tensors())
    E.requires_grad_(True)
    x = E[ds.train_pairs[:, 0]] + E[ds.train_pairs[:, 1]]
    logits = torch.relu(x @ W1 + b1) @ W2 + b2
    torch.nn.functional.cross_entropy(logits, ds.train_labels).backward()
    return E.grad


@pytest.mark.parametrize("cfg", [SMALL, replace(CIRCLE_RECIPE, seed=5)])
def test_pair_gradients_sum_to_the_embedding_gradient(cfg):
    h = train(cfg, steps=150, record_every=150, progress=False)
    p = Params(*(t.double() for t in h.final.tensors()))
    pairs, labels, g = pair_gradients(p, cfg)
    n = cfg.model.n
    assert pairs.shape == (n * (n + 1) // 2, 2) and g.shape == (1, len(pairs), 2)
    assert torch.equal(labels, pairs.sum(1) % n)
    summed = to_embeddings(g, pairs, n)
    w = pair_weights(cfg).train_weights
    assert torch.allclose(summed, loss_and_grads(p, pairs, labels, w.double()).grads.E, atol=1e-12)
    assert torch.allclose(summed[0], autograd_grad_E(cfg, p), atol=1e-10)
    # held-out pairs carry no gradient
    assert (g[0][w[0] == 0] == 0).all()


def test_pair_gradients_batch_of_steps_and_checks():
    h = train(SMALL, steps=40, record_every=20, progress=False)
    p = Params(*(x[0] for x in h.params.tensors()))          # 3 recorded steps as 3 models
    pairs, labels, g = pair_gradients(p, SMALL)
    assert g.shape == (3, len(pairs), 2)
    with pytest.raises(ValueError, match="one per model"):
        pair_gradients(p, [SMALL, SMALL])
    with pytest.raises(ValueError, match="n=17"):
        pair_gradients(p, GRID_RECIPE)
    with pytest.raises(ValueError, match="Params"):
        pair_gradients(p.E, SMALL)


def test_to_embeddings_counts_both_members_and_diagonal_twice():
    pairs = torch.tensor([[0, 0], [0, 1], [1, 2]])
    f = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]])
    F = to_embeddings(f, pairs, 3)
    assert torch.allclose(F[0], torch.tensor([[2.0, 1.0], [2.0, 3.0], [2.0, 2.0]]))
    Fw = to_embeddings(f, pairs, 3, weights=torch.tensor([1.0, 0.0, 0.5]))
    assert torch.allclose(Fw[0], torch.tensor([[2.0, 0.0], [1.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="n must be"):
        to_embeddings(f, pairs, 2)
    with pytest.raises(ValueError, match="pairs"):
        to_embeddings(f, pairs[:2], 3)


@pytest.mark.parametrize("M, n", [(1, 17), (4, 97), (320, 17)])
def test_add_rows_gives_index_adds_bits(M, n):
    """kernels.add_rows (the particles' sums -> embeddings, answers' totals) is
    ``index_add_`` along dimension 1, bit for bit, repeated indices included."""
    from modadd.forces.kernels import add_rows
    from modadd.core.data import answers
    pairs, _ = unordered_pairs(n)
    labels = answers(pairs, n)
    g = torch.Generator().manual_seed(n)
    src = torch.randn(M, len(pairs), 2, generator=g, dtype=torch.float64) * 10.0 ** torch.randint(-8, 8, (1, len(pairs), 1), generator=g)
    want = torch.zeros(M, n, 2, dtype=torch.float64).index_add_(1, pairs[:, 0], src).index_add_(1, pairs[:, 1], src)
    got = add_rows(n, (pairs[:, 0], pairs[:, 1]), src)
    assert got.shape == want.shape and got.is_contiguous() and torch.equal(got, want)
    want = torch.zeros(M, n, 2, dtype=torch.float64).index_add_(1, labels, src)
    assert torch.equal(add_rows(n, (labels,), src), want)


# ---------------------------------------------------------------- force formulas vs loops


def loop_forces(S, labels, w, sigma):
    """Reference: the docstring formulas, one pair at a time, with math.atan2."""
    M, U, _ = S.shape
    C, A, R = (torch.zeros_like(S) for _ in range(3))
    for m in range(M):
        for p in range(U):
            sp = S[m, p]
            th_p = math.atan2(sp[1], sp[0])
            t_p = torch.tensor([-math.sin(th_p), math.cos(th_p)], dtype=S.dtype)
            for q in range(U):
                sq = S[m, q]
                d = sq - sp
                k = 1.0 if sigma is None else math.exp(-float(d @ d) / (2 * sigma ** 2))
                if labels[q] == labels[p]:
                    C[m, p] += w[m, q] * k * d
                    th_q = math.atan2(sq[1], sq[0])
                    A[m, p] += w[m, q] * float(sq.norm()) * 0.5 * math.sin(2 * (th_q - th_p)) * t_p
                else:
                    R[m, p] -= w[m, q] * k * d
    return C, A, R


@pytest.mark.parametrize("sigma", [None, 0.7])
def test_forces_match_their_formulas(sigma):
    S, labels = random_sums()
    w = torch.rand(2, S.shape[1], generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    C, A, R = loop_forces(S, labels, w, sigma)
    assert torch.allclose(clustering_force(S, labels, sigma, weights=w), C, atol=1e-12)
    assert torch.allclose(alignment_force(S, labels, weights=w), A, atol=1e-12)
    assert torch.allclose(repulsion_force(S, labels, sigma, weights=w), R, atol=1e-12)


def test_alignment_is_axial_tangential_and_rotation_equivariant():
    S, labels = random_sums()
    f = alignment_force(S, labels)
    assert torch.allclose((f * S).sum(-1), torch.zeros(1, dtype=S.dtype), atol=1e-12)
    # same-answer sums on one line through the origin, on BOTH sides: no alignment force
    line = torch.tensor([1.0, 2.0], dtype=torch.float64)
    S_line = torch.stack([line * c for c in (1.0, -0.5, 2.0, -3.0)]).unsqueeze(0)
    assert alignment_force(S_line, torch.zeros(4, dtype=torch.long)).abs().max() < 1e-12
    # rotating every sum rotates every force
    c, s = math.cos(0.8), math.sin(0.8)
    Rm = torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
    assert torch.allclose(alignment_force(S @ Rm.T, labels), f @ Rm.T, atol=1e-12)
    assert torch.allclose(clustering_force(S @ Rm.T, labels, 0.5), clustering_force(S, labels, 0.5) @ Rm.T, atol=1e-12)
    # a sum at the origin feels and exerts nothing
    S0 = S.clone()
    S0[:, 0] = 0
    f0 = alignment_force(S0, labels)
    assert torch.isfinite(f0).all() and (f0[:, 0] == 0).all()
    # the powers do what the formula says
    r = S.norm(dim=-1, keepdim=True)
    assert torch.allclose(alignment_force(S, labels, self_power=1.0), r * f, atol=1e-12)


@pytest.mark.parametrize("self_power, other_power", [(0.0, 1.0), (1.0, 0.0), (0.5, 2.0)])
def test_alignment_equals_its_pairwise_definition(self_power, other_power):
    """The kernel sums one complex number per answer; the definition sums over pairs:
    f_p = r_p^a sum_{q: y_q = y_p} w_q r_q^b (1/2) sin 2(theta_q - theta_p) t_p."""
    S, labels = random_sums(M=3, U=21, n_labels=4, seed=5)
    S[1, 2] = 0                                          # a sum at the origin
    w = torch.rand(3, 21, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    want = torch.zeros_like(S)
    for m in range(3):
        for p in range(21):
            rp = float(S[m, p].norm())
            if rp == 0:
                continue
            tp = math.atan2(float(S[m, p, 1]), float(S[m, p, 0]))
            torque = sum(float(w[m, q]) * float(S[m, q].norm()) ** other_power
                         * 0.5 * math.sin(2 * (math.atan2(float(S[m, q, 1]), float(S[m, q, 0])) - tp))
                         for q in range(21) if labels[q] == labels[p] and float(S[m, q].norm()) > 0)
            want[m, p] = rp ** self_power * torque * torch.tensor([-math.sin(tp), math.cos(tp)])
    got = alignment_force(S, labels, self_power=self_power, other_power=other_power, weights=w)
    assert torch.allclose(got, want, atol=1e-12)


def test_shared_windows_equal_the_sum_of_their_clusterings():
    """The particles' clustering and same-answer repulsion share one distance table."""
    from modadd.forces.kernels import clustering, windows
    S, labels = random_sums(M=3, U=21, n_labels=4, seed=6)
    w = torch.rand(3, 21, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    c, sig = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64), torch.tensor([0.3, 0.7, 1.1], dtype=torch.float64)
    r, rsig = torch.full((3,), 0.8, dtype=torch.float64), torch.full((3,), 0.5, dtype=torch.float64)
    want = c[:, None, None] * clustering(S, labels, w, sig) + 0.8 * clustering(S, labels, w, rsig)
    assert torch.allclose(windows(S, labels, w, [(c, sig), (r, rsig)]), want, atol=1e-13)
    assert torch.allclose(windows(S, labels, w, [(c, sig)]), c[:, None, None] * clustering(S, labels, w, sig),
                          atol=1e-13)


def test_clustering_and_repulsion_directions():
    # two same-answer sums attract, two different-answer sums repel, along their line
    S = torch.tensor([[[0.0, 0.0], [1.0, 0.0]]], dtype=torch.float64)
    same, diff = torch.tensor([3, 3]), torch.tensor([3, 4])
    assert torch.allclose(clustering_force(S, same, None)[0], torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64))
    assert (clustering_force(S, diff) == 0).all() and (repulsion_force(S, same, 1.0) == 0).all()
    # the default window width is auto_sigma: here the one distance, 1
    assert torch.allclose(repulsion_force(S, diff), repulsion_force(S, diff, 1.0))
    k = math.exp(-0.5)
    assert torch.allclose(repulsion_force(S, diff, 1.0)[0], torch.tensor([[-k, 0.0], [k, 0.0]], dtype=torch.float64))


def test_auto_sigma():
    # answers alternate along a line with spacing 0.5; same answers repeat on top of each other
    x = torch.tensor([0.0, 0.0, 0.5, 0.5, 1.0, 1.0], dtype=torch.float64)
    S = torch.stack([x, torch.zeros_like(x)], -1).unsqueeze(0)
    labels = torch.tensor([0, 0, 1, 1, 0, 0])
    assert torch.allclose(auto_sigma(S, labels), torch.tensor([0.5], dtype=torch.float64))
    assert torch.allclose(auto_sigma(S), torch.tensor([0.5], dtype=torch.float64))   # distinct sums
    # pairs of weight 0 are neither counted nor neighbours
    x = torch.tensor([0.0, 0.5, 1.0, 3.0], dtype=torch.float64)
    S = torch.stack([x, torch.zeros_like(x)], -1).unsqueeze(0)
    labels = torch.tensor([0, 1, 0, 1])
    assert torch.allclose(auto_sigma(S, labels), torch.tensor([0.5], dtype=torch.float64))
    w = torch.tensor([1.0, 0.0, 1.0, 1.0])
    assert torch.allclose(auto_sigma(S, labels, weights=w), torch.tensor([2.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="coincide"):
        auto_sigma(torch.zeros(1, 4, 2), torch.tensor([0, 1, 0, 1]))


def test_shuffled_labels():
    labels = unordered_pairs(17)[0].sum(1) % 17
    a, b = shuffled_labels(labels, 0), shuffled_labels(labels, 0)
    assert torch.equal(a, b) and not torch.equal(a, labels)
    assert torch.equal(torch.bincount(a, minlength=17), torch.bincount(labels, minlength=17))
    assert not torch.equal(shuffled_labels(labels, 1), a)
    with pytest.raises(ValueError, match="seed"):
        shuffled_labels(labels, -1)


# ---------------------------------------------------------------- affine part and fit


def lattice_like_embeddings(M=3, n=11, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(M, n, 2, generator=g, dtype=torch.float64)


def test_unwindowed_clustering_is_affine_when_answers_are_balanced():
    n = 11
    pairs, _ = unordered_pairs(n)
    E = lattice_like_embeddings(n=n)
    F = embedding_forces(E, pairs, pairs.sum(1) % n, ("clustering",), sigma=None)["clustering"]
    assert torch.allclose(affine_part(F, E), F, atol=1e-10)


def test_affine_part():
    E = lattice_like_embeddings()
    A = torch.tensor([[0.3, -1.2], [0.7, 0.1]], dtype=torch.float64)
    t = torch.tensor([0.5, -2.0], dtype=torch.float64)
    F_aff = E @ A.T + t
    assert torch.allclose(affine_part(F_aff, E), F_aff, atol=1e-12)
    noise = torch.randn(E.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    rest = noise - affine_part(noise, E)
    assert torch.allclose(affine_part(rest, E), torch.zeros_like(rest), atol=1e-12)
    assert torch.allclose(affine_part(F_aff + rest, E), F_aff, atol=1e-12)
    # a single (n, 2) field broadcasts over models
    assert affine_part(F_aff[0], E).shape == E.shape


def test_fit_recovers_coefficients_through_an_affine_field():
    n = 11
    pairs, mult = unordered_pairs(n)
    labels = pairs.sum(1) % n
    E = lattice_like_embeddings(n=n)
    basis = embedding_forces(E, pairs, labels, ("clustering", "alignment"), sigma=1.0)
    A = torch.tensor([[1.5, -0.2], [0.4, 0.9]], dtype=torch.float64)
    aff = E @ A.T + torch.tensor([0.3, 0.1], dtype=torch.float64)
    target = 2 * basis["clustering"] - 0.5 * basis["alignment"] + 10 * aff
    fit = fit_forces(target, basis, E, remove_affine=True)
    assert np.allclose(fit.coefficients["clustering"], 2) and np.allclose(fit.coefficients["alignment"], -0.5)
    assert np.allclose(fit.r2, 1) and np.allclose(fit.cosine, 1)
    assert fit.cosine_per_embedding.shape == (3, n) and np.allclose(fit.cosine_per_embedding, 1)
    # without removal the affine field spoils the fit
    raw = fit_forces(target, basis, E, remove_affine=False)
    assert (raw.r2 < 0.999).all()
    # an affine target has nothing left to explain; an affine force explains nothing
    only_aff = fit_forces(aff, basis, E, remove_affine=True)
    assert np.allclose(only_aff.r2, 0) and np.allclose(only_aff.cosine, 0)
    aff_basis = fit_forces(basis["clustering"], {"affine": aff}, E, remove_affine=True)
    assert np.allclose(aff_basis.r2, 0) and np.allclose(aff_basis.coefficients["affine"], 0)
    # cosine of a least-squares fit is sqrt(r2)
    noisy = fit_forces(basis["clustering"] + torch.randn(E.shape, dtype=torch.float64), basis, E)
    assert np.allclose(noisy.cosine, np.sqrt(noisy.r2))


def test_fit_handles_forces_of_very_different_sizes():
    E = lattice_like_embeddings()
    g = torch.Generator().manual_seed(5)
    a, b = (torch.randn(E.shape, generator=g, dtype=torch.float64) for _ in range(2))
    fit = fit_forces(1e-6 * a + 3e4 * b, {"small": 1e-9 * a, "big": b}, E, remove_affine=False)
    assert np.allclose(fit.coefficients["small"], 1e3) and np.allclose(fit.coefficients["big"], 3e4)


# ---------------------------------------------------------------- along a history


@pytest.fixture(scope="module")
def grid_history():
    return train(replace(GRID_RECIPE, seed=0), steps=490, record_every=10, progress=False)


def test_explained_over_history(grid_history):
    h = grid_history
    df = explained_over_history(h, 0)
    assert len(df) == len(h.steps) == 50
    assert list(df.columns[:6]) == ["step", "sigma", "r2", "cosine", "r2_shuffled", "cosine_shuffled"]
    for name in FORCE_NAMES:
        assert f"coef_{name}" in df and f"coef_{name}_shuffled" in df
    assert (df.step.values == h.steps).all()
    assert ((df.r2 >= -1e-9) & (df.r2 <= 1 + 1e-9)).all()
    # one row equals the same fit made by hand
    t = 30
    p = h.params_at(0, t)
    p = Params(*(x.double() for x in p.tensors()))
    pairs, labels, g = pair_gradients(p, h.configs[0])
    w = pair_weights(h.configs[0]).train_weights
    target = -to_embeddings(g, pairs, 17)
    basis = embedding_forces(p.E, pairs, labels, FORCE_NAMES, weights=w.double())
    fit = fit_forces(target, basis, p.E, remove_affine=True)
    assert np.isclose(df.r2[t], fit.r2[0]) and np.isclose(df.coef_clustering[t], fit.coefficients["clustering"][0])
    # the shuffled baseline uses other labels, so it differs
    assert not np.allclose(df.r2, df.r2_shuffled)
    one = explained_over_history(h, 0, forces=("alignment",), sigma=None, remove_affine=False)
    assert list(one.columns) == ["step", "sigma", "r2", "cosine", "r2_shuffled", "cosine_shuffled",
                                 "coef_alignment", "coef_alignment_shuffled"]


# ---------------------------------------------------------------- input checks


def test_input_checks(grid_history):
    S, labels = random_sums()
    with pytest.raises(ValueError, match="shape"):
        clustering_force(S[0], labels)
    with pytest.raises(ValueError, match="NaN"):
        clustering_force(S * float("nan"), labels)
    with pytest.raises(ValueError, match="labels"):
        alignment_force(S, labels[:-1])
    with pytest.raises(ValueError, match="sigma=0"):
        clustering_force(S, labels, 0)
    with pytest.raises(ValueError, match="sigma=-1"):
        repulsion_force(S, labels, -1.0)
    with pytest.raises(ValueError, match="'wide'"):
        repulsion_force(S, labels, "wide")
    with pytest.raises(ValueError, match="weights"):
        clustering_force(S, labels, weights=-torch.ones(S.shape[1]))
    with pytest.raises(ValueError, match="self_power"):
        alignment_force(S, labels, self_power=float("inf"))
    E = lattice_like_embeddings()
    with pytest.raises(ValueError, match="'gravity'"):
        embedding_forces(E, unordered_pairs(11)[0], unordered_pairs(11)[0].sum(1) % 11, ("gravity",))
    with pytest.raises(ValueError, match="target"):
        fit_forces(torch.zeros(3, 10, 2), {"a": E}, E)
    with pytest.raises(ValueError, match="NaN"):
        fit_forces(E * float("nan"), {"a": E}, E)
    with pytest.raises(ValueError, match="basis"):
        fit_forces(E, {}, E)
    with pytest.raises(ValueError, match="'gravity'"):
        explained_over_history(grid_history, 0, forces=("clustering", "gravity"))
    with pytest.raises(ValueError, match="run=4"):
        explained_over_history(grid_history, 4)
    with pytest.raises(ValueError, match="sigma=0"):
        explained_over_history(grid_history, 0, sigma=0.0)
    bare = train(SMALL, steps=10, record_every=5, record_params=False, progress=False)
    with pytest.raises(ValueError, match="record_params"):
        explained_over_history(bare, 0)
