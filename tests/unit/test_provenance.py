"""A stored result says when and where it was measured, and is flagged once its code changes."""
import json
import subprocess
from datetime import datetime, timezone

import pytest

from modadd import provenance


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def test_parse_date_with_and_without_time():
    assert provenance.parse_date("2026-12-02 23:57 UTC") == (utc(2026, 12, 2, 23, 57), True)
    assert provenance.parse_date("2026-11-24") == (utc(2026, 11, 24, 23, 59, 59), False)
    with pytest.raises(ValueError, match="2026-12-02 23:57 UTC"):
        provenance.parse_date("yesterday")


def test_is_stale():
    measured = utc(2026, 12, 1, 12, 0)
    assert provenance.is_stale(measured, utc(2026, 12, 1, 13, 0)) is True
    assert provenance.is_stale(measured, utc(2026, 12, 1, 11, 0)) is False
    assert provenance.is_stale(measured, None) is None
    # code committed together with the result is the code it measured
    assert provenance.is_stale(measured, utc(2026, 12, 1, 12, 0, 30), committed=utc(2026, 12, 1, 12, 0, 30)) is False


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin",
                        "GIT_COMMITTER_DATE": args[-1] if args[0] == "commit" else "",
                        "GIT_AUTHOR_DATE": args[-1] if args[0] == "commit" else ""})


def test_a_result_older_than_its_code_is_flagged(tmp_path):
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "src" / "modadd").mkdir(parents=True)
    (tmp_path / "src" / "modadd" / "particles.py").write_text("x = 1\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "code", "--date", "2026-11-01T10:00:00+00:00")
    result = tmp_path / "benchmarks" / "results" / "particles.json"
    result.write_text(json.dumps({"n17_1000_steps_s": 0.1}))          # no date: the commit's
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "result", "--date", "2026-11-02T10:00:00+00:00")
    p = provenance.result_provenance("particles.json", tmp_path)
    assert p.stale is False and p.date_from == "git" and p.measured == utc(2026, 11, 2, 10)
    assert "newer than the code" in p.describe() and "machine not recorded" in p.describe()
    (tmp_path / "src" / "modadd" / "particles.py").write_text("x = 2\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "faster", "--date", "2026-11-03T10:00:00+00:00")
    p = provenance.result_provenance("particles.json", tmp_path)
    assert p.stale is True and "OLDER than the code it describes (changed 2026-11-03 10:00 UTC)" in p.describe()
    # a result with its own date and machine shows them
    result.write_text(json.dumps({"date": "2026-11-04 09:30 UTC", "machine": "x86_64, 2 torch threads"}))
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "measured again", "--date", "2026-11-04T10:00:00+00:00")
    p = provenance.result_provenance("particles.json", tmp_path)
    assert p.stale is False and p.describe().startswith("2026-11-04 09:30 UTC; x86_64, 2 torch threads")


def test_unknown_result_and_no_git(tmp_path):
    with pytest.raises(ValueError, match="known: build.json"):
        provenance.result_provenance("nope.json", tmp_path)
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "sweep.json").write_text(json.dumps({"date": "2026-11-24"}))
    p = provenance.result_provenance("sweep.json", tmp_path)     # not a git repository
    assert p.stale is None and "unknown" in p.describe()


def test_machine_names_cores():
    assert "cores" in provenance.machine()


def test_each_benchmark_is_stale_when_any_module_its_script_imports_changes():
    import ast
    from modadd import REPO_ROOT
    from modadd.cache import sources
    scripts = {name: code[0] for name, code in provenance.BENCHMARK_CODE.items() if code[0].endswith(".py")}
    assert set(scripts) == set(provenance.BENCHMARK_CODE) - {"build.json"}
    del scripts["chapters.json"]                 # every chapter: all of src/ and book/
    for name, script in scripts.items():
        tree = ast.parse((REPO_ROOT / script).read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        imported |= {f"{n.module}.{a.name}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                     and n.module == "modadd" for a in n.names}
        closures = {}
        for m in imported:
            if m.startswith("modadd.") and m != "modadd.provenance":
                try:
                    closures[m] = sources.code_files(m, REPO_ROOT / "src" / "modadd")
                except ValueError:                 # a name, not a module ("from modadd import REPO_ROOT")
                    pass
        assert closures, script
        for m, files in closures.items():
            for f in files:
                path = f"src/{f.relative_to(REPO_ROOT / 'src').as_posix()}"
                assert path in provenance.BENCHMARK_CODE[name], (name, m, path)
