import numpy as np
import pytest

from modadd.cache import store
from modadd.cache.memo import memo
from modadd.particles import simulate
from modadd.core.train import GRID_RECIPE, train, sweep_configs


@pytest.fixture(autouse=True)
def cache(run_cache):
    return run_cache


def counting(fn):
    def wrapped(*a, **k):
        wrapped.calls += 1
        return fn(*a, **k)
    wrapped.calls = 0
    wrapped.__name__ = wrapped.__qualname__ = fn.__name__
    return wrapped


def test_second_call_loads_the_same_history(cache):
    f = counting(train)
    cfgs = sweep_configs(GRID_RECIPE, seeds=range(2))
    a = memo(f, cfgs, steps=30, record_every=10, progress=False)
    b = memo(f, cfgs, steps=30, record_every=10, progress=False)
    assert f.calls == 1 and len(list((cache / "memo").glob("*.pt"))) == 1
    assert np.array_equal(a.embeddings, b.embeddings) and np.array_equal(a.val_acc, b.val_acc)
    fresh = train(cfgs, steps=30, record_every=10, progress=False)
    assert np.array_equal(fresh.embeddings, b.embeddings)      # loaded == computed again


def test_simulation_is_memoised():
    f = counting(simulate)
    a = memo(f, 17, 1.0, [0.0, 3.0], seed=[0, 1], steps=20)
    b = memo(f, 17, 1.0, [0.0, 3.0], seed=[0, 1], steps=20)
    assert f.calls == 1 and np.array_equal(a.E, b.E)


def test_off_switch_computes_every_time(monkeypatch):
    monkeypatch.setenv("MODADD_MEMO", "0")
    f = counting(simulate)
    memo(f, 17, steps=2)
    memo(f, 17, steps=2)
    assert f.calls == 2


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="type object"):
        memo(simulate, 17, seed=object())
    with pytest.raises(TypeError, match="must be a function"):
        memo(3, 17)
