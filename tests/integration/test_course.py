"""A graded course from the kits alone (issue 38), outside the repository.

As a teacher would, in a new folder with HOME there: unpack the student kit and the teacher
kit, install the teacher kit with its README's command, check the environment (``pip
check`` clean, JupyterLab at its pin, nbgrader's command without activating the
environment), then run the README's course commands as printed, in order: make the course,
release chapter 1, grade five submissions (blank, partial, full, an infinite loop under
``--timeout 20``, the notebook of another chapter), enter the written answers' marks through
nbgrader's gradebook API, write the feedback and export the scores. Last, a second teacher
kit built from changed sources installs over the first with the same command.

The kits' notebooks come from the student kit (``notebooks/student/``, as released) and the
teacher kit (``source/``): nothing from the repository reaches the course.
"""
from __future__ import annotations

import csv
import json
import re
import shlex
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from modadd.teaching import checks, classroom
from tools import kit
from shell import clean_env
from submissions import class_of

pytestmark = pytest.mark.slow          # installs the teacher kit into a new environment: minutes

ROOT = Path(__file__).resolve().parents[2]
STEM = "01_modular_addition"
TIMINGS: dict[str, float] = {}


def sh(command: str, cwd: Path, home: Path, timeout=1800) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=clean_env(home), capture_output=True, text=True,
                          timeout=timeout)


def readme_commands(folder: Path) -> list[str]:
    return [line.strip() for line in (folder / "README.md").read_text().splitlines()
            if line.startswith("       ") and line.strip()]


def copy_of_the_book(dest: Path, changed: bool) -> Path:
    """What the kits are built from (pyproject, package, pins, toc, chapters), optionally with
    a changed comment in the package: another build id."""
    dest.mkdir(parents=True)
    for name in ("pyproject.toml", "_toc.yml"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "binder", dest / "binder")
    shutil.copytree(ROOT / "book", dest / "book", ignore=shutil.ignore_patterns("_ext", "_vendor", "_css"))
    shutil.copytree(ROOT / "src" / "modadd", dest / "src" / "modadd", ignore=shutil.ignore_patterns("__pycache__"))
    if changed:
        data = dest / "src" / "modadd" / "core" / "data.py"
        data.write_text(data.read_text() + "\n# a later build\n")
    return dest


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The teacher's new folder, both kits unpacked in it, the teacher kit installed by its
    README's first command."""
    site = tmp_path_factory.mktemp("site")
    kit.write_notebooks(site / "notebooks")
    kit.write_teacher_notebooks(site / "teacher")
    zips = [kit.build_kit(site / "kit", site / "notebooks"), kit.build_teacher_kit(site / "kit", site / "teacher")]
    home = tmp_path_factory.mktemp("teacher-home")
    assert ROOT not in home.resolve().parents
    for z in zips:
        with zipfile.ZipFile(z) as f:
            f.extractall(home)
    teacher = home / kit.TEACHER_FOLDER
    commands = readme_commands(teacher)
    assert len(commands) == 1 + len(kit.TEACHER_COMMANDS) and commands[1:] == kit.TEACHER_COMMANDS, commands
    t = time.perf_counter()
    r = sh(commands[0], teacher, home)
    TIMINGS["install the teacher kit (s)"] = time.perf_counter() - t
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return home


@pytest.fixture(scope="module")
def course(home):
    """The README's course commands, as printed, in order, with five submissions."""
    teacher, student = home / kit.TEACHER_FOLDER, home / kit.KIT_FOLDER
    commands = readme_commands(teacher)[1:]
    out = {}
    for command in commands[:2]:                       # make the course, release chapter 1
        r = sh(command, teacher, home, timeout=600)
        assert r.returncode == 0, (command, r.stdout[-3000:], r.stderr[-3000:])
    release = nbformat.read(teacher / "course" / "release" / STEM / f"{STEM}.ipynb", as_version=4)
    handed_out = nbformat.read(student / "notebooks" / "student" / f"{STEM}.ipynb", as_version=4)
    assert [c.source for c in release.cells] == [c.source for c in handed_out.cells]
    source = nbformat.read(teacher / "source" / STEM / f"{STEM}.ipynb", as_version=4)
    subs = teacher / "submissions"

    def hand_in(who, nb):
        (subs / who).mkdir(parents=True)
        nbformat.write(nb, subs / who / f"{STEM}.ipynb")

    for who, nb in class_of(handed_out, source).items():      # blank, partial, full, loop
        hand_in(who, nb)
    hand_in("wrongchapter", nbformat.read(student / "notebooks" / "student" / "03_grids_and_circles.ipynb",
                                          as_version=4))
    t = time.perf_counter()
    out["grade"] = sh(commands[2], teacher, home, timeout=900)
    out["grade seconds"] = TIMINGS["grade 5 submissions, --timeout 20 (s)"] = time.perf_counter() - t
    # the teacher gives the written answers their marks (what the formgrader does), through the API
    marks = ("from nbgrader.api import Gradebook\n"
             "with Gradebook('sqlite:///course/gradebook.db') as gb:\n"
             f"    sub = gb.find_submission_notebook({STEM!r}, {STEM!r}, 'full')\n"
             "    for g in sub.grades:\n"
             "        if g.needs_manual_grade:\n"
             "            g.manual_score = g.max_score\n"
             "    gb.db.commit()\n"
             f"    print(gb.find_submission_notebook({STEM!r}, {STEM!r}, 'full').score)\n")
    out["marks"] = sh(f".venv/bin/python -c {shlex.quote(marks)}", teacher, home, timeout=300)
    for command in commands[3:]:                       # feedback, export
        r = sh(command, teacher, home, timeout=600)
        assert r.returncode == 0, (command, r.stdout[-3000:], r.stderr[-3000:])
    print("\n[course]", json.dumps({k: round(v, 1) for k, v in TIMINGS.items()}))
    return teacher, out


def test_the_environment_is_consistent(home):
    teacher = home / kit.TEACHER_FOLDER
    r = sh(".venv/bin/pip check", teacher, home, timeout=300)
    assert r.returncode == 0 and "No broken requirements found" in r.stdout, r.stdout + r.stderr
    pins = dict(line.split("==") for line in (teacher / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert {"jupyterlab", "nbgrader", "notebook"} <= set(pins)
    r = sh(".venv/bin/python -c 'import jupyterlab, nbgrader, modadd_course; "
           "print(jupyterlab.__version__, nbgrader.__version__)'", teacher, home, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [pins["jupyterlab"], pins["nbgrader"]]     # JupyterLab stays at its pin
    # nbgrader's formgrader is there: its server extension is enabled in the kit's environment
    r = sh(".venv/bin/jupyter server extension list", teacher, home, timeout=300)
    listed = re.sub(r"\x1b\[[0-9;]*m", "", r.stdout + r.stderr)                   # without its colours
    assert re.search(r"nbgrader\.server_extensions\.formgrader enabled", listed), listed


def test_teacher_commands_run_without_the_repository(home):
    """The package finds the chapters in the teacher kit's modadd_course: no _toc.yml, no
    checkout; a teacher version with no MyST markup; a bad path named, without a traceback."""
    teacher = home / kit.TEACHER_FOLDER
    # the teacher guide's commands that write the notebooks, as printed (its other commands are
    # the teacher kit README's, run by the course fixture)
    printed = [line.split("#")[0].strip() for line in (ROOT / "book" / "teacher_guide.md").read_text().splitlines()
               if line.startswith("    .venv/bin/python -m modadd student")]
    assert len(printed) == 3, printed
    for command in printed:
        r = sh(command, teacher, home, timeout=900)
        assert r.returncode == 0, (command, r.stderr[-3000:])
    stems = [p.stem for p in classroom.assignments()]
    assert sorted(p.stem for p in (teacher / "student").glob("*.ipynb")) == stems
    written = sorted((teacher / "teacher").glob("*.ipynb"))
    assert [p.stem for p in written] == stems
    text = "\n".join(c.source for c in nbformat.read(written[0], as_version=4).cells)
    assert "### BEGIN SOLUTION" in text and "hidden_seed=12345" in text and "{glue" not in text
    assert "Running every cell of the solved notebook took" in text       # measured where it runs
    r = sh(".venv/bin/python -m modadd grade missing/", teacher, home, timeout=300)
    assert r.returncode == 2 and r.stderr.startswith("error: no such notebook or folder: 'missing/'"), r.stderr
    assert "Traceback" not in r.stderr


def test_every_submission_gets_its_score_or_a_named_reason(course):
    teacher, out = course
    r = out["grade"]
    assert r.returncode == 1 and "1 of 5 submissions not graded" in r.stderr, r.stdout[-3000:] + r.stderr[-3000:]
    printed = {m.group(1): (float(m.group(2)), float(m.group(3)))
               for m in re.finditer(r"submissions/(\w+)/\S+: ([\d.]+) / ([\d.]+) points", r.stdout)}
    visible = checks.case_count("check_leak_fraction")
    auto, total = visible + checks.HIDDEN_CASES, 12
    assert sum(e.points for e in classroom.exercises(ROOT / "book" / f"{STEM}.md")) == total
    partial = (checks.check_leak_fraction(lambda h, N: 0.0).cases_passed
               + checks.check_leak_fraction(lambda h, N: 0.0, hidden_seed=classroom.HIDDEN_SEED).cases_passed)
    assert printed == {"blank": (0, total), "partial": (partial, total), "full": (auto, total), "loop": (0, total)}
    assert 0 < partial < auto
    assert "submissions/wrongchapter/01_modular_addition.ipynb: not graded: wrong chapter: it holds the cells " \
           "of 03_grids_and_circles.ipynb, not of 01_modular_addition.ipynb" in r.stdout
    assert "timed out: check-leak_fraction, hidden-leak_fraction ran longer than 20 s" in r.stdout
    assert "checksum" not in r.stdout + r.stderr and "nbgrader:" not in r.stdout
    assert out["grade seconds"] < 180, out["grade seconds"]          # timeouts included
    # the marks entered through the gradebook API, and the exported scores
    assert out["marks"].returncode == 0, out["marks"].stderr
    assert float(out["marks"].stdout.strip()) == total
    with open(teacher / "course" / "grades.csv") as f:
        rows = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f) if row["assignment"] == STEM}
    assert rows == {"blank": 0, "partial": partial, "full": total, "loop": 0}


def test_feedback_holds_no_hidden_test_or_input(course):
    teacher, _ = course
    pages = {p.parts[-3]: p.read_text() for p in (teacher / "course" / "feedback").glob(f"*/{STEM}/{STEM}.html")}
    assert set(pages) == {"blank", "partial", "full", "loop"}
    shown = {label for label, _ in checks.CHECKS["check_leak_fraction"].cases()}
    hidden = {label for label, _ in checks.CHECKS["check_leak_fraction"].random_cases(
        np.random.default_rng(classroom.HIDDEN_SEED), checks.HIDDEN_CASES)} - shown
    for who, html in pages.items():
        text = re.sub(r"<[^>]+>", "", re.sub(r"<(style|script)\b.*?</\1>", "", html, flags=re.S))
        assert "HIDDEN TESTS" not in text and "hidden_seed" not in text, who
        assert not [label for label in hidden if label in text], who
    assert "hidden case" in re.sub(r"<[^>]+>", "", pages["partial"])


def test_a_newer_kit_installs_over_the_older(home, tmp_path):
    """The second kit's README command, run where the first kit was unpacked, replaces both
    wheels (their versions differ by the build id), as the notebooks' check cell says to."""
    teacher = home / kit.TEACHER_FOLDER
    before = sh(".venv/bin/python -c 'import modadd; print(modadd.build_id())'", teacher, home, timeout=300)
    assert before.returncode == 0, before.stderr
    book = copy_of_the_book(tmp_path / "book", changed=True)
    (tmp_path / "teacher").mkdir()
    kit.write_teacher_notebooks(tmp_path / "teacher", root=book)
    newer = kit.build_teacher_kit(tmp_path / "kit", tmp_path / "teacher", root=book)
    with zipfile.ZipFile(newer) as f:
        f.extractall(home)
    second = readme_commands(teacher)[0]
    version = kit._version(book)
    assert version != before.stdout.strip() and kit.wheel_name(version) in second
    r = sh(second, teacher, home)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    after = sh(".venv/bin/python -c 'import modadd, importlib.metadata as m; "
               "print(modadd.build_id(), m.version(\"modadd-course\"))'", teacher, home, timeout=300)
    assert after.stdout.split() == [version, version], after.stdout + after.stderr

