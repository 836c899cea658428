"""When and where a benchmark result was measured, and whether the code it describes changed since.

The appendix shows numbers that were measured earlier (``benchmarks/results/*.json``). A
benchmark stamps its result when it measures (:func:`stamp`): the commit it ran at and
:func:`code_hash`, a hash of the code the result describes (:data:`BENCHMARK_CODE`). A page
compares that hash with the code's hash now (:func:`result_provenance`), so no git is asked
when a page renders, and flags a result older than its code. :func:`machine` names the
machine a benchmark measures on. A project tool: not in the package readers install.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import modadd
from modadd import REPO_ROOT
from modadd.cache.sources import code_files


def _runs(*modules: str) -> tuple[str, ...]:
    """Repository paths of the package files that importing ``modules`` runs
    (:func:`modadd.cache.sources.code_files`: the modules and all they import)."""
    root = Path(modadd.__file__).resolve().parent
    files = {p.relative_to(root).as_posix() for m in modules for p in code_files(m, root)}
    return tuple(f"src/modadd/{f}" for f in sorted(files))


#: What each benchmark result describes: the code whose change makes it stale (repository
#: paths; a folder stands for every file in it): the benchmark's script and the package
#: modules it imports, with all they import (derived, so a new import counts at once; not
#: this module, which only names the machine and stamps the result).
BENCHMARK_CODE = {
    "trainer.json": ("benchmarks/bench.py",) + _runs("modadd.core.train", "modadd.core.reference"),
    "sweep.json": ("benchmarks/bench_sweep.py",) + _runs("modadd.runs.sweep", "modadd.core.train", "modadd.core.model"),
    "dask.json": ("benchmarks/bench_dask.py",) + _runs("modadd.runs.cluster", "modadd.runs.sweep"),
    "particles.json": ("benchmarks/bench_particles.py",) + _runs("modadd.particles", "modadd.core.reference"),
    "widget.json": ("benchmarks/bench_widget.py", "src/modadd/web") + _runs("modadd.widget", "modadd.particles", "modadd.core.train",
                                                                     "modadd.core.reference"),
    # the build, and the test command after it (so the tests too)
    "build.json": ("benchmarks/bench_build.sh", "src", "tools", "book", "scripts", "tests", "_config.yml", "_toc.yml",
                   "requirements.txt"),
    "chapters.json": ("benchmarks/bench_chapters.py", "src", "tools", "book", "scripts/execute_chapters.py",
                      "requirements.txt"),
    # this code's chapters beside an earlier commit's (whose code is fixed by its commit)
    "against.json": ("benchmarks/bench_against.py", "src", "tools", "book", "requirements.txt"),
}


def machine() -> str:
    """This machine in words: architecture, cores, CPU model (where Linux says it)."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = ", " + line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores{model}"


#: Files under a folder of :data:`BENCHMARK_CODE` that are not code: caches, installed packages.
_NOT_CODE = {"__pycache__", "node_modules", ".ipynb_checkpoints", ".pytest_cache"}


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return [f for f in path.rglob("*") if f.is_file() and not _NOT_CODE & set(f.parts)
                and not any(part.endswith(".egg-info") for part in f.parts)]
    return [path] if path.is_file() else []


def code_hash(name: str, root: Path | None = None) -> str:
    """Short SHA-256 of the code the result ``name`` describes (:data:`BENCHMARK_CODE`):
    each file's repository path and bytes, in order."""
    root = _root(root)
    h = hashlib.sha256()
    for f in sorted({f for entry in _known(name) for f in _files(root / entry)}):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def stamp(name: str, result: dict, root: Path | None = None) -> dict:
    """``result`` with what it was measured on: ``commit`` (git's HEAD, None outside git) and
    ``code_hash`` (:func:`code_hash`). A benchmark calls it when it measures."""
    root = _root(root)
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=30)
        commit = out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {**result, "commit": commit, "code_hash": code_hash(name, root)}


def parse_date(text: str) -> tuple[datetime, bool]:
    """A result's ``date`` field as UTC: ``"2026-12-02"`` or ``"2026-12-02 23:57 UTC"``.
    Returns ``(when, has_time)``; a date alone means the end of that day."""
    t = str(text).replace(" UTC", "").strip()
    for fmt, has_time in (("%Y-%m-%d %H:%M", True), ("%Y-%m-%dT%H:%M:%S", True), ("%Y-%m-%d", False)):
        try:
            d = datetime.strptime(t, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
        return (d if has_time else d.replace(hour=23, minute=59, second=59)), has_time
    raise ValueError(f"a result's date must look like 2026-12-02 or 2026-12-02 23:57 UTC, got {text!r}")


def _root(root) -> Path:
    return Path(root or REPO_ROOT or ".")


def _known(name: str) -> tuple[str, ...]:
    if name not in BENCHMARK_CODE:
        raise ValueError(f"unknown benchmark result {name!r}; known: {', '.join(sorted(BENCHMARK_CODE))}")
    return BENCHMARK_CODE[name]


@dataclass(frozen=True)
class Provenance:
    """Where a benchmark result comes from: ``measured`` (UTC, from the result's ``date``;
    None if it has none), ``machine`` (None if the result does not say), ``recorded``
    (whether it was stamped with its code's hash) and ``stale`` (its code changed since, or
    it was not stamped: it should be measured again)."""

    name: str
    measured: datetime | None
    machine: str | None
    recorded: bool
    stale: bool

    def describe(self) -> str:
        """One line for a page: date, machine and whether it is current."""
        when = f"{self.measured:%Y-%m-%d %H:%M} UTC" if self.measured else "date not recorded"
        where = self.machine or "machine not recorded"
        if not self.recorded:
            state = "OLDER than the code it describes (no code hash recorded with it): measure again"
        elif self.stale:
            state = "OLDER than the code it describes (changed since): measure again"
        else:
            state = "newer than the code it describes"
        return f"{when}; {where}; {state}"


def result_provenance(name: str, root: Path | None = None) -> Provenance:
    """The :class:`Provenance` of ``benchmarks/results/<name>`` (a key of :data:`BENCHMARK_CODE`)."""
    _known(name)
    root = _root(root)
    data = json.loads((root / "benchmarks" / "results" / name).read_text())
    measured = parse_date(data["date"])[0] if "date" in data else None
    mach = data.get("machine")
    if mach and "cores" in data and "cores" not in str(mach):
        mach = f"{mach}, {data['cores']} cores"
    elif not mach and "cores" in data:
        mach = f"{data['cores']} cores"
    recorded = "code_hash" in data
    return Provenance(name, measured, mach, recorded, not recorded or data["code_hash"] != code_hash(name, root))
