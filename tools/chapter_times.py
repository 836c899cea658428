"""The chapters' execution times in the book build, from its jupyter-cache: a project tool
(the teacher guide and the appendix show the table; the build writes each chapter's time for
the assignments' headers, :func:`write_run_times`), not part of the package readers install.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jupytext
import pandas as pd
from jupyter_cache import get_cache

from modadd.teaching.classroom import RUN_TIMES_FILE, assignments, chapter_root

from .provenance import machine


@dataclass(frozen=True)
class ChapterRun:
    """A chapter's last execution by the book build, as its jupyter-cache recorded it.

    ``seconds``: wall time of the execution; ``executed``: when it finished (UTC, naive, as
    jupyter-cache stores it); ``current``: whether the executed notebook's code is the
    chapter's code now (jupyter-cache's own hash); ``runs_trained``: sweep runs the execution
    trained rather than loaded, as the book build counted them (``scripts/execute_chapters.py``),
    or None for an execution that did not count them. A cold execution trains every run its
    sweeps need. ``chapters_at_once``: how many chapters that build executed side by side.
    ``u_seconds``: the time unit u (:func:`modadd.core.reference.plain_loop` of 10,000 steps) that
    the build measured just before executing the chapters, on the same machine (None for a
    record without it).
    """

    seconds: float
    executed: datetime
    current: bool
    runs_trained: int | None
    chapters_at_once: int = 1
    u_seconds: float | None = None


def chapter_record(chapter: Path, root: Path | None = None) -> ChapterRun | None:
    """The :class:`ChapterRun` of ``chapter`` in the book build's jupyter-cache
    (``root/_build/.jupyter_cache``), or None when there is no build or no record of it.

    The record is the latest one of that file, or (for a copy of the book elsewhere, whose
    paths differ) the one whose code matches the chapter's.
    """
    root = chapter_root(root)
    path = root / "_build" / ".jupyter_cache"
    if not path.is_dir():
        return None
    cache = get_cache(path)
    try:
        match = cache.match_cache_notebook(jupytext.read(chapter))
    except KeyError:
        match = None
    records = [r for r in cache.list_cache_records()
               if Path(r.uri).resolve() == Path(chapter).resolve() and "execution_seconds" in (r.data or {})]
    if not records and match is None:
        return None
    last = max(records, key=lambda r: r.created) if records else match
    if match is not None and match.created >= last.created:
        last = match
    data = last.data or {}
    trained, u = data.get("runs_trained"), data.get("u_seconds")
    return ChapterRun(float(data["execution_seconds"]), last.created, match is not None and match.pk == last.pk,
                      None if trained is None else int(trained), int(data.get("chapters_at_once", 1)),
                      None if u is None else float(u))


def chapter_times(root: Path | None = None):
    """One row per chapter with exercises: its last execution in the book build (seconds,
    in u, the u it was divided by, when, sweep runs it trained, how many chapters the build
    ran side by side, whether its code is current), as a pandas table.

    u is the one the build measured before executing the chapter (:attr:`ChapterRun.u_seconds`),
    so a time and its unit come from the same run on the same machine. A chapter with no
    record has NaN times (and <NA> runs trained, as has one whose sweep cache is not there
    to look at); a record without u has NaN in u.
    """
    rows = []
    for ch in assignments(root):
        rec = chapter_record(ch, root)
        u = rec.u_seconds if rec and rec.u_seconds else float("nan")
        rows.append({"chapter": ch.stem,
                     "seconds": rec.seconds if rec else float("nan"),
                     "u": rec.seconds / u if rec else float("nan"),
                     "u (s)": u,
                     "executed (UTC)": f"{rec.executed:%Y-%m-%d %H:%M}" if rec else "not recorded",
                     "sweep runs trained": rec.runs_trained if rec else None,
                     "chapters at once": rec.chapters_at_once if rec else None,
                     "code current": bool(rec and rec.current)})
    out = pd.DataFrame(rows)
    for col in ("sweep runs trained", "chapters at once"):
        out[col] = out[col].astype("Int64")                                    # missing: <NA>
    return out


#: The headers :func:`chapter_times_view` shows, shorter than the table's column names (so that
#: the table fits the page's column).
VIEW_HEADERS = {"sweep runs trained": "runs trained", "chapters at once": "at once", "code current": "current"}


def chapter_times_view(times):
    """:func:`chapter_times`' table as the teacher guide and the appendix show it: the u it
    was divided by goes into the caption (one value per build that executed the chapters), with the
    machine, not into a column of its own; shorter headers (:data:`VIEW_HEADERS`)."""
    us = sorted({f"{u:.2f}" for u in times["u (s)"].dropna()})
    u = f"u = {' and '.join(us)} s, measured by the build just before it executed the chapters" \
        if us else "u not recorded"
    return (times.drop(columns="u (s)").rename(columns=VIEW_HEADERS).style.hide(axis="index")
            .set_caption(f"Executed on {machine()}; {u}.")
            .format({"seconds": "{:.0f}", "u": "{:.1f}",
                     "current": lambda v: "yes" if v else "no: measure again"}, na_rep="not recorded"))


def write_run_times(root: Path | None = None, chapters: list[Path] | None = None) -> Path:
    """Write ``_build/run_times.json``: the last execution of each of ``chapters`` (default:
    the assignments), ``{chapter: [seconds, ISO date]}``, as
    :func:`modadd.teaching.classroom.chapter_run_time` reads it (the assignments' headers).
    Returns its path."""
    root = chapter_root(root)
    records = {ch.stem: chapter_record(ch, root) for ch in (assignments(root) if chapters is None else chapters)}
    path = root / "_build" / RUN_TIMES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: [r.seconds, r.executed.isoformat()] for k, r in records.items() if r}))
    return path
