"""nbgrader end to end, for every chapter with graded exercises.

As a teacher would: the teacher's version of each chapter (``python -m modadd student
--solutions``) goes to a course's ``source/``, real ``nbgrader generate_assignment``
releases it, and real ``nbgrader autograde`` grades four submissions; the scores come from
nbgrader's gradebook. A blank submission scores 0, the solution full marks (its written
answers once a teacher gives their points, as formgrade would), a partly right one exactly
the cases its function gets right, and one that fakes the check output 0 (the check cells
are restored from the source and run hidden cases). One chapter (``CLI_CHAPTER``) is graded
by ``python -m modadd grade --course`` instead of the explicit autograde: its gradebook
must pass the same checks, and what it prints must be what its gradebook holds.
"""
import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest

from modadd.teaching import checks, classroom
from tools import kit

pytestmark = pytest.mark.slow          # about 2.5 minutes on 2 cores: 28 notebook executions

ASSIGNMENTS = [p.stem for p in classroom.assignments()]
STUDENTS = ["blank", "solution", "partial", "fake"]
CLI_CHAPTER = "01_modular_addition"

# A partly right answer per chapter: a plausible mistake that gets some cases right.
PARTIAL = {
    "01_modular_addition": ("leak_fraction", "def leak_fraction(held_out, N):\n"
                            "    return 0.0          # right for unordered splits only\n"),
    "02_tiny_transformer": ("count_parameters", "def count_parameters(n, hidden, bias):\n"
                            "    return 2 * n + 2 * hidden + hidden * n + hidden + n   # biases even when absent\n"),
    "03_grids_and_circles": ("pizza_answer", "def pizza_answer(E, a, b, k):\n"
                             "    E = E - E.mean(0)\n"
                             "    s = E[a] + E[b]\n"
                             "    th0 = np.angle(E[0, 0] + 1j * E[0, 1])\n"
                             "    doubled = np.angle((s[..., 0] + 1j * s[..., 1]) ** 2) - 2 * th0\n"
                             "    return np.round(doubled / (2 * np.pi) * len(E)).astype(int) % len(E)  # forgot k\n"),
    "04_clustering_and_alignment": ("clustering_force", "def clustering_force(S, labels, sigma):\n"
                                    "    d = S[None, :, :] - S[:, None, :]\n"
                                    "    same = labels[:, None] == labels[None, :]\n"
                                    "    w = np.exp(-(d ** 2).sum(-1) / (2 * sigma)) * same   # sigma, not sigma**2\n"
                                    "    return (w[..., None] * d).sum(1)\n"),
    "05_particles": ("affine_gauge", "def affine_gauge(E):\n"
                     "    X = np.asarray(E, float) - np.mean(E, axis=0)\n"
                     "    lam, V = np.linalg.eigh(X.T @ X / 17)        # N = 17 hard-coded\n"
                     "    return X @ V @ np.diag(lam ** -0.5) @ V.T\n"),
    "06_weight_decay": ("relative_bias", "def relative_bias(E, W1, b1, pairs):\n"
                        "    from modadd.core.data import unordered_pairs\n"
                        "    p = unordered_pairs(len(E))[0].numpy()       # ignores the pairs given\n"
                        "    pre = (E[p[:, 0]] + E[p[:, 1]]) @ W1\n"
                        "    return float(np.sqrt(np.mean(b1 ** 2)) / np.sqrt(np.mean(pre ** 2)))\n"),
    "07_rebuild": ("switched_share", "def switched_share(S, W1, b1):\n"
                   "    on = S @ W1 > 0                                  # forgot the biases\n"
                   "    return (on[:, None, :] != on[None, :, :]).mean(-1)\n"),
}


def fake_answer(fname, check):
    """Leaves the stub, prints the passing lines by hand and redefines the checker."""
    line = f"{checks.MARK} {fname}: passed"
    return (f"def {fname}(*args):\n    raise NotImplementedError()\n"
            f"from modadd.teaching import checks\n"
            f"checks.{check} = lambda *a, **k: print({line!r}) or 4.0\n"
            f"print({line!r})\n")


def run(cmd, cwd, timeout=600):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=classroom.nbgrader_env())
    assert r.returncode == 0, f"{cmd} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def expected_partial_points(stem):
    """Cases the partial answer gets right, counted by the checkers in this process."""
    fname, source = PARTIAL[stem]
    import numpy as np
    ns = {"np": np}
    exec(source, ns)
    check = getattr(checks, f"check_{fname}")
    visible = check(ns[fname]).cases_passed
    hidden = check(ns[fname], hidden_seed=classroom.HIDDEN_SEED).cases_passed
    return visible + hidden


def cells_by_id(nb):
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def grade_chapter(root, src):
    """A course for one chapter: source, generate_assignment, four submissions, autograde."""
    stem = src.stem
    classroom.write_course_config(root)
    (root / "source" / stem).mkdir(parents=True)
    (root / "source" / stem / src.name).write_bytes(src.read_bytes())
    t = time.perf_counter()
    run(classroom.nbgrader_command() + ["generate_assignment", stem, "--force"], root)
    release = nbformat.read(root / "release" / stem / src.name, as_version=4)
    source = cells_by_id(nbformat.read(src, as_version=4))
    fname, partial = PARTIAL[stem]
    for who in STUDENTS:
        nb = nbformat.from_dict(release)
        ids = cells_by_id(nb)
        if who == "solution":
            for gid, cell in ids.items():
                if cell.metadata["nbgrader"]["solution"]:
                    cell.source = source[gid].source
        elif who == "partial":
            ids[f"answer-{fname}"].source = partial
        elif who == "fake":
            ids[f"answer-{fname}"].source = fake_answer(fname, f"check_{fname}")
            ids[f"check-{fname}"].source = f"print({checks.MARK + ' ' + fname + ': passed'!r})"
            ids[f"hidden-{fname}"].source = ""
        # nbgrader's layout submitted/STUDENT/ASSIGNMENT/, or a teacher's folder per student
        dest = root / "submissions" / who if stem == CLI_CHAPTER else root / "submitted" / who / stem
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / src.name)
    if stem == CLI_CHAPTER:          # the teacher's one command, its course folder kept
        subs = [str(root / "submissions" / who / src.name) for who in STUDENTS]
        r = run([sys.executable, "-m", "modadd", "grade", "--course", str(root), *subs], root)
        (root / "printed.txt").write_text(r.stdout)
    else:
        run(classroom.nbgrader_command() + ["autograde", stem, "--force"], root)
    return time.perf_counter() - t


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """One course directory per assignment (two graded at a time: the work is in subprocesses)."""
    base = tmp_path_factory.mktemp("courses")
    teacher = classroom.write_student_notebooks(base / "teacher", solutions=True, measure=False)
    student = {p.stem: p for p in classroom.write_student_notebooks(base / "student", measure=False)}
    with ThreadPoolExecutor(max_workers=2) as pool:
        seconds = dict(zip([p.stem for p in teacher],
                           pool.map(lambda src: grade_chapter(base / src.stem, src), teacher)))
    print("\ngenerate_assignment + autograde of 4 submissions, seconds:",
          json.dumps({k: round(v, 1) for k, v in seconds.items()}))
    return {stem: base / stem for stem in seconds}, student


def test_every_chapter_with_exercises_is_graded():
    assert ASSIGNMENTS == [f"0{i}_{n}" for i, n in enumerate(
        ["modular_addition", "tiny_transformer", "grids_and_circles", "clustering_and_alignment",
         "particles", "weight_decay", "rebuild"], 1)]
    assert set(PARTIAL) == set(ASSIGNMENTS)


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_release_is_the_student_notebook(course, stem):
    roots, student = course
    root = roots[stem]
    release = nbformat.read(root / "release" / stem / f"{stem}.ipynb", as_version=4)
    mine = nbformat.read(student[stem], as_version=4)
    # python -m modadd grade (CLI_CHAPTER) releases the kit's version: the kit's check cell first
    released = [c for c in release.cells if kit.CHECK_TAG not in c.metadata.get("tags", [])]
    assert len(release.cells) - len(released) == (stem == CLI_CHAPTER)
    assert [(c.cell_type, c.source) for c in released] == [(c.cell_type, c.source) for c in mine.cells]
    code = "\n".join(c.source for c in release.cells)
    assert "HIDDEN TESTS" not in code and "hidden_seed" not in code and "BEGIN SOLUTION" not in code


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_autograde_scores(course, stem):
    from nbgrader.api import Gradebook

    roots, _ = course
    root = roots[stem]
    g = classroom.read_grades(root, stem, stem)
    total = sum(e.points for e in classroom.exercises(classroom.REPO_ROOT / "book" / f"{stem}.md"))
    auto = sum(e.points for e in classroom.exercises(classroom.REPO_ROOT / "book" / f"{stem}.md") if e.function)
    assert {s: g[s].max_points for s in STUDENTS} == {s: total for s in STUDENTS}
    # blank: 0; its untouched written answers are 0 too (nbgrader: no response)
    assert g["blank"].points == 0 and g["blank"].manual_pending == 0, g["blank"]
    # fake: 0, every automatic cell
    assert g["fake"].points == 0, g["fake"]
    # partial: exactly the cases its function gets right
    want = expected_partial_points(stem)
    assert 0 < want < auto and g["partial"].points == want, (want, g["partial"])
    # solution: every automatic point; written answers wait for the teacher
    sol = g["solution"]
    assert sol.points == auto and sol.manual_pending == total - auto, sol
    # the teacher gives the written answers their points (what formgrade does): full marks
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        sub = gb.find_submission_notebook(stem, stem, "solution")
        for grade in sub.grades:
            if grade.needs_manual_grade:
                grade.manual_score = grade.max_score
        gb.db.commit()
    assert classroom.read_grades(root, stem, stem)["solution"].points == total


def test_modadd_grade_prints_what_its_gradebook_holds(course):
    """``python -m modadd grade --course`` graded CLI_CHAPTER: each student is named after the
    submission's folder, and the points it printed are the gradebook's (whose scores
    test_autograde_scores checks like every chapter's)."""
    roots, _ = course
    stem = CLI_CHAPTER
    root = roots[stem]
    printed = (root / "printed.txt").read_text()
    theirs = classroom.read_grades(root, stem, stem)
    assert set(theirs) == set(STUDENTS)
    for who in STUDENTS:
        path = root / "submissions" / who / f"{stem}.ipynb"
        m = re.search(re.escape(str(path)) + r": ([\d.]+) / ([\d.]+) points", printed)
        assert m, printed
        # the solution's manual points were given above in one test; compare automatic points
        auto = sum(s for gid, s in theirs[who].cells.items() if not gid.startswith("written-") and s is not None)
        assert float(m.group(1)) == auto and float(m.group(2)) == theirs[who].max_points, (who, printed)
