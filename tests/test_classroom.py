"""Student notebooks: no answers in them, they run unanswered, and grading tells apart
the teacher's version (full marks) from a blank one (zero)."""
import subprocess
import sys

import nbformat
import pytest

from modadd import classroom

CHAPTERS_WITH_CHECKS = ["01_modular_addition", "02_tiny_transformer", "03_grids_and_circles"]


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    blank = tmp_path_factory.mktemp("blank")
    full = tmp_path_factory.mktemp("full")
    return (classroom.write_student_notebooks(blank), classroom.write_student_notebooks(full, solutions=True))


def test_strip_solution_keeps_indentation():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
    assert classroom.strip_solution(src) == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    with pytest.raises(ValueError, match="without"):
        classroom.strip_solution("### BEGIN SOLUTION\nx = 1")


def test_student_notebooks_hide_every_answer(notebooks):
    blank, full = notebooks
    assert [p.stem for p in blank] == [p.stem for p in full]
    assert set(CHAPTERS_WITH_CHECKS) <= {p.stem for p in blank}
    for path in blank:
        nb = nbformat.read(path, as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "BEGIN SOLUTION" not in code and "{solution" not in prose
        assert "held & ~held.T" not in code and "pow(k, -1, N)" not in code
    nb = nbformat.read([p for p in blank if p.stem == "01_modular_addition"][0], as_version=4)
    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(answers) == 1 and "raise NotImplementedError()" in answers[0].source
    assert len(graded) == 1 and graded[0].metadata["nbgrader"]["points"] == 1
    assert graded[0].metadata["nbgrader"]["locked"] is True


@pytest.mark.parametrize("stem", CHAPTERS_WITH_CHECKS)
def test_blank_runs_and_scores_zero_solutions_score_full(notebooks, stem):
    blank, full = ({p.stem: p for p in group} for group in notebooks)
    g0 = classroom.grade(blank[stem])
    assert g0.max_points >= 1 and g0.points == 0
    assert set(g0.checks.values()) == {"not yet"}, g0       # ran, said "not yet", did not crash
    g1 = classroom.grade(full[stem])
    assert g1.points == g1.max_points == g0.max_points, g1


def test_command_line(tmp_path, notebooks):
    blank, _ = notebooks
    r = subprocess.run([sys.executable, "-m", "modadd", "student", "--out", str(tmp_path / "s")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "01_modular_addition.ipynb" in r.stdout
    ch1 = [p for p in blank if p.stem == "01_modular_addition"][0]
    r = subprocess.run([sys.executable, "-m", "modadd", "grade", str(ch1)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0 and "0 / 1 points" in r.stdout and "leak_fraction: not yet" in r.stdout
    r = subprocess.run([sys.executable, "-m", "modadd", "grade", str(tmp_path / "missing.ipynb")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no such notebook" in r.stderr
