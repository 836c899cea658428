"""Student notebooks: one per chapter with exercises, a header with the points, no answers
or hints in them, nbgrader metadata on every graded cell. (nbgrader itself grades them in
test_nbgrader.py.)"""
import subprocess
import sys

import jupytext
import nbformat
import numpy as np
import pytest

from modadd import REPO_ROOT
from modadd.teaching import checks, classroom
from tools import chapter_times

BOOK = REPO_ROOT / "book"


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    blank = tmp_path_factory.mktemp("blank")
    full = tmp_path_factory.mktemp("full")
    return (classroom.write_student_notebooks(blank, measure=False),
            classroom.write_student_notebooks(full, solutions=True, measure=False))


def test_strip_solution_and_hidden_tests_keep_the_rest():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
    assert classroom.strip_solution(src) == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    with pytest.raises(ValueError, match="without"):
        classroom.strip_solution("### BEGIN SOLUTION\nx = 1")
    assert classroom.strip_hidden_tests("# note\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS") == "# note"
    with pytest.raises(ValueError, match="without"):
        classroom.strip_hidden_tests("### BEGIN HIDDEN TESTS\nsecret()")


def test_only_chapters_with_exercises_are_assignments(notebooks):
    blank, full = notebooks
    stems = [p.stem for p in blank]
    assert stems == [p.stem for p in full] == [p.stem for p in sorted(BOOK.glob("0*.md"))]
    assert {p.stem for p in classroom.chapters()} - set(stems) == {"intro", "teacher_guide", "appendix_benchmarks"}
    with pytest.raises(ValueError, match="teacher_guide.md has no exercises: it is not an assignment"):
        classroom.student_notebook(BOOK / "teacher_guide.md")


def meta(cell):
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("stem", [p.stem for p in sorted(BOOK.glob("0*.md"))])
def test_student_notebook_structure(notebooks, stem):
    blank, full = ({p.stem: nbformat.read(p, as_version=4) for p in group} for group in notebooks)
    nb, teacher = blank[stem], full[stem]
    exs = classroom.exercises(BOOK / f"{stem}.md")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    # no answers, no hints, no hidden cases, no MyST directives, none of the book's own asserts
    assert "BEGIN SOLUTION" not in code and "HIDDEN TESTS" not in code and "hidden_seed" not in code
    assert "{solution" not in prose and "{exercise" not in prose and "{hint" not in prose
    assert "remove-cell" not in str(nb)
    assert ".passed" not in code
    for c in nb.cells:
        assert "assert checks." not in c.source
    chapter = jupytext.read(BOOK / f"{stem}.md")
    model_answers = [m.group(3).strip() for c in chapter.cells if c.cell_type == "markdown"
                     for m in classroom._SOLUTION_BLOCK.finditer(c.source)]
    for answer in model_answers:
        assert answer[:60] not in prose
    # header: what to do, points (computed), run time honestly unmeasured here
    head = nb.cells[0].source
    total = sum(e.points for e in exs)
    assert head.startswith("# Assignment: ") and f"({total} points, with nbgrader)" in head
    assert "not measured" in head and "raise NotImplementedError()" in head
    # graded cells: the points add up; checks are locked and call the graded mode
    graded = [c for c in nb.cells if meta(c).get("grade")]
    assert sum(meta(c)["points"] for c in graded) == total
    ids = [meta(c)["grade_id"] for c in nb.cells if meta(c)]
    assert len(ids) == len(set(ids))
    written = [e for e in exs if e.written]
    implement = [e for e in exs if e.function]
    assert len(implement) >= 1 and len(written) >= 2
    for e in implement:
        fn = e.function
        check = next(c for c in graded if meta(c)["grade_id"] == f"check-{fn}")
        assert meta(check)["locked"] and meta(check)["points"] == checks.case_count(f"check_{fn}")
        assert f"checks.check_{fn}(globals().get({fn!r}), graded=True)" in check.source
        assert "importlib.reload(checks)" in check.source
    answers = [c for c in nb.cells if meta(c).get("solution") and c.cell_type == "code"]
    assert len(answers) == len(implement) and all("raise NotImplementedError()" in a.source for a in answers)
    manual = [c for c in graded if c.cell_type == "markdown"]
    assert [c.source for c in manual] == [classroom.TEXT_STUB] * len(written)
    assert all(meta(c)["solution"] and meta(c)["points"] == classroom.WRITTEN_POINTS for c in manual)
    # the teacher's version: same cells, with the answers, model answers and hidden cases
    assert [meta(c).get("grade_id") for c in teacher.cells] == [meta(c).get("grade_id") for c in nb.cells]
    tcode = "\n".join(c.source for c in teacher.cells if c.cell_type == "code")
    assert "### BEGIN SOLUTION" in tcode and "### BEGIN HIDDEN TESTS" in tcode
    assert f"hidden_seed={classroom.HIDDEN_SEED}" in tcode
    tmanual = [c.source for c in teacher.cells if meta(c).get("grade") and c.cell_type == "markdown"]
    # the model answers with the numbers they cite: from the book build's cache where there is
    # one (the test command builds the book first), else the markup's placeholder
    values = classroom._glued(model_answers, BOOK / f"{stem}.md", REPO_ROOT)
    assert tmanual and all(s != classroom.TEXT_STUB and s in [classroom.resolve_glue(a, values) for a in model_answers]
                           for s in tmanual)
    assert not any("{glue:text}" in s for s in tmanual)


def test_header_states_measured_times(tmp_path):
    ch = BOOK / "01_modular_addition.md"
    # a book build's jupyter-cache with a record of the chapter
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    (tmp_path / "_toc.yml").write_text((REPO_ROOT / "_toc.yml").read_text())
    cache = get_cache(tmp_path / "_build" / ".jupyter_cache")
    cache.cache_notebook_bundle(CacheBundleIn(nbformat.v4.new_notebook(), str(ch), data={"execution_seconds": 83.4}),
                                check_validity=False)
    assert classroom.chapter_run_time(ch, tmp_path) is None          # the build has not written its times yet
    chapter_times.write_run_times(tmp_path, [ch])
    secs, when = classroom.chapter_run_time(ch, tmp_path)
    assert secs == 83.4
    head = classroom.student_notebook(ch, run_time=4.6, root=tmp_path).cells[0].source
    assert "took 5 s on the machine that wrote this notebook (measured)" in head
    assert f"Executing the whole chapter took 83 s when the book was last built ({when:%Y-%m-%d})" in head
    assert classroom.chapter_run_time(ch, tmp_path / "nowhere") is None
    head = classroom.student_notebook(ch, root=tmp_path / "nowhere").cells[0].source
    assert "no book build was found" in head and "was not measured" in head


def test_measured_run_time_is_real():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time; time.sleep(0.5)")])
    assert 0.5 <= classroom.measure_run_time(nb) < 30


def test_command_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "modadd", "student", "--out", str(tmp_path / "s"), "--no-timing"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "01_modular_addition.ipynb" in r.stdout and "teacher_guide" not in r.stdout
    assert len(r.stdout.split()) == len(list(BOOK.glob("0*.md")))
    r = subprocess.run([sys.executable, "-m", "modadd", "student", "--out", str(tmp_path / "t"), "--no-timing",
                        "--hidden-seed", "-3"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "hidden_seed must be an integer >= 0, got -3" in r.stderr
    def grade(*args):
        return subprocess.run([sys.executable, "-m", "modadd", "grade", *map(str, args)],
                              capture_output=True, text=True, timeout=60)
    r = grade(tmp_path / "missing.ipynb")
    assert r.returncode == 2 and f"no such notebook or folder: '{tmp_path / 'missing.ipynb'}'" in r.stderr
    assert "give submitted notebooks (.ipynb, named after their chapter), or folders that hold them" in r.stderr
    (tmp_path / "empty").mkdir()
    r = grade(tmp_path / "empty")
    assert r.returncode == 2 and f"the folder '{tmp_path / 'empty'}' holds no .ipynb file" in r.stderr
    (tmp_path / "afile").write_text("")
    r = subprocess.run([sys.executable, "-m", "modadd", "student", "--out", str(tmp_path / "afile" / "s")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and f"cannot make the folder '{tmp_path / 'afile' / 's'}' for the notebooks" in r.stderr
    assert "Traceback" not in r.stderr
    r = grade(tmp_path / "empty", "--timeout", "0")
    assert r.returncode == 2 and "--timeout takes an integer >= 1, got 0" in r.stderr
    r = subprocess.run([sys.executable, "-m", "modadd", "grade", "--help"], capture_output=True, text=True)
    assert f"(default {classroom.NBGRADER_TIMEOUT})" in " ".join(r.stdout.split())
    # a file named after no chapter is not graded, and said so; the command ends with 1
    (tmp_path / "subs").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "subs" / "homework.ipynb")
    r = grade(tmp_path / "subs")
    assert r.returncode == 1, r.stderr
    assert "homework.ipynb: not graded: cannot tell which chapter homework.ipynb answers" in r.stdout
    assert "01_modular_addition.ipynb" in r.stdout and "1 of 1 submissions not graded" in r.stderr


def test_restore_cells_puts_back_deleted_and_changed_check_cells():
    """As nbgrader restores locked cells: a deleted one is put back where the source has it,
    a changed one gets the source's code; a hidden-tests cell as released is no change."""
    ch = BOOK / "01_modular_addition.md"
    source = classroom.student_notebook(ch, solutions=True)
    release = classroom.student_notebook(ch)
    sub = nbformat.from_dict(release)
    ids = [meta(c).get("grade_id") for c in source.cells]
    assert classroom.restore_cells(sub, source, release) == []                  # as released: nothing to say
    sub = nbformat.from_dict(release)
    check = next(c for c in sub.cells if meta(c).get("grade_id") == "check-leak_fraction")
    check.source = "print('[modadd check] leak_fraction: passed')"
    sub.cells = [c for c in sub.cells if meta(c).get("grade_id") != "hidden-leak_fraction"]
    restored = classroom.restore_cells(sub, source, release)
    assert restored == ["check-leak_fraction (changed)", "hidden-leak_fraction (deleted)"]
    assert [meta(c).get("grade_id") for c in sub.cells] == ids                 # every cell where it was
    for mine, theirs in zip(sub.cells, source.cells):
        if meta(theirs).get("locked"):
            assert mine.source == theirs.source and "hidden_seed=" in sub.cells[ids.index("hidden-leak_fraction")].source
    # a deleted answer comes back as released (the stub), a deleted written answer too
    sub = nbformat.from_dict(release)
    sub.cells = [c for c in sub.cells if not meta(c).get("solution")]
    restored = classroom.restore_cells(sub, source, release)
    assert restored == [f"{g} (deleted)" for g in ids if g and not g.startswith(("check-", "hidden-"))]
    assert [c.source for c in sub.cells if meta(c).get("solution")] == \
        [c.source for c in release.cells if meta(c).get("solution")]


def test_students_are_named_after_their_folders(tmp_path):
    ids = classroom.student_ids
    assert ids(["subs/alice/01_modular_addition.ipynb", "subs/bob-2/01_modular_addition.ipynb",
                "subs/alice/02_tiny_transformer.ipynb"]) == ["alice", "bob-2", "alice"]
    # two files of one chapter from one folder, or a folder name nbgrader would not take: s1, s2...
    assert ids(["a/01_modular_addition.ipynb", "b/x/../01_modular_addition.ipynb", "a/01_modular_addition.ipynb"]) \
        == ["s1", "s2", "s3"]
    assert ids(["my folder/01_modular_addition.ipynb"]) == ["s1"]
    assert ids([tmp_path / "alice" / "01_modular_addition.ipynb"]) == ["alice"]


def test_grade_names_a_course_that_is_a_file(tmp_path):
    sub = tmp_path / "01_modular_addition.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), sub)
    (tmp_path / "course").write_text("")
    with pytest.raises(ValueError, match=r"course must be a folder, got course='.*course', which is a file"):
        classroom.grade([sub], course=tmp_path / "course")


def test_model_answers_show_the_numbers_the_chapter_computes(tmp_path):
    """The teacher's model answer of chapter 1's first exercise cites two numbers the chapter
    glues ({glue:text}`d31`): with the chapter executed into a book build's jupyter-cache,
    the notebook shows the numbers; without one, it says where to see them. Never the markup."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from nbclient import NotebookClient

    from modadd.core.data import make_dataset
    ch = BOOK / "01_modular_addition.md"
    (tmp_path / "_toc.yml").write_text((REPO_ROOT / "_toc.yml").read_text())
    (tmp_path / "book").symlink_to(BOOK)

    def model_answer(root):
        nb = classroom.student_notebook(ch, solutions=True, root=root)
        assert not [c for c in nb.cells if "{glue" in c.source]
        return next(c.source for c in nb.cells if meta(c).get("grade_id") == "written-ex-count-pairs")

    assert "[the number `d31` the chapter computes: see the chapter on the site]" in model_answer(tmp_path)
    executed = jupytext.read(ch)
    NotebookClient(executed, timeout=300, kernel_name="python3", record_timing=False, resources={"metadata": {"path": str(BOOK)}}).execute()
    executed.metadata = jupytext.read(ch).metadata          # as the book build caches it: the code's own hash
    get_cache(tmp_path / "_build" / ".jupyter_cache").cache_notebook_bundle(
        CacheBundleIn(executed, str(ch), data={"execution_seconds": 5.0}), check_validity=False)
    ds = make_dataset(31, 0.2, seed=0)
    d31 = int(ds.val_mask.reshape(31, 31).diagonal().sum())
    assert f"$d =$ {d31}, so {len(ds.val_pairs)} ordered pairs are held out" in model_answer(tmp_path)
    assert classroom.resolve_glue("{glue:text}`x:.2f` and {glue}`y`", {"x": "0.12345", "y": "'a'"}) == "0.12 and a"
    # another page's number, as chapter 5 cites chapter 4's
    assert classroom.resolve_glue("R² {glue:text}`04_a.md::r2:s`.", {"04_a.md::r2": "'0.61'"}) == "R² 0.61."


@pytest.mark.parametrize("stem", [p.stem for p in sorted(BOOK.glob("0*.md"))])
def test_every_exercise_has_a_level_a_time_and_a_folded_hint(notebooks, stem):
    """Each exercise's title is its label (level and our estimate of the time), the student
    notebook shows it in the exercise's heading and sums it in the header, and each exercise
    has a hint that the notebook folds, as the site does."""
    exs = classroom.exercises(BOOK / f"{stem}.md")
    assert exs and all(e.level in classroom.LEVELS and 5 <= e.minutes <= 60 for e in exs), \
        [(e.label, e.level, e.minutes) for e in exs]
    nb = {p.stem: nbformat.read(p, as_version=4) for p in notebooks[0]}[stem]
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for i, e in enumerate(exs, 1):
        assert f"**Exercise {i}** ({e.level.lower()}, about {e.minutes} min). " in prose
    assert prose.count("<details><summary>Hint</summary>") == len(exs)
    assert f"about {sum(e.minutes for e in exs)} min for all {len(exs)}" in nb.cells[0].source


def test_an_exercise_title_that_is_not_a_label_is_named(tmp_path):
    page = (BOOK / "01_modular_addition.md").read_text().replace(
        "```{exercise} Easy · about 15 min\n:label: ex-leak", "```{exercise} Quite easy\n:label: ex-leak")
    assert "Quite easy" in page
    (tmp_path / "01_modular_addition.md").write_text(page)
    with pytest.raises(ValueError, match="exercise ex-leak: its title must be a label like 'Easy · about 5 min'"
                                         ".*got 'Quite easy'"):
        classroom.exercises(tmp_path / "01_modular_addition.md")
