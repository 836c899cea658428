"""Student notebooks for nbgrader, the teachers' own grading tool.

A chapter with exercises is an assignment. Its exercises section (from ``## Exercises`` to
the end) holds three kinds of exercise: *implement* ones, whose answer is a code cell with
the answer between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, followed by a cell that
calls a checker from :mod:`modadd.teaching.checks`; and written ones (*explain*, *predict*), whose
model answer is the exercise's ``{solution}`` dropdown.

:func:`student_notebook` turns a chapter into an nbgrader notebook:

* a header (what to do, how it is graded, how long it takes, measured), the chapter's
  setup cell, then its exercises only: the chapter itself trains networks for minutes and
  is read on the site, while the exercises need only the setup, so the notebook runs in
  seconds;
* implement exercises: the answer cell is an nbgrader *solution* cell; the check cell
  becomes a locked *autograded* cell calling the checker with ``graded=True`` (one point
  per case; it raises when nothing passes), followed by a second autograded cell whose
  cases sit inside ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``, drawn at
  random from ``hidden_seed``;
* written exercises get a *manually graded* answer cell (``WRITTEN_POINTS`` points),
  graded in nbgrader's formgrader;
* ``solutions=True`` writes the teacher's version (nbgrader's ``source``: answers, model
  answers and hidden tests in place); otherwise the student's version, the same notebook
  as ``nbgrader generate_assignment`` releases (answers replaced by nbgrader's stubs,
  hidden tests removed). Written solutions and hints are never left in the prose.

:func:`without_solutions` is a chapter without its exercises' solutions (the students'
kit). A teacher's model answers show the numbers the chapter computed (:func:`glue_values`),
not MyST's ``{glue:text}`` markup.

:func:`grade` scores submissions by running nbgrader itself (``generate_assignment`` and
``autograde`` in a temporary course directory), so it cannot disagree with a teacher's
nbgrader; :func:`make_course` makes a course folder for nbgrader's own commands. One bad
submission never stops the others, locked cells are restored from the source first
(:func:`restore_cells`), and a cell that runs past the timeout is named.

The chapters come from a checkout of the book, or from the teacher kit's ``modadd_course``
package (:data:`COURSE_PACKAGE`).

Command line: ``python -m modadd student --out DIR``, ``python -m modadd course DIR`` and
``python -m modadd grade FILE_OR_FOLDER``.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import jupytext
import nbformat
import yaml

from .. import REPO_ROOT
from .checks import HIDDEN_CASES, case_count
from .setup_check import add_check_cell

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"                     # nbgrader's stub for a written answer
HIDDEN_SEED = 2408                                 # default seed of the hidden cases
WRITTEN_POINTS = 2                                 # points of a written (explain, predict) answer
# graded cells load the checkers afresh: redefining them in an answer cell changes nothing
FRESH = ("import importlib\nfrom modadd.teaching import checks\n"
         "checks = importlib.reload(checks)   # the checkers as installed")
NBGRADER_TIMEOUT = 60        # seconds a cell may run when grading (default of python -m modadd grade --timeout)

_SOLUTION_BLOCK = re.compile(r"```\{solution\} ([\w-]+)\n((?::[^\n]*\n)*)(.*?)\n```[ \t]*(?=\n|$)", re.S)
_EXERCISE = re.compile(r"```\{exercise\}[ \t]*([^\n]*)\n((?::[^\n]*\n)*)(.*?)\n```[ \t]*(?=\n|$)", re.S)
_HINT = re.compile(r"```\{hint\}[^\n]*\n((?::[^\n]*\n)*)(.*?)\n```[ \t]*(?=\n|$)", re.S)
#: An exercise's title is its label: difficulty and our estimate of the time, "Easy · about 5 min".
LEVELS = ("Easy", "Medium", "Hard")
_LEVEL = re.compile(r"(%s) · about (\d+) min" % "|".join(LEVELS))
_GATE_START = re.compile(r"```\{solution-start\}.*?```", re.S)
_GATE_END = re.compile(r"```\{solution-end\}.*?```", re.S)
_CHECK_CALL = re.compile(r"checks\.(check_\w+)\((\w+)\);?")
_GLUE = re.compile(r"\{glue(?::text)?\}`((?:[\w./-]+\.md::)?[\w-]+)(?::([^`]*))?`")   # [doc.md::]key[:format]
#: The numbers the chapters glue into their text, as their last execution computed them, in a
#: course folder without a book build (the teacher kit's ``modadd_course``): {chapter: {key: text}}.
GLUE_FILE = "glue.json"
#: Each chapter's execution time in the book build, in the same course folder, so that an
#: assignment made there states what the student kit's does: {chapter: [seconds, ISO date]}.
RUN_TIMES_FILE = "run_times.json"


#: The importable package of the teacher kit that holds the chapters' sources (``_toc.yml``,
#: ``book/*.md``) and :data:`GLUE_FILE`, for the teacher commands outside a checkout.
COURSE_PACKAGE = "modadd_course"


def chapter_root(root=None) -> Path:
    """Where the chapters are: ``root``, else the source checkout (``REPO_ROOT``), else the
    teacher kit's installed :data:`COURSE_PACKAGE`."""
    if root is not None:
        return Path(root)
    if REPO_ROOT is not None:
        return REPO_ROOT
    spec = importlib.util.find_spec(COURSE_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    raise ValueError(f"the teacher commands need the chapters' exercises, which come with the teacher kit: "
                     f"install it with its README's command (it installs {COURSE_PACKAGE})")


def chapters(root: Path | None = None) -> list[Path]:
    """The notebook pages listed in ``_toc.yml``, in order."""
    root = chapter_root(root)
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for c in toc.get("chapters", [])]
    paths = [root / (f if f.endswith(".md") else f + ".md") for f in files]
    def is_notebook(p: Path) -> bool:                # MyST notebooks start with jupytext front matter
        text = p.read_text()
        return text.startswith("---") and "kernelspec:" in text.split("---")[1]
    return [p for p in paths if is_notebook(p)]


def executed_glue(nb) -> dict[str, str]:
    """The values an executed notebook glued (myst-nb's ``glue``), as text: {key: text}."""
    out = {}
    for c in nb.cells:
        for o in c.get("outputs", []):
            meta = o.get("metadata", {}).get("scrapbook", {})
            text = o.get("data", {}).get(meta.get("mime_prefix", "") + "text/plain")
            if meta.get("name") and text is not None:
                out[meta["name"]] = "".join(text)
    return out


def glue_values(chapter: Path, root: Path | None = None) -> dict[str, str]:
    """The numbers ``chapter`` glues into its text, from its last execution: the course
    folder's :data:`GLUE_FILE`, else the book build's jupyter-cache (``root/_build/.jupyter_cache``),
    if it holds an execution of the chapter's code as it is now. Empty when neither does."""
    root = chapter_root(root)
    packaged = root / GLUE_FILE
    if packaged.is_file():
        return json.loads(packaged.read_text()).get(Path(chapter).stem, {})
    path = root / "_build" / ".jupyter_cache"
    if not path.is_dir() or not Path(chapter).is_file():
        return {}
    from jupyter_cache import get_cache
    cache = get_cache(path)
    try:
        record = cache.match_cache_notebook(jupytext.read(chapter))
    except KeyError:
        return {}
    return executed_glue(cache.get_cache_bundle(record.pk).nb)


def resolve_glue(text: str, values: dict[str, str]) -> str:
    """``text`` with each ``{glue:text}`key``` (MyST markup, raw text in a notebook) replaced
    by the value (formatted as ``key:FORMAT`` asks); one not in ``values`` says where to see it."""
    def value(m):
        key, fmt = m.group(1), m.group(2)
        if key not in values:
            return f"[the number `{key}` the chapter computes: see the chapter on the site]"
        text = values[key]
        if fmt:
            try:
                return format(float(text), fmt)
            except ValueError:
                pass
        return text.strip("'\"")
    return _GLUE.sub(value, text)


def _glued(texts, chapter: Path, root) -> dict[str, str]:
    """The values ``texts`` cite: the chapter's keys, and ``doc.md::key`` for another page's."""
    keys = {m.group(1) for t in texts for m in _GLUE.finditer(t)}
    if not keys:
        return {}
    values = glue_values(chapter, root)
    for doc in {k.split("::")[0] for k in keys if "::" in k}:
        values.update({f"{doc}::{k}": v for k, v in glue_values(Path(chapter).parent / doc, root).items()})
    return values


def with_numbers(nb, chapter: Path, root: Path | None = None):
    """``nb`` (the chapter, read with jupytext) with the numbers its text glues in place of
    the markup (:func:`resolve_glue`, :func:`glue_values`), in place; returns it."""
    cells = [c for c in nb.cells if c.cell_type == "markdown"]
    values = _glued([c.source for c in cells], chapter, root)
    for c in cells:
        c.source = resolve_glue(c.source, values)
    return nb


def _has_exercises(nb) -> bool:
    return any(c.cell_type == "markdown" and "```{exercise}" in c.source for c in nb.cells)


def assignments(root: Path | None = None) -> list[Path]:
    """The chapters that have exercises (not the teacher guide, not the appendix)."""
    return [p for p in chapters(root) if _has_exercises(jupytext.read(p))]


def _strip_blocks(source: str, begin: str, end: str, stub: str | None) -> str:
    """Remove every ``begin``/``end`` block, delimiters included; put ``stub`` (if any) in
    its place at the block's indentation."""
    out, skipping = [], False
    for line in source.splitlines():
        if line.strip() == begin:
            if stub is not None:
                indent = line[: len(line) - len(line.lstrip())]
                out += [indent + s for s in stub.splitlines()]
            skipping = True
        elif line.strip() == end:
            skipping = False
        elif not skipping:
            out.append(line)
    if skipping:
        raise ValueError(f"a cell has {begin!r} without {end!r}")
    return "\n".join(out)


def strip_solution(source: str) -> str:
    """Replace every BEGIN/END SOLUTION block by the stub, keeping its indentation."""
    return _strip_blocks(source, BEGIN, END, STUB)


def strip_hidden_tests(source: str) -> str:
    """Remove every hidden-tests block, delimiters included (as nbgrader releases it)."""
    return _strip_blocks(source, BEGIN_HIDDEN, END_HIDDEN, None)



def _nbgrader(cell, grade_id, *, solution=False, grade=False, points=None, locked=False):
    meta = {"schema_version": 3, "grade_id": grade_id, "solution": solution, "grade": grade,
            "locked": locked, "task": False}
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


@dataclass(frozen=True)
class Exercise:
    """One exercise of an assignment, with its points (None: not graded)."""

    label: str
    kind: str          # the exercise's opening words, e.g. "Implement" or "Explain"
    written: bool      # answered in words (graded by hand) rather than by a function
    function: str | None = None   # for an implement exercise: the checked function
    points: int = 0               # automatic (visible + hidden cases) or by hand
    level: str | None = None      # "Easy", "Medium" or "Hard" (None: the exercise has no label)
    minutes: int | None = None    # our estimate of the time it takes, from its label


def _level(title: str, label: str) -> tuple[str | None, int | None]:
    """An exercise's title as (level, minutes): "Medium · about 15 min" -> ("Medium", 15);
    no title -> (None, None)."""
    if not title.strip():
        return None, None
    m = _LEVEL.fullmatch(title.strip())
    if not m:
        raise ValueError(f"exercise {label}: its title must be a label like 'Easy · about 5 min' "
                         f"(level one of {', '.join(LEVELS)}), got {title.strip()!r}")
    return m.group(1), int(m.group(2))


def _hints_as_toggles(text: str) -> str:
    """MyST ``{hint}`` boxes as HTML toggles, which a notebook shows folded like the site."""
    return _HINT.sub(lambda m: f"<details><summary>Hint</summary>\n\n{m.group(2).strip()}\n\n</details>", text)


def _kind(body: str) -> str:
    m = re.match(r"\s*\*([^*]+)\*", body)
    return m.group(1).strip(" .") if m else "Exercise"


def _title(nb) -> str:
    for c in nb.cells:
        m = re.search(r"^# (.+)$", c.source, re.M) if c.cell_type == "markdown" else None
        if m:
            return m.group(1).strip()
    return "this chapter"


def chapter_run_time(chapter: Path, root: Path | None = None):
    """``(seconds, when)`` of the chapter's last execution: the course folder's
    :data:`RUN_TIMES_FILE`, else the one the book build writes (``_build/run_times.json``,
    by ``scripts/execute_chapters.py``); None when neither has a record of it."""
    for folder in (chapter_root(root), chapter_root(root) / "_build"):
        if (folder / RUN_TIMES_FILE).is_file():
            got = json.loads((folder / RUN_TIMES_FILE).read_text()).get(Path(chapter).stem)
            return None if got is None else (float(got[0]), datetime.fromisoformat(got[1]))
    return None


def measure_run_time(nb, cwd: Path | None = None, timeout: int = NBGRADER_TIMEOUT) -> float:
    """Wall-clock seconds to execute a notebook (a copy; errors allowed)."""
    from nbclient import NotebookClient

    nb = nbformat.from_dict(nb)
    t = time.perf_counter()
    NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd or Path.cwd())}}).execute()
    return time.perf_counter() - t


def _header(title, stem, exercises, run_time, chapter_time):
    auto = [e for e in exercises if e.function]
    written = [e for e in exercises if e.written]
    total = sum(e.points for e in exercises)
    lines = [f"# Assignment: {title}", "",
             "This notebook holds the chapter's exercises; read the chapter itself first, on the book's "
             f"site or in its notebook `{stem}.ipynb` (the site links it; the course kit has it).", "",
             "**What to do.** Write your code where a cell says "
             "`raise NotImplementedError()`"
             + (f" ({', '.join('`' + e.function + '`' for e in auto)})" if auto else "")
             + (f", and your answers in words where a cell says \"{TEXT_STUB}\"" if written else "")
             + ". Exercises that say \"run\" use the chapter's code: run it in the chapter and write "
             "down what you found. Do not edit the check cells: grading runs them as they were released. "
             "Run every cell, then hand in this notebook.", "",
             f"**How it is graded** ({total} points, with nbgrader):"]
    for e in auto:
        lines.append(f"- `{e.function}`: {e.points} points, one per case: {e.points - HIDDEN_CASES} cases "
                     f"in the check cell below it (run it as often as you like) and {HIDDEN_CASES} hidden "
                     "cases of the same kind that run only when your teacher grades. A check that passes "
                     "no case raises an error and gives 0.")
    if written:
        lines.append(f"- {len(written)} written answer{'s' if len(written) > 1 else ''}, "
                     f"{WRITTEN_POINTS} points each, graded by your teacher.")
    timed = [e.minutes for e in exercises if e.minutes is not None]
    lines += ["", "**How long it takes.** "
              + (f"Each exercise's label gives its level and our estimate of the time it takes "
                 f"(about {sum(timed)} min for all {len(timed)}"
                 + ("" if len(timed) == len(exercises) else f" of the {len(exercises)}") + "; an estimate, "
                 "not a measurement). " if timed else "")
              + (f"Running every cell of the solved notebook took {run_time:.0f} s on the machine that "
                 "wrote this notebook (measured); the rest is your thinking time."
                 if run_time is not None else
                 "The run time of this notebook was not measured when it was written.")]
    if chapter_time is not None:
        secs, when = chapter_time
        lines.append(f"Executing the whole chapter took {secs:.0f} s when the book was last built "
                     f"({when:%Y-%m-%d}).")
    else:
        lines.append("The chapter's own run time is unknown here: no book build was found "
                     "(`_build/.jupyter_cache`).")
    return nbformat.v4.new_markdown_cell("\n".join(lines))


def _split_exercises(text, solutions_by_label, solutions, exercises):
    """Cut a markdown text at its exercises: numbered headings, and an answer cell after
    each written exercise. Returns the cells."""
    cells, pos, buf = [], 0, []
    text = _hints_as_toggles(text)
    for m in _EXERCISE.finditer(text):
        title, opts, body = m.group(1), m.group(2), m.group(3).strip()
        label = re.search(r":label:\s*([\w-]+)", opts)
        label = label.group(1) if label else f"exercise-{len(exercises) + 1}"
        level, minutes = _level(title, label)
        kind = _kind(body)
        written = "implement" not in kind.lower()
        buf.append(text[pos:m.start()])
        tag = f" ({level.lower()}, about {minutes} min)" if level else ""
        buf.append(f"**Exercise {len(exercises) + 1}**{tag}. {body}")
        pos = m.end()
        exercises.append(Exercise(label, kind, written, points=WRITTEN_POINTS if written else 0,
                                  level=level, minutes=minutes))
        if written:
            cells.append(nbformat.v4.new_markdown_cell("".join(buf).strip()))
            buf = []
            answer = solutions_by_label.get(label, "").strip() if solutions else TEXT_STUB
            cells.append(_nbgrader(nbformat.v4.new_markdown_cell(answer or TEXT_STUB), f"written-{label}",
                                   solution=True, grade=True, points=WRITTEN_POINTS))
    buf.append(text[pos:])
    rest = "".join(buf).strip()
    if rest:
        cells.append(nbformat.v4.new_markdown_cell(rest))
    return cells


def _model_answers(nb, chapter: Path, solutions: bool, root=None) -> dict[str, str]:
    """The exercises' model answers by label, with the numbers the chapter glues into them
    for the teacher's version (``solutions``)."""
    answers = {}
    for c in nb.cells:
        if c.cell_type == "markdown":
            for m in _SOLUTION_BLOCK.finditer(c.source):
                answers[m.group(1)] = m.group(3)
    if solutions:
        values = _glued(answers.values(), chapter, root)
        answers = {k: resolve_glue(t, values) for k, t in answers.items()}
    return answers


def _graded_checks(cell, check: str, fname: str, visible: int, hidden_seed: int, solutions: bool) -> list:
    """A checker cell of the chapter as two graded, locked cells: the visible cases (in
    ``cell``, rewritten) and the hidden ones (without their code in the student's version)."""
    call = f"checks.{check}(globals().get({fname!r}), graded=True"   # undefined: a message, not NameError
    cell.source = f"{FRESH}\n{call})"
    hidden = (f"# {HIDDEN_CASES} hidden cases of the same kind: they run when the notebook is graded\n"
              f"{BEGIN_HIDDEN}\n{FRESH}\n{call}, hidden_seed={hidden_seed})\n"
              f"{END_HIDDEN}")
    if not solutions:
        hidden = strip_hidden_tests(hidden)
    return [_nbgrader(cell, f"check-{fname}", grade=True, points=visible, locked=True),
            _nbgrader(nbformat.v4.new_code_cell(hidden), f"hidden-{fname}", grade=True,
                      points=HIDDEN_CASES, locked=True)]


def _build(chapter: Path, solutions: bool, hidden_seed: int, root=None):
    """The notebook (without header) and its exercises. The teacher's model answers show the
    numbers the chapter glues into them (:func:`glue_values`)."""
    if isinstance(hidden_seed, bool) or not isinstance(hidden_seed, int) or hidden_seed < 0:
        raise ValueError(f"hidden_seed must be an integer >= 0, got {hidden_seed!r}")
    chapter = Path(chapter)
    nb = jupytext.read(chapter)
    if not _has_exercises(nb):
        raise ValueError(f"{chapter.name} has no exercises: it is not an assignment")
    solutions_by_label = _model_answers(nb, chapter, solutions, root)
    start = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## Exercises" in c.source)
    setup = next(c for c in nb.cells if c.cell_type == "code")
    setup.metadata.pop("tags", None)
    cells = [setup]
    exercises: list[Exercise] = []
    in_gate = False
    pending = None                                     # the last implement exercise without a checker yet
    for i, cell in enumerate(nb.cells[start:], start):
        cell.metadata.pop("jupytext", None)
        if cell.cell_type == "markdown":
            text = cell.source
            if i == start:
                text = text[text.index("## Exercises"):]
            text = _SOLUTION_BLOCK.sub("", text)
            if in_gate:                                # prose inside a solution: hints, dropped
                end = _GATE_END.search(text)
                if not end:
                    continue
                text, in_gate = text[end.end():], False
            gate = _GATE_START.search(text)
            if gate:
                text, in_gate = text[:gate.start()], True
                if _GATE_END.search(cell.source[cell.source.index("{solution-start}"):]):
                    raise ValueError(f"{chapter.name}: a solution-start and its solution-end in one cell")
            n = len(exercises)
            cells += _split_exercises(text, solutions_by_label, solutions, exercises)
            if len(exercises) > n and not exercises[-1].written:
                pending = len(exercises) - 1
            continue
        if "remove-cell" in cell.metadata.get("tags", []) or (in_gate and BEGIN not in cell.source):
            continue                                   # the book's own checks of its answers; solution code
        if BEGIN in cell.source:
            m = re.search(r"def (\w+)\(", cell.source)
            fname = m.group(1) if m else f"answer-{i}"
            _nbgrader(cell, f"answer-{fname}", solution=True)
            if not solutions:
                cell.source = strip_solution(cell.source)
            cells.append(cell)
            continue
        m = _CHECK_CALL.search(cell.source)
        if m:
            check, fname = m.groups()
            visible = case_count(check)
            cells += _graded_checks(cell, check, fname, visible, hidden_seed, solutions)
            if pending is None:
                raise ValueError(f"{chapter.name}: a check of {fname} follows no implement exercise")
            e = exercises[pending]
            exercises[pending] = replace(e, written=False, function=fname, points=visible + HIDDEN_CASES)
            pending = None
            continue
        cells.append(cell)
    if in_gate:
        raise ValueError(f"{chapter.name}: a solution-start without its solution-end")
    missing = [e.label for e in exercises if not e.written and e.function is None]
    if missing:
        raise ValueError(f"{chapter.name}: implement exercises without a checker cell: {missing}")
    nb.cells = cells
    nb.metadata.pop("jupytext", None)
    return nb, exercises


def without_solutions(nb):
    """A chapter notebook (read with jupytext) for students: in its exercises section, the
    model answers (``{solution}`` dropdowns, and what a ``solution-start`` ... ``solution-end``
    pair holds, but for the answer cells) are dropped, answer code between ``### BEGIN SOLUTION`` and
    ``### END SOLUTION`` becomes nbgrader's stub, and the book's own checks of its answers
    (``remove-cell``) go. The rest of the chapter is kept as it is. Returns a new notebook."""
    nb = nbformat.from_dict(nb)
    start = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## Exercises" in c.source),
                 len(nb.cells))
    cells, in_gate = nb.cells[:start], False
    for cell in nb.cells[start:]:
        if cell.cell_type == "markdown":
            text, kept = _SOLUTION_BLOCK.sub("", cell.source), ""
            while text:
                if in_gate:
                    end = _GATE_END.search(text)
                    text, in_gate = (text[end.end():], False) if end else ("", True)
                else:
                    gate = _GATE_START.search(text)
                    kept += text[:gate.start()] if gate else text
                    text, in_gate = (text[gate.end():], True) if gate else ("", False)
            if kept.strip():
                cell.source = kept.strip()
                cells.append(cell)
        elif "remove-cell" not in cell.metadata.get("tags", []) and (BEGIN in cell.source or not in_gate):
            if BEGIN in cell.source:
                cell.source = strip_solution(cell.source)
            cells.append(cell)
    nb.cells = cells
    return nb


def exercises(chapter: Path) -> list[Exercise]:
    """The chapter's exercises and their points, as its student notebook grades them."""
    return _build(chapter, False, HIDDEN_SEED)[1]


def student_notebook(chapter: Path, solutions: bool = False, hidden_seed: int = HIDDEN_SEED,
                     run_time: float | None = None, root: Path | None = None) -> nbformat.NotebookNode:
    """The chapter's assignment notebook, with nbgrader metadata: the student's version, or
    with ``solutions`` the teacher's (nbgrader's source version). ``run_time``: the measured
    seconds to run it, stated in the header (None: said to be unmeasured)."""
    nb, exs = _build(chapter, solutions, hidden_seed, root)
    nb.cells.insert(0, _header(_title(jupytext.read(chapter)), Path(chapter).stem, exs, run_time, chapter_run_time(chapter, root)))
    return nb


def make_course(course, root=None, hidden_seed: int = HIDDEN_SEED, timeout: int = NBGRADER_TIMEOUT,
                measure: bool = False) -> list[Path]:
    """An nbgrader course folder (made if missing): its ``nbgrader_config.py``
    (:func:`course_config`) and the teacher's version of every assignment, nbgrader's source,
    as ``source/<chapter>/<chapter>.ipynb``, each with the kit's check cell, as the teacher
    kit's ``source/`` (the notebooks nbgrader releases are then the student kit's). Returns the
    source notebooks' paths. ``python -m modadd course DIR``."""
    course = Path(course)
    if course.exists() and not course.is_dir():
        raise ValueError(f"course must be a folder, got {str(course)!r}, which is a file")
    write_course_config(course, timeout)
    out = []
    for ch in assignments(root):
        for path in write_student_notebooks(course / "source" / ch.stem, True, root, hidden_seed, measure, [ch]):
            nbformat.write(_with_check(nbformat.read(path, as_version=4)), path)
            out.append(path)
    return out


def _with_check(nb):
    return add_check_cell(nb)                 # the kit's first cell: this modadd, or a message


def write_student_notebooks(out_dir, solutions: bool = False, root=None, hidden_seed: int = HIDDEN_SEED,
                            measure: bool = False, only=None) -> list[Path]:
    """Write one ``.ipynb`` per assignment (``only``: these chapters) into ``out_dir``; returns
    their paths. ``measure``: execute each solved notebook once (about 5 s each) to state its
    run time in the header (``python -m modadd student`` does; otherwise the header says it
    was not measured)."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"cannot make the folder {str(out)!r} for the notebooks: {e.strerror}") from None
    if not out.is_dir():
        raise ValueError(f"the notebooks need a folder, and {str(out)!r} is a file")
    written = []
    for ch in (only if only is not None else assignments(root)):
        run_time = None
        if measure:
            run_time = measure_run_time(_build(ch, True, hidden_seed, root)[0], cwd=ch.parent)
        path = out / (ch.stem + ".ipynb")
        nbformat.write(student_notebook(ch, solutions, hidden_seed, run_time, root), path)
        written.append(path)
    return written


# ---------------------------------------------------------------- grading, by nbgrader
@dataclass(frozen=True)
class Grade:
    """One submission's score from nbgrader's autograde: points per graded cell (None:
    waits for a manual grade), automatic points, and what is left to grade by hand.

    ``points`` is None for a submission that could not be graded; ``notes`` then says why
    (e.g. the notebook of another chapter), and otherwise what the teacher should know (a
    cell that ran out of time, check cells restored from the source)."""

    notebook: str
    cells: dict[str, float | None]
    points: float | None       # automatic points (and manual ones already given); None: not graded
    max_points: float          # everything, written answers included
    manual_pending: float      # points of written answers that wait for a teacher
    notes: tuple[str, ...] = ()

    def __str__(self):
        if self.points is None:
            return f"{self.notebook}: not graded: " + "; ".join(self.notes)
        head = f"{self.notebook}: {self.points:g} / {self.max_points:g} points"
        if self.manual_pending:
            head += f" ({self.manual_pending:g} to grade by hand in nbgrader's formgrader)"
        lines = [head] + [f"  note: {n}" for n in self.notes]
        lines += [f"  {gid}: {'to grade by hand' if s is None else f'{s:g}'}" for gid, s in self.cells.items()]
        return "\n".join(lines)


def nbgrader_command() -> list[str]:
    """How to run nbgrader with this Python."""
    return [sys.executable, "-m", "nbgrader"]


def course_config(course: Path, timeout: int = NBGRADER_TIMEOUT) -> str:
    """The ``nbgrader_config.py`` of a course directory (the teacher guide prints it):

    * the course root, and ``timeout`` seconds per cell when autograding;
    * ``OverwriteCells.add_missing_cells``: autograde puts back a graded cell a student
      deleted, from the gradebook's source (it already restores a changed locked cell);
    * feedback leaves out the hidden tests (``ClearHiddenTests``);
    * this Python's scripts first on PATH: nbgrader runs ``alembic`` from there to set up its
      gradebook, so ``.venv/bin/nbgrader`` works without activating the environment."""
    return ("import os, sys\n"
            "c = get_config()\n"
            f"c.CourseDirectory.root = {str(Path(course).resolve())!r}\n"
            f"c.ExecutePreprocessor.timeout = {int(timeout)}\n"
            "c.OverwriteCells.add_missing_cells = True\n"
            "c.GenerateFeedback.preprocessors = ['nbgrader.preprocessors.GetGrades',\n"
            "    'nbconvert.preprocessors.CSSHTMLHeaderPreprocessor', 'nbgrader.preprocessors.ClearHiddenTests']\n"
            "os.environ['PATH'] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', '')\n")


def write_course_config(course: Path, timeout: int = NBGRADER_TIMEOUT) -> None:
    """Write :func:`course_config` into the course directory (made if missing)."""
    Path(course).mkdir(parents=True, exist_ok=True)
    (Path(course) / "nbgrader_config.py").write_text(course_config(course, timeout))


def nbgrader_env() -> dict:
    """The environment for nbgrader: this Python's scripts first on PATH (nbgrader runs
    ``alembic`` from there to set up its gradebook)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def _run_nbgrader(course: Path, *args, timeout=1800):
    r = subprocess.run(nbgrader_command() + list(args), cwd=course, capture_output=True, text=True,
                       timeout=timeout, env=nbgrader_env())
    if r.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def read_grades(course: Path, assignment: str, notebook: str) -> dict[str, Grade]:
    """Every student's :class:`Grade` for one notebook, from the course's gradebook."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{Path(course).resolve() / 'gradebook.db'}") as gb:
        for student in gb.students:
            try:
                sub = gb.find_submission_notebook(notebook, assignment, student.id)
            except Exception:
                continue
            cells = {g.name: g.score if not g.needs_manual_grade else None for g in sub.grades}
            pending = sum(g.max_score for g in sub.grades if g.needs_manual_grade)
            out[student.id] = Grade(notebook, cells, float(sub.score), float(sub.max_score), float(pending))
    return out


def student_ids(paths) -> list[str]:
    """Each submission's student in the gradebook: the name of its folder
    (``submissions/alice/01_modular_addition.ipynb`` is alice's) when every file has a folder
    named with letters, digits, ``-`` and ``_`` and no chapter has two files from one
    folder; else ``s1``, ``s2``... in the order given."""
    paths = [Path(p) for p in paths]
    names = [p.resolve().parent.name for p in paths]
    plain = all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", n) for n in names)
    if plain and len({(n, p.stem) for n, p in zip(names, paths)}) == len(paths):
        return names
    return [f"s{i + 1}" for i in range(len(paths))]


def submission_files(paths) -> list[Path]:
    """The notebooks to grade: each path a notebook, or a folder whose ``.ipynb`` files (in
    it and its subfolders, e.g. ``submissions/alice/01_modular_addition.ipynb``; not Jupyter's
    ``.ipynb_checkpoints``) are the submissions. A path that does not exist, or a folder with
    no notebook, is an error naming it."""
    out = []
    for given in paths:
        p = Path(given)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in f.parts)
            if not found:
                raise ValueError(f"the folder {str(given)!r} holds no .ipynb file: give submitted notebooks, "
                                 "or folders that hold them (e.g. submissions/alice/01_modular_addition.ipynb)")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise ValueError(f"no such notebook or folder: {str(given)!r}; give submitted notebooks (.ipynb, "
                             "named after their chapter), or folders that hold them")
    return out


def _ids(nb) -> list[str]:
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "grade_id" in c.metadata.get("nbgrader", {})]


def restore_cells(nb, source, release) -> list[str]:
    """Put the teacher's locked cells (checks, hidden tests) back into a submission, in place,
    as nbgrader's autograde does with locked cells: a changed one gets the ``source``
    version, a deleted one is inserted after the cell that precedes it in the source, and a
    deleted answer cell comes back as released (``release``: nbgrader's stub). Returns what
    was restored, for the teacher (a hidden-tests cell as released is not a change).

    Done before autograde, so nbgrader finds every locked cell as it recorded it and has
    nothing to warn about (without it every hidden-tests cell, released without its tests,
    warns "Attribute 'checksum' ... has changed")."""
    released = {c.metadata["nbgrader"]["grade_id"]: c for c in release.cells if "nbgrader" in c.metadata}
    restored, where = [], -1
    for cell in source.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid is None:
            continue
        at = next((i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == gid), None)
        locked = cell.metadata["nbgrader"]["locked"]
        if at is None:
            new = nbformat.from_dict(cell if locked else released[gid])
            new.pop("id", None)
            nb.cells.insert(where + 1, new)
            where += 1
            restored.append(f"{gid} (deleted)")
            continue
        where = at
        if locked:
            mine = nb.cells[at]
            if mine.source not in (cell.source, released[gid].source) or mine.cell_type != cell.cell_type:
                restored.append(f"{gid} (changed)")
            mine.cell_type, mine.source = cell.cell_type, cell.source
            mine.metadata["nbgrader"] = dict(cell.metadata["nbgrader"])
    if nb.nbformat_minor >= 5:                                # new cells get ids
        for c in nb.cells:
            c.setdefault("id", nbformat.v4.new_code_cell().id)
    return restored


def _wrong_chapter(nb, stem, known_ids) -> str | None:
    """Why ``nb`` is not a submission of ``stem``, or None when it is."""
    ids = set(_ids(nb))
    if ids & known_ids[stem]:
        return None
    other = [s for s, theirs in known_ids.items() if s != stem and ids & theirs]
    if other:
        return (f"wrong chapter: it holds the cells of {other[0]}.ipynb, not of {stem}.ipynb "
                "(grade it under its own chapter's name)")
    return (f"none of the cells of {stem}.ipynb's assignment is in it (is it the chapter's full notebook, "
            "or a notebook written elsewhere, rather than the student notebook that was handed out?)")


def _execution_notes(path: Path, timeout) -> list[str]:
    """What went wrong while autograde ran a notebook: cells that ran out of time."""
    if not path.is_file():
        return []
    nb = nbformat.read(path, as_version=4)
    slow = [c.metadata.get("nbgrader", {}).get("grade_id", f"cell {i}") for i, c in enumerate(nb.cells)
            if any(o.get("ename") == "CellTimeoutError" for o in c.get("outputs", []))]
    return [f"timed out: {', '.join(slow)} ran longer than {timeout:g} s (--timeout) and scored 0"] if slow else []


def grade(notebooks, hidden_seed: int = HIDDEN_SEED, root=None, timeout: int = NBGRADER_TIMEOUT,
          course: Path | None = None) -> list[Grade]:
    """Score submitted student notebooks with nbgrader: each file must be named after its
    chapter (``01_modular_addition.ipynb``...); a folder stands for the notebooks in it
    (:func:`submission_files`). In a temporary course directory (or ``course``, kept: its
    gradebook for nbgrader's formgrader), the teacher's version of each chapter goes to
    ``source/``, ``nbgrader generate_assignment`` releases it, each file becomes its
    student's submission (:func:`student_ids`) with its locked cells restored
    (:func:`restore_cells`), and ``nbgrader autograde`` grades it, one student at a time,
    each cell allowed ``timeout`` seconds; the scores come from the gradebook.
    ``hidden_seed`` must be the one the notebooks were written with.

    One bad submission never stops the others: a file named after no chapter, the
    notebook of another chapter, a file that is not a notebook or one nbgrader fails on
    gets a :class:`Grade` with points None and the reason in its notes."""
    if importlib.util.find_spec("nbgrader") is None:
        raise ValueError("grading needs nbgrader, which is not installed here: "
                         "pip install nbgrader==0.9.6 (the book's .venv has it)")
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise ValueError(f"timeout must be a whole number of seconds >= 1, got {timeout!r}")
    paths = submission_files(notebooks)
    if course is not None and Path(course).exists() and not Path(course).is_dir():
        raise ValueError(f"course must be a folder, got course={str(course)!r}, which is a file")
    known = {ch.stem: ch for ch in assignments(root)}
    ids = student_ids(paths)
    results: list[Grade | None] = [None] * len(paths)
    for i, p in enumerate(paths):
        if p.suffix != ".ipynb" or p.stem not in known:
            results[i] = Grade(str(p), {}, None, 0.0, 0.0, (
                f"cannot tell which chapter {p.name} answers: name it after one of "
                f"{', '.join(s + '.ipynb' for s in known)}",))
    tmp = None
    if course is None:
        tmp = tempfile.TemporaryDirectory(prefix="modadd-grade-")
        course = Path(tmp.name)
    course = Path(course)
    try:
        write_course_config(course, timeout)
        sources = {}
        for stem in dict.fromkeys(p.stem for i, p in enumerate(paths) if results[i] is None):
            sources[stem] = _with_check(student_notebook(known[stem], True, hidden_seed, None, root))
        known_ids = {s: set(_ids(nb)) for s, nb in sources.items()}
        for stem in known.keys() - known_ids.keys():              # to name a notebook of another chapter
            known_ids[stem] = set(_ids(_build(known[stem], False, hidden_seed)[0]))
        for stem, source in sources.items():
            src = course / "source" / stem
            src.mkdir(parents=True, exist_ok=True)
            nbformat.write(source, src / f"{stem}.ipynb")
            _run_nbgrader(course, "generate_assignment", stem, "--force")
            release = nbformat.read(course / "release" / stem / f"{stem}.ipynb", as_version=4)
            for i in [i for i, p in enumerate(paths) if p.stem == stem and results[i] is None]:
                results[i] = _grade_one(course, stem, paths[i], ids[i], source, release, known_ids, timeout)
        return results
    finally:
        if tmp is not None:
            tmp.cleanup()


def _grade_one(course, stem, path, student, source, release, known_ids, timeout) -> Grade:
    """Autograde one submission in the course; a Grade with the reason if it cannot be."""
    def fail(reason):
        return Grade(str(path), {}, None, 0.0, 0.0, (reason,))

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:                                      # not JSON, not a notebook
        return fail(f"not a notebook nbformat can read ({type(e).__name__}: {str(e)[:200]})")
    wrong = _wrong_chapter(nb, stem, known_ids)
    if wrong:
        return fail(wrong)
    restored = restore_cells(nb, source, release)
    dest = course / "submitted" / student / stem
    dest.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest / f"{stem}.ipynb")
    try:
        r = _run_nbgrader(course, "autograde", stem, "--student", student, "--force")
    except subprocess.TimeoutExpired:
        return fail("nbgrader autograde did not finish in 30 minutes")
    except RuntimeError as e:
        lines = [l for l in str(e).splitlines() if l.strip()]
        return fail(f"nbgrader autograde failed: {lines[-1] if lines else e}")
    g = read_grades(course, stem, stem).get(student)
    if g is None:
        return fail("nbgrader autograde left no grade in the gradebook")
    notes = _execution_notes(course / "autograded" / student / stem / f"{stem}.ipynb", timeout)
    if restored:
        notes.append("restored from the source before grading: " + ", ".join(restored))
    notes += [f"nbgrader: {line.split('WARNING]', 1)[1].strip()}" for line in (r.stdout + r.stderr).splitlines()
              if "WARNING]" in line and "Removing existing assignment" not in line]
    return Grade(str(path), g.cells, g.points, g.max_points, g.manual_pending, tuple(notes))
