"""``python -m modadd grade`` on a class's folder, with real nbgrader: one command grades
every submission in it, and no bad one stops the others.

Submissions of chapter 1: a solution, a blank one, a partly right one, an infinite loop
(``--timeout 20``), one whose check cells were replaced and deleted (restored from the
source, so it scores as its answer deserves), the notebook of another chapter, a file that
is not a notebook, and one named after no chapter. Then real ``nbgrader generate_feedback``
in the course folder the command kept: the feedback shows no hidden test's code or input.
"""
import re
import subprocess
import sys
import time

import nbformat
import numpy as np
import pytest

from modadd import REPO_ROOT
from modadd.teaching import checks, classroom
from submissions import class_of, ids

pytestmark = pytest.mark.slow          # about 2 minutes on 2 cores: 6 notebooks autograded

STEM = "01_modular_addition"
TIMEOUT = 20


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    source = classroom.student_notebook(REPO_ROOT / "book" / f"{STEM}.md", solutions=True)
    release = classroom.student_notebook(REPO_ROOT / "book" / f"{STEM}.md")
    subs = base / "submissions"

    def hand_in(who, nb, name=f"{STEM}.ipynb"):
        (subs / who).mkdir(parents=True)
        nbformat.write(nb, subs / who / name)

    submissions = class_of(release, source)          # blank, partial, full, loop
    solution = submissions.pop("full")
    hand_in("solution", solution)
    for who, nb in submissions.items():
        hand_in(who, nb)
    tampered = nbformat.from_dict(solution)
    ids(tampered)["check-leak_fraction"].source = f"print({checks.MARK + ' leak_fraction: passed'!r})"
    tampered.cells = [c for c in tampered.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "hidden-leak_fraction"]
    hand_in("tampered", tampered)
    hand_in("wrongchapter", classroom.student_notebook(REPO_ROOT / "book" / "03_grids_and_circles.md"))
    (subs / "broken").mkdir()
    (subs / "broken" / f"{STEM}.ipynb").write_text("{ not json")
    hand_in("misnamed", release, name="homework.ipynb")
    course = base / "course"
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "modadd", "grade", str(subs), "--timeout", str(TIMEOUT),
                        "--course", str(course)], capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - t
    print(f"\nmodadd grade of 8 submissions: {seconds:.0f} s\n{r.stdout}")
    return r, subs, course, seconds


def report(r, subs, who, name=f"{STEM}.ipynb"):
    """The lines the command printed about one submission."""
    out = r.stdout.split("\n")
    start = next(i for i, line in enumerate(out) if line.startswith(f"{subs / who / name}: "))
    end = next((i for i in range(start + 1, len(out)) if not out[i].startswith("  ")), len(out))
    return "\n".join(out[start:end])


def points(text):
    m = re.search(r": ([\d.]+) / ([\d.]+) points", text)
    assert m, text
    return float(m.group(1)), float(m.group(2))


def test_every_submission_gets_a_score_or_a_named_reason(graded):
    r, subs, _, _ = graded
    assert r.returncode == 1, r.stderr[-3000:]                   # some were not graded, and it says so
    assert "3 of 8 submissions not graded (the reasons are above)" in r.stderr
    auto = checks.case_count("check_leak_fraction") + checks.HIDDEN_CASES
    total = sum(e.points for e in classroom.exercises(REPO_ROOT / "book" / f"{STEM}.md"))
    assert points(report(r, subs, "solution")) == (auto, total)
    assert points(report(r, subs, "blank")) == (0, total)
    partial = checks.check_leak_fraction(lambda h, N: 0.0).cases_passed + \
        checks.check_leak_fraction(lambda h, N: 0.0, hidden_seed=classroom.HIDDEN_SEED).cases_passed
    assert 0 < partial < auto and points(report(r, subs, "partial")) == (partial, total)
    assert report(r, subs, "wrongchapter") == (
        f"{subs / 'wrongchapter' / STEM}.ipynb: not graded: wrong chapter: it holds the cells of "
        f"03_grids_and_circles.ipynb, not of {STEM}.ipynb (grade it under its own chapter's name)")
    assert report(r, subs, "broken").startswith(f"{subs / 'broken' / STEM}.ipynb: not graded: not a notebook")
    assert report(r, subs, "misnamed", "homework.ipynb").endswith(
        "not graded: cannot tell which chapter homework.ipynb answers: name it after one of "
        + ", ".join(f"{p.stem}.ipynb" for p in classroom.assignments()))


def test_a_timeout_is_named_and_does_not_stall_the_class(graded):
    r, subs, _, seconds = graded
    text = report(r, subs, "loop")
    assert points(text)[0] == 0
    assert (f"note: timed out: check-leak_fraction, hidden-leak_fraction ran longer than {TIMEOUT} s "
            "(--timeout) and scored 0") in text
    assert sum("timed out" in line for line in r.stdout.splitlines()) == 1
    # two cells of TIMEOUT s each, and seven more notebooks: well under the 300 s each cell had before
    assert seconds < 300, seconds


def test_deleted_and_changed_check_cells_are_restored_from_the_source(graded):
    r, subs, _, _ = graded
    text = report(r, subs, "tampered")
    assert ("note: restored from the source before grading: check-leak_fraction (changed), "
            "hidden-leak_fraction (deleted)") in text
    assert points(text) == points(report(r, subs, "solution"))    # graded by the teacher's checks
    assert "to grade by hand" in text


def test_nbgrader_has_nothing_to_warn_about(graded):
    """Every locked cell reaches autograde as nbgrader recorded it: no "Attribute 'checksum'
    for cell hidden-... has changed!", no "Missing grade cell" (each would be a note)."""
    r, _, course, _ = graded
    assert "nbgrader:" not in r.stdout and "checksum" not in r.stdout + r.stderr
    again = subprocess.run(classroom.nbgrader_command() + ["autograde", STEM, "--student", "tampered", "--force"],
                           cwd=course, capture_output=True, text=True, timeout=600, env=classroom.nbgrader_env())
    assert again.returncode == 0, again.stderr[-3000:]
    assert "has changed" not in again.stdout + again.stderr and "Missing grade cell" not in again.stderr


def test_feedback_holds_no_hidden_test(graded):
    r, _, course, _ = graded
    fb = subprocess.run(classroom.nbgrader_command() + ["generate_feedback", STEM, "--force"], cwd=course,
                        capture_output=True, text=True, timeout=600, env=classroom.nbgrader_env())
    assert fb.returncode == 0, fb.stderr[-3000:]
    hidden = checks.CHECKS["check_leak_fraction"].random_cases(np.random.default_rng(classroom.HIDDEN_SEED),
                                                               checks.HIDDEN_CASES)
    shown = {label for label, _ in checks.CHECKS["check_leak_fraction"].cases()}   # the chapter's own cases
    pages = {p.parts[-3]: p.read_text() for p in (course / "feedback").glob(f"*/{STEM}/{STEM}.html")}
    assert set(pages) == {"solution", "blank", "partial", "loop", "tampered"}
    for who, html in pages.items():
        text = re.sub(r"<[^>]+>", "", re.sub(r"<(style|script)\b.*?</\1>", "", html, flags=re.S))
        assert "HIDDEN TESTS" not in text and "hidden_seed" not in text, who
        for label in {label for label, _ in hidden} - shown:
            assert label not in text, (who, label)
        assert "Traceback" not in text, who
    # the checker's report on the hidden cases is there, by number
    assert "hidden case" in re.sub(r"<[^>]+>", "", pages["partial"])
