import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from modadd import memo as memo_mod
from modadd import source_hash, sweep
from modadd.memo import memo, memo_key
from modadd.particles import simulate
from modadd.train import GRID_RECIPE, train, sweep_configs


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MODADD_CACHE", str(tmp_path))
    monkeypatch.delenv("MODADD_MEMO", raising=False)
    return tmp_path


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


def test_key_follows_arguments_and_code(monkeypatch):
    k = memo_key(simulate, 17, 1.0, np.array([0.0, 3.0]), seed=range(2))
    assert k == memo_key(simulate, 17, 1.0, np.array([0.0, 3.0]), seed=range(2))
    assert k != memo_key(simulate, 17, 1.0, np.array([0.0, 3.1]), seed=range(2))
    assert k != memo_key(simulate, 17, 1.0, np.array([0.0, 3.0]), seed=range(3))
    assert k != memo_key(simulate, 17, 1.0, torch.tensor([0.0, 3.0]), seed=range(2))  # float32 != float64
    assert k != memo_key(train, 17, 1.0, np.array([0.0, 3.0]), seed=range(2))
    monkeypatch.setattr(memo_mod, "code_hash", lambda fn: "other code")
    assert k != memo_key(simulate, 17, 1.0, np.array([0.0, 3.0]), seed=range(2))


def test_code_files_follow_the_imports():
    root = Path(memo_mod.__file__).parent
    names = lambda m: [p.relative_to(root).as_posix() for p in memo_mod.code_files(m)]
    # training: what the sweep cache keys its runs on (modadd.sweep._CODE), and the package's __init__
    assert names("modadd.train") == ["__init__.py"] + sorted(sweep._CODE)
    sim = names("modadd.particles")
    assert {"particles.py", "forces/__init__.py", "forces/kernels.py", "forces/mesh.py", "model.py"} <= set(sim)
    assert not {"plots.py", "classroom.py", "widget.py", "__main__.py", "sweep.py"} & set(sim)
    assert names("modadd.structure") == ["__init__.py", "structure.py", "validate.py"]
    with pytest.raises(ValueError, match="'modadd.nothing' is not a module of the modadd package"):
        memo_mod.code_files("modadd.nothing")


def test_code_hash_changes_with_the_code_the_function_runs_only(tmp_path):
    copy = tmp_path / "modadd"
    shutil.copytree(Path(memo_mod.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = {f: memo_mod.code_hash(f, copy) for f in (train, simulate)}
    assert before == {f: memo_mod.code_hash(f) for f in (train, simulate)}
    (copy / "plots.py").write_text((copy / "plots.py").read_text() + "\n# a figure's edit\n")
    assert {f: memo_mod.code_hash(f, copy) for f in (train, simulate)} == before
    (copy / "forces" / "kernels.py").write_text((copy / "forces" / "kernels.py").read_text() + "\n# edit\n")
    assert memo_mod.code_hash(train, copy) == before[train] and memo_mod.code_hash(simulate, copy) != before[simulate]
    (copy / "optim.py").write_text((copy / "optim.py").read_text() + "\n# edit\n")
    assert memo_mod.code_hash(train, copy) != before[train]
    # a function from outside the package: every source file of it
    outside = lambda: None
    assert memo_mod.code_hash(outside, copy) == source_hash(copy) != source_hash()


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
