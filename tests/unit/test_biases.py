import numpy as np
import pytest
import torch

from modadd.biases import relative_bias
from modadd.data import unordered_pairs
from modadd.model import ModelConfig, init_params


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
