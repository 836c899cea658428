"""Student notebooks and grading, in nbgrader's markup.

In a chapter, an implementation exercise is a code cell whose answer sits between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` (inside the exercise's solution dropdown
on the site), followed by a cell that calls a checker from :mod:`modadd.checks`.

* :func:`student_notebook` turns a chapter into a ``.ipynb`` for students: the answer
  becomes ``raise NotImplementedError()`` (nbgrader's stub), written solutions are removed,
  and cells carry nbgrader metadata (solution cells, and graded check cells worth 1 point),
  so a teacher can also load them into nbgrader.
* :func:`grade` executes a submitted notebook and counts the checks that passed, from the
  ``[modadd check] NAME: passed`` lines the checkers print.

Command line: ``python -m modadd student --out DIR`` and ``python -m modadd grade FILE``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
import yaml

from . import REPO_ROOT
from .checks import MARK

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
_SOLUTION_BLOCK = re.compile(r"```\{solution\}.*?\n```[ \t]*(?=\n|$)", re.S)
_GATE = re.compile(r"```\{solution-(start|end)\}.*?```", re.S)
_CHECK_LINE = re.compile(re.escape(MARK) + r" (\w+): (passed|failed|not yet)")


def chapters(root: Path | None = None) -> list[Path]:
    """The notebook chapters listed in ``_toc.yml``, in order."""
    root = Path(root or REPO_ROOT or ".")
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for c in toc.get("chapters", [])]
    paths = [root / (f if f.endswith(".md") else f + ".md") for f in files]
    def is_notebook(p: Path) -> bool:                # MyST notebooks start with jupytext front matter
        text = p.read_text()
        return text.startswith("---") and "kernelspec:" in text.split("---")[1]
    return [p for p in paths if is_notebook(p)]


def strip_solution(source: str) -> str:
    """Replace every BEGIN/END SOLUTION block by the stub, keeping its indentation."""
    out, skipping = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + s for s in STUB.splitlines()]
            skipping = True
        elif line.strip() == END:
            skipping = False
        elif not skipping:
            out.append(line)
    if skipping:
        raise ValueError(f"a cell has {BEGIN!r} without {END!r}")
    return "\n".join(out)


def student_notebook(chapter: Path, solutions: bool = False) -> nbformat.NotebookNode:
    """The chapter as a notebook with nbgrader metadata; without the answers unless
    ``solutions`` (the teacher's version, which :func:`grade` gives full marks)."""
    chapter = Path(chapter)
    nb = jupytext.read(chapter)
    cells = []
    for i, cell in enumerate(nb.cells):
        meta = {"schema_version": 3, "task": False}
        if cell.cell_type == "code" and BEGIN in cell.source:
            meta.update(solution=True, grade=False, locked=False, grade_id=f"{chapter.stem}-answer-{i}")
            cell.metadata["nbgrader"] = meta
            if not solutions:
                cell.source = strip_solution(cell.source)
        elif cell.cell_type == "code" and cell.source.startswith("assert checks.check_"):
            if not solutions:
                continue                 # the book asserts its own answer passes; students have none
        elif cell.cell_type == "code" and "checks.check_" in cell.source:
            meta.update(solution=False, grade=True, locked=True, points=1, grade_id=f"{chapter.stem}-check-{i}")
            cell.metadata["nbgrader"] = meta
        elif cell.cell_type == "markdown" and not solutions:
            cell.source = _GATE.sub("", _SOLUTION_BLOCK.sub("", cell.source)).strip()
            if not cell.source:
                continue
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("jupytext", None)
    return nb


def write_student_notebooks(out_dir, solutions: bool = False, root=None) -> list[Path]:
    """Write one ``.ipynb`` per chapter into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for ch in chapters(root):
        path = out / (ch.stem + ".ipynb")
        nbformat.write(student_notebook(ch, solutions), path)
        written.append(path)
    return written


@dataclass(frozen=True)
class Grade:
    """The outcome of :func:`grade`: each check's status, and the points."""

    notebook: str
    checks: dict[str, str]
    points: int
    max_points: int

    def __str__(self):
        lines = [f"{self.notebook}: {self.points} / {self.max_points} points"]
        lines += [f"  {name}: {status}" for name, status in self.checks.items()]
        return "\n".join(lines)


def grade(notebook, timeout: int = 600) -> Grade:
    """Execute a submitted notebook (errors allowed) and score its graded check cells."""
    from nbclient import NotebookClient

    path = Path(notebook)
    if not path.is_file():
        raise ValueError(f"no such notebook: {path}")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    results, points, max_points = {}, 0, 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        max_points += meta.get("points", 1)
        text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        found = _CHECK_LINE.findall(text)
        name = found[0][0] if found else meta.get("grade_id", "check")
        status = found[0][1] if found else "no result (the cell failed before its check ran)"
        results[name] = status
        if status == "passed":
            points += meta.get("points", 1)
    return Grade(path.name, results, points, max_points)
