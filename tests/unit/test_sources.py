"""modadd.cache.sources: which source files a computation runs, and the hash every cache keys on."""
import shutil
from pathlib import Path

import pytest

import modadd
from modadd import source_hash
from modadd.cache import sources
from modadd.runs import sweep
from modadd.particles import simulate
from modadd.core.train import train


def test_code_files_follow_the_imports():
    root = Path(modadd.__file__).parent
    names = lambda m: [p.relative_to(root).as_posix() for p in sources.code_files(m)]
    # training: the trainer and what it imports (what the sweep cache keys its runs on)
    assert names("modadd.core.train") == ["__init__.py", "core/__init__.py", "core/data.py", "core/model.py",
                                          "core/numerics.py", "core/optim.py", "core/train.py", "core/validate.py"]
    assert sweep.code_hash() == sources.code_hash("modadd.core.train") == sources.code_hash(train)
    sim = names("modadd.particles")
    assert {"particles.py", "forces/__init__.py", "forces/kernels.py", "forces/mesh.py", "core/model.py"} <= set(sim)
    assert not {"plots/__init__.py", "plots/forces.py", "teaching/classroom.py", "widget.py", "__main__.py", "runs/sweep.py"} & set(sim)
    assert names("modadd.analysis.structure") == ["__init__.py", "analysis/__init__.py", "analysis/structure.py",
                                                   "cache/__init__.py", "cache/sources.py", "cache/store.py", "core/__init__.py",
                                                   "core/validate.py"]
    with pytest.raises(ValueError, match="'modadd.nothing' is not a module of the modadd package"):
        sources.code_files("modadd.nothing")


def test_code_hash_changes_with_the_code_the_function_runs_only(tmp_path):
    copy = tmp_path / "modadd"
    shutil.copytree(Path(modadd.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = {f: sources.code_hash(f, copy) for f in (train, simulate)}
    assert before == {f: sources.code_hash(f) for f in (train, simulate)}
    (copy / "plots" / "forces.py").write_text((copy / "plots" / "forces.py").read_text() + "\n# a figure's edit\n")
    assert {f: sources.code_hash(f, copy) for f in (train, simulate)} == before
    (copy / "forces" / "kernels.py").write_text((copy / "forces" / "kernels.py").read_text() + "\n# edit\n")
    assert sources.code_hash(train, copy) == before[train] and sources.code_hash(simulate, copy) != before[simulate]
    (copy / "core" / "optim.py").write_text((copy / "core" / "optim.py").read_text() + "\n# edit\n")
    assert sources.code_hash(train, copy) != before[train]
    # a function from outside the package: every source file of it
    outside = lambda: None
    assert sources.code_hash(outside, copy) == source_hash(copy) != source_hash()


def test_the_build_id_is_a_version_pip_keeps_as_written(monkeypatch):
    """A wheel is named with modadd's build id; pip names the installed version canonically.
    The two must be the same string even for a hash of digits with a leading zero."""
    from packaging.version import Version

    import modadd
    for h in ("0433671976", "3f9a0c12de", "1234567890"):
        monkeypatch.setattr(modadd, "source_hash", lambda package_dir=None, h=h: h)
        v = modadd.build_id()
        assert str(Version(v)) == v and v.endswith(h), v
