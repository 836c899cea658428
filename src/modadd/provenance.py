"""When and where a stored measurement was made, and whether the code it describes changed since.

The appendix and the teacher guide show numbers that were measured earlier: benchmark
results (``benchmarks/results/*.json``) and the chapters' execution times that the book
build's jupyter-cache recorded (:func:`modadd.teaching.classroom.chapter_record`). A number older
than the code it describes is a bug: :func:`result_provenance` says how old a result is
and whether code it describes changed after it (from git's commit times), so the page can
flag it. :func:`machine` names the machine a page measures on.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import REPO_ROOT
from .cache.sources import code_files


def _runs(*modules: str) -> tuple[str, ...]:
    """Repository paths of the package files that importing ``modules`` runs
    (:func:`modadd.cache.sources.code_files`: the modules and all they import)."""
    root = Path(__file__).resolve().parent
    files = {p.relative_to(root).as_posix() for m in modules for p in code_files(m, root)}
    return tuple(f"src/modadd/{f}" for f in sorted(files))


#: What each benchmark result describes: the code whose change makes it stale (repository
#: paths; a folder stands for everything in it): the benchmark's script and the package
#: modules it imports, with all they import (derived, so a new import counts at once; not
#: this module, which only names the machine).
BENCHMARK_CODE = {
    "trainer.json": ("benchmarks/bench.py",) + _runs("modadd.core.train", "modadd.core.reference"),
    "sweep.json": ("benchmarks/bench_sweep.py",) + _runs("modadd.runs.sweep", "modadd.core.train", "modadd.core.model"),
    "dask.json": ("benchmarks/bench_dask.py",) + _runs("modadd.runs.cluster", "modadd.runs.sweep"),
    "particles.json": ("benchmarks/bench_particles.py",) + _runs("modadd.particles", "modadd.core.reference"),
    "widget.json": ("benchmarks/bench_widget.py", "src/modadd/web") + _runs("modadd.widget", "modadd.particles", "modadd.core.train",
                                                                     "modadd.core.reference"),
    # the build, and the test command after it (so the tests too)
    "build.json": ("benchmarks/bench_build.sh", "src", "book", "scripts", "tests", "_config.yml", "_toc.yml",
                   "requirements.txt"),
    "chapters.json": ("benchmarks/bench_chapters.py", "src", "book", "scripts/execute_chapters.py",
                      "requirements.txt"),
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


def git_time(paths, root: Path | None = None) -> datetime | None:
    """UTC time of the last commit that touched any of ``paths`` (None without git or history)."""
    root = Path(root or REPO_ROOT or ".")
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%cI", "--", *map(str, paths)], cwd=root,
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.strip()
    if out.returncode != 0 or not text:
        return None
    return datetime.fromisoformat(text).astimezone(timezone.utc)


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


def is_stale(measured: datetime, code_changed: datetime | None, committed: datetime | None = None) -> bool | None:
    """Whether a result is older than its code (None: unknown). ``committed``: when the
    result was committed; code committed with it or before it is the code it was measured
    on (a result's own date has minutes at best), so only a later change makes it stale."""
    if code_changed is None:
        return None
    return code_changed > (committed if committed is not None else measured)


@dataclass(frozen=True)
class Provenance:
    """Where a benchmark result comes from: ``measured`` (UTC), ``date_from`` (``"result"``:
    the file's own ``date``; ``"git"``: the commit that added it), ``machine`` (None if
    the result does not say), ``code_changed`` (last commit to the code it describes) and
    ``stale`` (True, False, or None when git cannot tell)."""

    name: str
    measured: datetime
    date_from: str
    machine: str | None
    code_changed: datetime | None
    stale: bool | None

    def describe(self) -> str:
        """One line for a page: date, machine and whether it is current."""
        when = f"{self.measured:%Y-%m-%d %H:%M} UTC" + (" (commit date)" if self.date_from == "git" else "")
        where = self.machine or "machine not recorded"
        if self.stale is None:
            state = "age against the code unknown (no git history)"
        elif self.stale:
            state = (f"OLDER than the code it describes (changed {self.code_changed:%Y-%m-%d %H:%M} UTC): "
                     "measure again")
        else:
            state = "newer than the code it describes"
        return f"{when}; {where}; {state}"


def result_provenance(name: str, root: Path | None = None) -> Provenance:
    """The :class:`Provenance` of ``benchmarks/results/<name>`` (a key of :data:`BENCHMARK_CODE`)."""
    if name not in BENCHMARK_CODE:
        raise ValueError(f"unknown benchmark result {name!r}; known: {', '.join(sorted(BENCHMARK_CODE))}")
    root = Path(root or REPO_ROOT or ".")
    path = root / "benchmarks" / "results" / name
    data = json.loads(path.read_text())
    committed = git_time([path.relative_to(root)], root)
    if "date" in data:
        measured, has_time = parse_date(data["date"])
        date_from = "result"
        if not has_time and committed is not None and committed.date() == measured.date():
            measured = committed                         # a date alone: the commit gives the time
    elif committed is not None:
        measured, date_from = committed, "git"
    else:
        measured, date_from = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc), "file"
    mach = data.get("machine")
    if mach and "cores" in data and "cores" not in str(mach):
        mach = f"{mach}, {data['cores']} cores"
    elif not mach and "cores" in data:
        mach = f"{data['cores']} cores"
    code = git_time(BENCHMARK_CODE[name], root)
    return Provenance(name, measured, date_from, mach, code, is_stale(measured, code, committed))
