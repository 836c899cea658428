"""tools/provenance.py: a stored result says when and where it was measured, and is flagged
once its code changes (from the code hash it was stamped with, never from git at render time)."""
import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from modadd import REPO_ROOT
from tools import provenance


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def test_parse_date_with_and_without_time():
    assert provenance.parse_date("2026-12-02 23:57 UTC") == (utc(2026, 12, 2, 23, 57), True)
    assert provenance.parse_date("2026-11-24") == (utc(2026, 11, 24, 23, 59, 59), False)
    with pytest.raises(ValueError, match="2026-12-02 23:57 UTC"):
        provenance.parse_date("yesterday")


def test_a_result_is_flagged_once_its_code_changes(tmp_path):
    name = "particles.json"
    for f in provenance.BENCHMARK_CODE[name]:                  # a copy of the code it describes
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_bytes((REPO_ROOT / f).read_bytes())
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    result = tmp_path / "benchmarks" / "results" / name
    result.write_text(json.dumps({"n17_1000_steps_s": 0.1}))           # not stamped: measure again
    p = provenance.result_provenance(name, tmp_path)
    assert p.stale and not p.recorded and "no code hash recorded" in p.describe()
    assert p.describe().startswith("date not recorded; machine not recorded; OLDER")
    stamped = provenance.stamp(name, {"date": "2026-11-04 09:30 UTC", "machine": "x86_64, 2 torch threads"}, tmp_path)
    assert stamped["code_hash"] == provenance.code_hash(name, REPO_ROOT) and stamped["commit"] is None   # no git there
    result.write_text(json.dumps(stamped))
    p = provenance.result_provenance(name, tmp_path)
    assert p.recorded and p.stale is False and p.measured == utc(2026, 11, 4, 9, 30)
    assert p.describe() == "2026-11-04 09:30 UTC; x86_64, 2 torch threads; newer than the code it describes"
    changed = tmp_path / "src" / "modadd" / "particles.py"
    changed.write_text(changed.read_text() + "# faster\n")
    p = provenance.result_provenance(name, tmp_path)
    assert p.stale is True and "OLDER than the code it describes (changed since)" in p.describe()


def test_a_page_asks_no_git(tmp_path, monkeypatch):
    def no_git(*args, **kwargs):
        raise AssertionError(f"a page ran {args[0]!r}")
    monkeypatch.setattr(subprocess, "run", no_git)
    for name in provenance.BENCHMARK_CODE:
        if (REPO_ROOT / "benchmarks" / "results" / name).exists():
            assert " UTC; " in provenance.result_provenance(name, REPO_ROOT).describe()


def test_unknown_result(tmp_path):
    with pytest.raises(ValueError, match="known: against.json, build.json"):
        provenance.result_provenance("nope.json", tmp_path)


def test_machine_names_architecture_cores_and_model():
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), None) if Path("/proc/cpuinfo").exists() else None
    assert provenance.machine() == f"{platform.machine()}, {os.cpu_count()} cores" + (f", {model}" if model else "")


def test_machine_reports_a_planted_machine(tmp_path, monkeypatch):
    """Another architecture, core count and CPU model are what machine() says (not this machine's)."""
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Planted CPU 9000\n")
    monkeypatch.setattr(provenance, "Path", lambda _: info)
    monkeypatch.setattr(provenance.platform, "machine", lambda: "riscv64")
    monkeypatch.setattr(provenance.os, "cpu_count", lambda: 3)
    assert provenance.machine() == "riscv64, 3 cores, Planted CPU 9000"
    info.unlink()                                                  # no /proc/cpuinfo: no model
    assert provenance.machine() == "riscv64, 3 cores"


def test_each_benchmark_is_stale_when_any_module_its_script_imports_changes():
    import ast
    from modadd.cache import sources
    scripts = {name: code[0] for name, code in provenance.BENCHMARK_CODE.items() if code[0].endswith(".py")}
    assert set(scripts) == set(provenance.BENCHMARK_CODE) - {"build.json"}
    del scripts["chapters.json"], scripts["against.json"]     # every chapter: all of src/ and book/
    for name, script in scripts.items():
        tree = ast.parse((REPO_ROOT / script).read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        imported |= {f"{n.module}.{a.name}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                     and n.module == "modadd" for a in n.names}
        closures = {}
        for m in imported:
            if m.startswith("modadd."):
                try:
                    closures[m] = sources.code_files(m, REPO_ROOT / "src" / "modadd")
                except ValueError:                 # a name, not a module ("from modadd import REPO_ROOT")
                    pass
        assert closures, script
        for m, files in closures.items():
            for f in files:
                path = f"src/{f.relative_to(REPO_ROOT / 'src').as_posix()}"
                assert path in provenance.BENCHMARK_CODE[name], (name, m, path)
