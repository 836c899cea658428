"""The one run cache: one key (the code a call runs, and its arguments), one atomic store,
one off switch, used by the sweeps, memo and the structure fits."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from modadd.analysis import structure
from modadd.cache import store
from modadd.cache.memo import memo
from modadd.core.model import ModelConfig
from modadd.core.train import GRID_RECIPE, sweep_configs, train
from modadd.particles import simulate
from modadd.runs import sweep

SMALL = replace(GRID_RECIPE, model=ModelConfig(n=7, hidden=8))


@pytest.fixture(autouse=True)
def cache(run_cache):
    return run_cache


def test_key_follows_the_function_its_arguments_and_its_code(monkeypatch):
    k = store.key(simulate, 17, 1.0, np.array([0.0, 3.0]), seed=range(2))
    assert k.startswith("simulate-") and k == store.key(simulate, 17, 1.0, np.array([0.0, 3.0]), seed=range(2))
    assert k != store.key(simulate, 17, 1.0, np.array([0.0, 3.1]), seed=range(2))
    assert k != store.key(simulate, 17, 1.0, np.array([0.0, 3.0]), seed=range(3))
    assert k != store.key(simulate, 17, 1.0, torch.tensor([0.0, 3.0]), seed=range(2))  # float32 != float64
    assert k != store.key(simulate, 17, 1, np.array([0.0, 3.0]), seed=range(2))          # int != float
    assert k != store.key(train, 17, 1.0, np.array([0.0, 3.0]), seed=range(2))
    monkeypatch.setattr(store, "code_hash", lambda fn: "other code")
    assert k != store.key(simulate, 17, 1.0, np.array([0.0, 3.0]), seed=range(2))


def test_the_three_users_key_by_the_code_of_what_they_store():
    """A sweep's run is keyed as train(config, steps), a fit by the structure module's code."""
    assert sweep.run_key(SMALL, 100) == store.key(train, SMALL, 100)
    E = np.zeros((1, 7, 2))
    assert store.code_hash(structure._fit_batch) == store.code_hash("modadd.analysis.structure")
    assert store.key(structure._fit_batch, E) != store.key(structure._fit_batch, E + 1)


def test_a_result_is_written_whole_or_not_at_all(cache, monkeypatch):
    store.save("memo", "x-1", {"a": np.arange(3)})
    assert store.has("memo", "x-1") and np.array_equal(store.load("memo", "x-1")["a"], np.arange(3))
    assert [p.name for p in (cache / "memo").iterdir()] == ["x-1.pt"]       # no temporary file left

    def broken(value, f):
        open(f, "wb").write(b"half")
        raise KeyboardInterrupt
    monkeypatch.setattr(store.torch, "save", broken)
    with pytest.raises(KeyboardInterrupt):
        store.save("memo", "x-2", [1, 2])
    assert not store.has("memo", "x-2")                                     # only a temporary file


def test_kinds_keep_one_key_apart(cache):
    k = store.key(train, SMALL, 10)
    store.save("runs", k, "a run's state")
    assert not store.has("memo", k)


def test_one_switch_turns_off_all_three(cache, monkeypatch):
    monkeypatch.setenv("MODADD_MEMO", "0")
    cfgs = sweep_configs(SMALL, seeds=range(2))
    a = sweep.run_sweep(cfgs, steps=5, progress=False)
    b = sweep.run_sweep(cfgs, steps=5, progress=False)
    assert not any(r.cached for r in a + b)
    assert all(np.array_equal(x.embeddings, y.embeddings) for x, y in zip(a, b))
    memo(simulate, 7, steps=2)
    structure.scores_many(np.stack([x.embeddings for x in a]).astype(np.float64))
    assert list(cache.rglob("*")) == []
    monkeypatch.delenv("MODADD_MEMO")
    c = sweep.run_sweep(cfgs, steps=5, progress=False)
    memo(simulate, 7, steps=2)
    structure.scores_many(np.stack([x.embeddings for x in a]).astype(np.float64))
    assert not any(r.cached for r in c) and all(np.array_equal(x.embeddings, y.embeddings) for x, y in zip(a, c))
    assert {p.parent.name for p in cache.rglob("*.pt")} == {"runs", "memo", "scores"}
