import numpy as np
import pytest
import torch

from modadd.studies.biases import relative_bias
from modadd.core.data import unordered_pairs
from modadd.core.model import ModelConfig, init_params


def by_hand(E, W1, b1, pairs):
    pre = np.stack([E[a] + E[b] for a, b in pairs]) @ W1
    return np.sqrt(np.mean(b1 ** 2)) / np.sqrt(np.mean(pre ** 2))


def test_one_network_by_hand():
    rng = np.random.default_rng(0)
    E, W1, b1 = rng.normal(size=(5, 2)), rng.normal(size=(2, 3)), rng.normal(size=3)
    pairs = unordered_pairs(5)[0].numpy()
    rho = relative_bias(E, W1, b1)                       # default: every unordered pair
    assert isinstance(rho, float) and rho == pytest.approx(by_hand(E, W1, b1, pairs), rel=1e-12)
    few = np.array([[0, 1], [4, 4]])
    assert relative_bias(E, W1, b1, few) == pytest.approx(by_hand(E, W1, b1, few), rel=1e-12)


def test_scales_like_a_ratio():
    rng = np.random.default_rng(1)
    E, W1, b1 = rng.normal(size=(7, 2)), rng.normal(size=(2, 4)), rng.normal(size=4)
    rho = relative_bias(E, W1, b1)
    assert relative_bias(E, W1, 3 * b1) == pytest.approx(3 * rho)
    assert relative_bias(2 * E, W1, b1) == pytest.approx(rho / 2)


def test_a_batch_of_histories_is_every_network_alone():
    p = init_params([ModelConfig(n=7, hidden=6)] * 3, [0, 1, 2])
    E = torch.stack([p.E, 2 * p.E], 1)                  # (runs, T, n, 2)
    W1, b1 = torch.stack([p.W1] * 2, 1), torch.stack([p.b1] * 2, 1)
    rho = relative_bias(E, W1, b1)
    assert rho.shape == (3, 2)
    for m in range(3):
        for t in range(2):
            assert rho[m, t] == pytest.approx(relative_bias(E[m, t], W1[m, t], b1[m, t]), rel=1e-6)


def test_no_biases_is_zero():
    rng = np.random.default_rng(2)
    rho = relative_bias(rng.normal(size=(4, 7, 2)), rng.normal(size=(4, 2, 5)), None)
    assert rho.shape == (4,) and (rho == 0).all()


def test_bad_shapes_are_named():
    rng = np.random.default_rng(3)
    E, W1, b1 = rng.normal(size=(2, 7, 2)), rng.normal(size=(2, 2, 5)), rng.normal(size=(2, 5))
    with pytest.raises(ValueError, match="W1 must have shape"):
        relative_bias(E, W1[:1], b1)
    with pytest.raises(ValueError, match="b1 must have shape"):
        relative_bias(E, W1, b1[:1])
    with pytest.raises(ValueError, match="E must have"):
        relative_bias(E[..., :1], W1, b1)
    with pytest.raises(ValueError, match="n must be an integer larger than every index"):
        relative_bias(E, W1, b1, np.array([[0, 7]]))


def test_bias_scaled_init_scales_b1_only():
    from dataclasses import replace

    from modadd.studies.biases import bias_scaled_init
    from modadd.core.train import GRID_RECIPE, train
    configs = [replace(GRID_RECIPE, seed=s) for s in range(3)]
    ref = init_params([c.model for c in configs], [0, 1, 2])
    p = bias_scaled_init(configs, [0.0, 0.5, 1.0])
    assert (p.b1[0] == 0).all() and torch.allclose(p.b1[1], 0.5 * ref.b1[1]) and torch.equal(p.b1[2], ref.b1[2])
    for k in ("E", "W1", "W2", "b2"):
        assert torch.equal(getattr(p, k), getattr(ref, k)), k
    assert torch.allclose(bias_scaled_init(configs, 0.25).b1, 0.25 * ref.b1)
    # rho at step 0 scales with the factor: the factor sets rho, the embeddings' scale divides it
    rho = relative_bias(p.E, p.W1, p.b1)
    assert rho[0] == 0 and rho[1] == pytest.approx(0.5 * relative_bias(ref.E[1], ref.W1[1], ref.b1[1]))
    # the run trained from it starts from exactly these parameters
    h = train(configs, steps=2, record_every=[1], init=p, progress=False)
    assert torch.equal(h.params.b1[:, 0], p.b1)
    with pytest.raises(ValueError, match="bias_scale must be >= 0"):
        bias_scaled_init(configs, -1.0)
    with pytest.raises(ValueError, match="one per config"):
        bias_scaled_init(configs, [1.0, 1.0])
    with pytest.raises(ValueError, match="bias=False"):
        bias_scaled_init([replace(c, model=replace(c.model, bias=False)) for c in configs], 1.0)


def test_fit_threshold_finds_the_best_cut():
    from modadd.studies.biases import fit_threshold
    m = fit_threshold([0.1, 0.2, 1.0, 2.0, 5.0], np.array([True, True, False, False, False]))
    assert m.fit_accuracy == 1.0 and m.threshold == pytest.approx(np.sqrt(0.2 * 1.0))
    assert list(m.predict([0.3, 0.5, 3.0])) == [True, False, False]
    # no cut separates them: the best one gets 4 of 5, and zero is allowed as a value
    m = fit_threshold([0.0, 0.2, 1.0, 2.0, 5.0], np.array([True, False, True, False, False]))
    assert m.fit_accuracy == pytest.approx(0.8)
    # all circles: the cut lies above every value
    assert fit_threshold([1.0, 2.0], np.array([True, True])).threshold == np.inf
    with pytest.raises(ValueError, match="circle must be a boolean array"):
        fit_threshold([1.0, 2.0], [1, 0])
    with pytest.raises(ValueError, match="rho must be a non-empty"):
        fit_threshold([-1.0, 2.0], np.array([True, False]))


def test_held_out_check_scores_the_other_runs():
    from modadd.studies.biases import held_out_check
    from modadd.analysis.stats import wilson_interval
    fit_rho, fit_c = [0.1, 0.2, 1.0, 2.0, 5.0], np.array([True, True, False, False, False])
    test_rho, test_c = [0.15, 3.0, 0.5, 0.3], np.array([True, False, False, False])
    r = held_out_check(fit_rho, fit_c, test_rho, test_c)
    assert r["threshold"] == pytest.approx(np.sqrt(0.2)) and r["fit accuracy"] == 1.0
    assert r["test runs"] == 4 and r["test accuracy"] == 0.75        # 0.3 is called a circle, wrongly
    lo, hi = wilson_interval(3, 4)
    assert (r["test lo"], r["test hi"]) == (pytest.approx(lo), pytest.approx(hi))
    assert r["base rate"] == 0.75                                    # "never a circle" on the test runs
