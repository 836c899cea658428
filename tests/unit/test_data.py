import math

import pytest
import torch

from modadd.core.data import all_pairs, make_dataset, validation_mask


def test_all_pairs_is_the_addition_table():
    pairs, labels = all_pairs(7)
    assert pairs.shape == (49, 2) and labels.shape == (49,)
    for (a, b), y in zip(pairs.tolist(), labels.tolist()):
        assert y == (a + b) % 7
    assert torch.equal(labels.reshape(7, 7), labels.reshape(7, 7).T)


@pytest.mark.parametrize("n", [2, 5, 17, 31])
@pytest.mark.parametrize("frac", [0.0, 0.2, 0.5, 0.95])
def test_split_is_by_unordered_pair(n, frac):
    ds = make_dataset(n, frac, seed=3)
    assert len(ds.train_pairs) + len(ds.val_pairs) == n * n
    held = ds.val_mask.reshape(n, n)
    assert torch.equal(held, held.T), "(a, b) and (b, a) must be on the same side"
    u = n * (n + 1) // 2
    n_unordered_val = int(torch.triu(held).sum())
    assert n_unordered_val == min(round(frac * u), u - 1)
    assert len(ds.train_pairs) > 0
    train = {tuple(p) for p in ds.train_pairs.tolist()}
    for a, b in ds.val_pairs.tolist():
        assert (b, a) not in train
    assert torch.equal(ds.train_labels, ds.train_pairs.sum(1) % n)
    assert torch.equal(ds.val_labels, ds.val_pairs.sum(1) % n)


def test_split_is_deterministic_and_depends_on_seed():
    a = validation_mask(17, 0.2, seed=1)
    assert torch.equal(a, validation_mask(17, 0.2, seed=1))
    assert not torch.equal(a, validation_mask(17, 0.2, seed=2))


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=1), "n must be an integer >= 2.*n=1"),
    (dict(n=0), "n=0"),
    (dict(n=17.0), "got 17.0"),
    (dict(n=True), "got True"),
    (dict(n="17"), "got '17'"),
    (dict(n=17, val_fraction=1.5), r"val_fraction must be in \[0, 1\), got val_fraction=1.5"),
    (dict(n=17, val_fraction=1.0), "val_fraction=1.0"),
    (dict(n=17, val_fraction=-0.1), "val_fraction=-0.1"),
    (dict(n=17, val_fraction=math.nan), "val_fraction=nan"),
    (dict(n=17, val_fraction="0.2"), "val_fraction must be a number"),
    (dict(n=17, seed=-1), "seed must be a non-negative integer, got -1"),
    (dict(n=17, seed=1.5), "got 1.5"),
])
def test_bad_input_names_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_dataset(**kwargs)
