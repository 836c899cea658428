import pytest
import torch

from modadd.core.data import answers, make_dataset, pair_split, unordered_pairs
from modadd.core.train import RunConfig, pair_weights


def test_pair_split_counts_each_ordered_pair_once():
    n = 11
    s = pair_split(n, [0, 3, 5], [0.2, 0.0, 0.5])
    U = n * (n + 1) // 2
    assert s.pairs.shape == (U, 2) and s.train_weights.shape == s.val_weights.shape == (3, U)
    assert torch.equal(s.labels, answers(s.pairs, n)) and torch.equal(s.multiplicity, unordered_pairs(n)[1])
    assert torch.allclose(s.train_weights.sum(1), torch.ones(3))
    assert s.has_val.tolist() == [True, False, True] and torch.all(s.val_weights[1] == 0)
    # the held-out pairs are exactly the dataset's, each unordered pair standing for its orders
    for m, (seed, v) in enumerate([(0, 0.2), (5, 0.5)]):
        ds = make_dataset(n, v, seed)
        held = {tuple(p) for p in s.pairs[s.val_weights[2 * m] > 0].tolist()}
        assert held == {tuple(sorted(p)) for p in ds.val_pairs.tolist()}
        assert torch.allclose(s.val_weights[2 * m][s.val_weights[2 * m] > 0] * len(ds.val_pairs),
                              s.multiplicity[s.val_weights[2 * m] > 0])


def test_pair_weights_is_the_split_of_the_runs():
    cfgs = [RunConfig(seed=1), RunConfig(seed=2, val_fraction=0.4)]
    a, b = pair_weights(cfgs), pair_split(17, [1, 2], [0.2, 0.4])
    assert torch.equal(a.train_weights, b.train_weights) and torch.equal(a.val_weights, b.val_weights)


@pytest.mark.parametrize("args, match", [
    ((1, [0], [0.2]), "n must be an integer >= 2"),
    ((5, [0, 1], [0.2]), "one validation fraction per seed"),
    ((5, [], []), "at least one seed"),
    ((5, [-1], [0.2]), "seed must be a non-negative integer"),
    ((5, [0], [1.0]), r"val_fraction must be in \[0, 1\)"),
])
def test_pair_split_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        pair_split(*args)
